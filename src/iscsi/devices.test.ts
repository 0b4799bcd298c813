import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { FailedPreconditionError, UnavailableError } from '../errors.ts';
import { buildLioNaaWwid, byPathDevice, findSessionDisk, parseVpdPage80, readDeviceSerial, verifyDeviceSerial, waitForDevice, waitForSessionDisk } from './devices.ts';

const SERIAL = '0a1b2c3d-2345-8678-9abc-def012345678';

/** VPD page 0x80 as LIO builds it: header, serial, one NUL (spc_emulate_evpd_80). */
function lioPage80(serial: string): Buffer {
  const body = Buffer.from(`${serial}\0`, 'latin1');
  return Buffer.concat([Buffer.from([0x00, 0x80, 0x00, body.length]), body]);
}

describe('byPathDevice', () => {
  test('builds the udev by-path link for an iSCSI LUN', () => {
    assert.equal(
      byPathDevice({ ip: '127.0.0.2', port: 3260 }, 'iqn.2026-11.io.vbs:pvc-1', 0),
      '/dev/disk/by-path/ip-127.0.0.2:3260-iscsi-iqn.2026-11.io.vbs:pvc-1-lun-0',
    );
  });
});

describe('parseVpdPage80', () => {
  test('reads the serial after the 4-byte header and drops the NUL LIO appends', () => {
    assert.equal(parseVpdPage80(lioPage80(SERIAL)), SERIAL);
  });

  test('drops space padding', () => {
    const body = Buffer.from('ABC123      ', 'latin1');
    assert.equal(parseVpdPage80(Buffer.concat([Buffer.from([0, 0x80, 0, body.length]), body])), 'ABC123');
  });

  test('refuses a page that is not 0x80', () => {
    assert.equal(parseVpdPage80(Buffer.from([0, 0x83, 0, 0])), undefined);
  });
});

describe('buildLioNaaWwid', () => {
  test('builds naa.6 + OUI 001405 + the first 25 hex digits of the serial', () => {
    assert.equal(buildLioNaaWwid(SERIAL), 'naa.60014050a1b2c3d234586789abcdef01');
    assert.equal(buildLioNaaWwid(SERIAL).length, 'naa.'.length + 32);
  });

  test('zero-fills a serial with fewer hex digits', () => {
    assert.equal(buildLioNaaWwid('ab'), `naa.6001405ab${'0'.repeat(23)}`);
  });
});

describe('device identity and waiting', () => {
  let root: string;
  let sys: string;
  let dev: string;
  before(async () => {
    root = await fs.mkdtemp(nodePath.join(tmpdir(), 'vbs-dev-'));
    sys = nodePath.join(root, 'sys');
    dev = nodePath.join(root, 'dev');
    await fs.mkdir(dev);
    for (const [disk, files] of Object.entries({
      sdb: { vpd_pg80: lioPage80(SERIAL), wwid: `${buildLioNaaWwid(SERIAL)}\n` },
      sdc: { wwid: `${buildLioNaaWwid(SERIAL)}\n` },
      sdd: { vpd_pg80: lioPage80('11111111-2222-8333-9444-555555555555') },
      sde: {},
    })) {
      await fs.writeFile(nodePath.join(dev, disk), '');
      await fs.mkdir(nodePath.join(sys, 'block', disk, 'device'), { recursive: true });
      for (const [file, content] of Object.entries(files)) await fs.writeFile(nodePath.join(sys, 'block', disk, 'device', file), content);
    }
  });
  after(async () => fs.rm(root, { recursive: true, force: true }));

  test('reads the serial of a device through a udev-style symlink', async () => {
    await fs.symlink(nodePath.join(dev, 'sdb'), nodePath.join(dev, 'link-to-sdb'));
    assert.equal(await readDeviceSerial(nodePath.join(dev, 'link-to-sdb'), { sysRoot: sys }), SERIAL);
  });

  const verify: { name: string; disk: string; outcome: 'vpd_pg80' | 'wwid' | 'refused' }[] = [
    { name: 'accepts a disk whose VPD page 0x80 carries the serial', disk: 'sdb', outcome: 'vpd_pg80' },
    { name: 'falls back to the wwid LIO derives from the serial', disk: 'sdc', outcome: 'wwid' },
    { name: "refuses another volume's disk", disk: 'sdd', outcome: 'refused' },
    { name: 'fails closed on a disk whose identity cannot be read', disk: 'sde', outcome: 'refused' },
  ];
  for (const c of verify) {
    test(`verifyDeviceSerial ${c.name}`, async () => {
      const run = verifyDeviceSerial(nodePath.join(dev, c.disk), SERIAL, { sysRoot: sys });
      if (c.outcome === 'refused') await assert.rejects(run, FailedPreconditionError);
      else assert.equal(await run, c.outcome);
    });
  }

  test('waitForDevice resolves the link once it appears, polling rather than sleeping once', async () => {
    const link = nodePath.join(dev, 'late-link');
    setTimeout(() => void fs.symlink(nodePath.join(dev, 'sdb'), link), 60);
    const started = performance.now();
    assert.equal(await waitForDevice(link, { deadlineMs: 5000, pollMs: 10 }), nodePath.join(await fs.realpath(dev), 'sdb'));
    assert.ok(performance.now() - started < 2000);
  });

  test('waitForDevice gives up with UnavailableError at its deadline', async () => {
    await assert.rejects(waitForDevice(nodePath.join(dev, 'never'), { deadlineMs: 50, pollMs: 10 }), UnavailableError);
  });

  test('waitForDevice stops when its signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by caller')), 20);
    await assert.rejects(waitForDevice(nodePath.join(dev, 'never'), { deadlineMs: 5000, pollMs: 10, signal: controller.signal }), /cancelled by caller/);
  });

  test('findSessionDisk finds the disk of one LUN of one session through sysfs', async () => {
    const session = nodePath.join(sys, 'class', 'iscsi_session', 'session4', 'device');
    await fs.mkdir(nodePath.join(session, 'target5:0:0', '5:0:0:0', 'block', 'sdf'), { recursive: true });
    await fs.mkdir(nodePath.join(session, 'target5:0:0', '5:0:0:1', 'block', 'sdg'), { recursive: true });
    assert.equal(await findSessionDisk(4, 0, { sysRoot: sys }), 'sdf');
    assert.equal(await findSessionDisk(4, 1, { sysRoot: sys }), 'sdg');
    assert.equal(await findSessionDisk(4, 2, { sysRoot: sys }), undefined);
    assert.equal(await findSessionDisk(9, 0, { sysRoot: sys }), undefined);
  });

  test('waitForSessionDisk returns /dev/<disk> once sysfs shows the LUN and the node exists', async () => {
    const session = nodePath.join(sys, 'class', 'iscsi_session', 'session7', 'device');
    setTimeout(() => void fs.mkdir(nodePath.join(session, 'target8:0:0', '8:0:0:0', 'block', 'sdb'), { recursive: true }), 50);
    assert.equal(await waitForSessionDisk(7, 0, { sysRoot: sys, devRoot: dev, deadlineMs: 5000, pollMs: 10 }), nodePath.join(dev, 'sdb'));
  });

  test('waitForSessionDisk gives up with UnavailableError at its deadline', async () => {
    await assert.rejects(waitForSessionDisk(99, 0, { sysRoot: sys, devRoot: dev, deadlineMs: 50, pollMs: 10 }), UnavailableError);
  });
});
