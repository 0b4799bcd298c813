import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import { CommandFailedError } from '../exec/index.ts';
import { InvalidArgumentError } from '../errors.ts';
import { deleteScsiDisk, hasDmDevice, readBlockGeometry, readDeviceSectors } from './blockDevices.ts';
import { Dmsetup, dmDevicePath } from './Dmsetup.ts';
import { parseDmInfo, parseDmTable } from './parseDmsetup.ts';

const GONE = { exitCode: 1, stderr: 'Device does not exist.\nCommand failed.' };

describe('Dmsetup', () => {
  it('creates a linear device without udev sync, making its /dev/mapper node in the same call', async () => {
    const runner = new FakeRunner().on(['dmsetup'], {});
    await new Dmsetup({ runner }).createLinear('vbs-abc', { sectors: 2048, device: '8:16' }, { uuid: 'VBS-abc' });
    assert.deepEqual(runner.argvs, [['dmsetup', 'create', 'vbs-abc', '--noudevsync', '--verifyudev', '-u', 'VBS-abc', '--table', '0 2048 linear 8:16 0']]);
  });

  it('grows a device by reloading the table and resuming it', async () => {
    const runner = new FakeRunner().on(['dmsetup'], {});
    await new Dmsetup({ runner }).reloadLinear('vbs-abc', { sectors: 4096, device: '8:16' });
    assert.deepEqual(runner.argvs, [
      ['dmsetup', 'reload', 'vbs-abc', '--noudevsync', '--table', '0 4096 linear 8:16 0'],
      ['dmsetup', 'resume', 'vbs-abc', '--noudevsync'],
    ]);
  });

  it('reloads a read-only device read-only again', async () => {
    const runner = new FakeRunner().on(['dmsetup'], {});
    await new Dmsetup({ runner }).reloadLinear('vbs-abc-ro', { sectors: 4096, device: '254:3' }, undefined, { readOnly: true });
    assert.deepEqual(runner.argvs[0], ['dmsetup', 'reload', 'vbs-abc-ro', '--noudevsync', '--readonly', '--table', '0 4096 linear 254:3 0']);
  });

  it('treats removing a device that does not exist as done', async () => {
    const runner = new FakeRunner().once(['dmsetup', 'remove'], {}).once(['dmsetup', 'remove'], GONE);
    const dm = new Dmsetup({ runner });
    assert.equal(await dm.remove('vbs-abc'), true);
    assert.equal(await dm.remove('vbs-abc'), false);
    assert.deepEqual(runner.argvs[0], ['dmsetup', 'remove', '--noudevsync', '--retry', 'vbs-abc']);
  });

  it('does not swallow a busy device on remove', async () => {
    const runner = new FakeRunner().on(['dmsetup', 'remove'], { exitCode: 1, stderr: 'device-mapper: remove ioctl on vbs-abc failed: Device or resource busy' });
    await assert.rejects(new Dmsetup({ runner }).remove('vbs-abc'), CommandFailedError);
  });

  it('reads info and table, and answers undefined for a missing device', async () => {
    const runner = new FakeRunner()
      .once(['dmsetup', 'info'], { stdout: 'vbs-abc|VBS-abc|254|3|L--w|1\n' })
      .once(['dmsetup', 'table'], { stdout: '0 204800 linear 8:16 0\n' })
      .on(['dmsetup'], GONE);
    const dm = new Dmsetup({ runner });
    assert.deepEqual(await dm.info('vbs-abc'), {
      name: 'vbs-abc', uuid: 'VBS-abc', major: 254, minor: 3, openCount: 1, isSuspended: false, isReadOnly: false, hasInactiveTable: false,
    });
    assert.deepEqual(await dm.table('vbs-abc'), [{ startSector: 0, sectors: 204800, targetType: 'linear', args: ['8:16', '0'] }]);
    assert.equal(await dm.info('vbs-abc'), undefined);
    assert.equal(await dm.table('vbs-abc'), undefined);
    assert.deepEqual(runner.argvs[0], ['dmsetup', 'info', '-c', '--noheadings', '--separator', '|', '-o', 'name,uuid,major,minor,attr,open', 'vbs-abc']);
  });

  it('refuses names and table devices that could be misread', async () => {
    const dm = new Dmsetup({ runner: new FakeRunner() });
    await assert.rejects(dm.remove('../x'), InvalidArgumentError);
    await assert.rejects(dm.createLinear('vbs-a', { sectors: 8, device: '8:16 0\n0 8 linear 8:32' }), InvalidArgumentError);
    assert.throws(() => dmDevicePath('a b'), InvalidArgumentError);
    assert.equal(dmDevicePath('vbs-a'), '/dev/mapper/vbs-a');
  });
});

describe('parseDmInfo and parseDmTable', () => {
  it('reads suspended, read-only and inactive-table flags from attr', () => {
    assert.deepEqual(parseDmInfo('x||254|0|LIsr|0'), {
      name: 'x', uuid: undefined, major: 254, minor: 0, openCount: 0, isSuspended: true, isReadOnly: true, hasInactiveTable: true,
    });
  });

  it('fails loudly on output it does not understand', () => {
    assert.throws(() => parseDmInfo('x|y|a|b|L--w|0'));
    assert.throws(() => parseDmTable('zero 12 linear'));
  });
});

describe('readBlockGeometry and deleteScsiDisk', () => {
  it('reads the size in sectors and major:minor from sysfs, and deletes through device/delete', async () => {
    const sysRoot = await mkdtemp(join(tmpdir(), 'vbs-sys-'));
    try {
      await mkdir(join(sysRoot, 'block', 'sdb', 'device'), { recursive: true });
      await writeFile(join(sysRoot, 'block', 'sdb', 'size'), '204800\n');
      await writeFile(join(sysRoot, 'block', 'sdb', 'dev'), '8:16\n');
      assert.deepEqual(await readBlockGeometry('sdb', { sysRoot }), { sectors: 204800, majorMinor: '8:16' });
      assert.equal(await readBlockGeometry('sdz', { sysRoot }), undefined);
      await mkdir(join(sysRoot, 'dev', 'block', '8:16'), { recursive: true });
      await writeFile(join(sysRoot, 'dev', 'block', '8:16', 'size'), '204800\n');
      assert.equal(await readDeviceSectors('8:16', { sysRoot }), 204800);
      assert.equal(await readDeviceSectors('8:32', { sysRoot }), undefined);
      assert.equal(await deleteScsiDisk('sdb', { sysRoot }), true);
      assert.equal(await readFile(join(sysRoot, 'block', 'sdb', 'device', 'delete'), 'utf8'), '1');
      assert.equal(await deleteScsiDisk('sdz', { sysRoot }), false);
      await assert.rejects(deleteScsiDisk('../sdb', { sysRoot }));
    } finally {
      await rm(sysRoot, { recursive: true, force: true });
    }
  });
});

describe('hasDmDevice', () => {
  it('finds a dm device by the name the kernel shows under /sys/block/dm-N/dm/name, and nothing else', async () => {
    const sysRoot = await mkdtemp(join(tmpdir(), 'vbs-sys-'));
    try {
      assert.equal(await hasDmDevice('vbs-abc', { sysRoot }), false, 'no /sys/block at all');
      for (const [dev, name] of [['dm-0', 'vg-pool'], ['dm-3', 'vbs-abc']] as const) {
        await mkdir(join(sysRoot, 'block', dev, 'dm'), { recursive: true });
        await writeFile(join(sysRoot, 'block', dev, 'dm', 'name'), `${name}\n`);
      }
      await mkdir(join(sysRoot, 'block', 'sdb'), { recursive: true });
      await mkdir(join(sysRoot, 'block', 'dm-7'), { recursive: true }); // going away: no dm/name any more
      assert.equal(await hasDmDevice('vbs-abc', { sysRoot }), true);
      assert.equal(await hasDmDevice('vbs-ab', { sysRoot }), false);
      assert.equal(await hasDmDevice('vbs-other', { sysRoot }), false);
    } finally {
      await rm(sysRoot, { recursive: true, force: true });
    }
  });
});
