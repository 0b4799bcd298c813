import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FailedPreconditionError } from '../errors.ts';
import { readBlockDeviceSizeBytes, splitDevT } from './deviceSize.ts';

/** glibc's makedev(3). */
const makedev = (major: bigint, minor: bigint): bigint => ((major & 0xfffn) << 8n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);

/** A block device this machine has, if any (loop devices exist on the build machines). */
const LOOP = ['/dev/loop0', '/dev/loop1'].find((p) => existsSync(p) && statSync(p).isBlockDevice());

describe('splitDevT', () => {
  it('undoes makedev for small and large majors and minors', () => {
    for (const [major, minor] of [[8n, 16n], [254n, 3n], [259n, 0x12345n], [4095n, 255n], [5000n, 1n << 19n]] as const) {
      assert.deepEqual(splitDevT(makedev(major, minor)), { major: Number(major), minor: Number(minor) });
    }
  });
});

describe('readBlockDeviceSizeBytes', () => {
  it('reads nothing for a path that does not exist', async () => {
    assert.equal(await readBlockDeviceSizeBytes('/dev/vbs-no-such-device'), undefined);
  });

  it('refuses a path that is not a block device', async () => {
    await assert.rejects(readBlockDeviceSizeBytes('/dev/null'), FailedPreconditionError);
  });

  it('reads the size of a real block device from /sys/dev/block/<major:minor>/size, and nothing once sysfs has no such device', { skip: LOOP === undefined ? 'this machine has no /dev/loop0 or /dev/loop1' : false }, async () => {
    const device = LOOP!;
    const { major, minor } = splitDevT(statSync(device, { bigint: true }).rdev);
    const sysRoot = await mkdtemp(join(tmpdir(), 'vbs-sys-'));
    try {
      assert.equal(await readBlockDeviceSizeBytes(device, { sysRoot }), undefined, 'the device is gone from sysfs: a stale node');
      await mkdir(join(sysRoot, 'dev', 'block', `${major}:${minor}`), { recursive: true });
      await writeFile(join(sysRoot, 'dev', 'block', `${major}:${minor}`, 'size'), '262144\n');
      assert.equal(await readBlockDeviceSizeBytes(device, { sysRoot }), 128 * 1024 * 1024);
    } finally {
      await rm(sysRoot, { recursive: true, force: true });
    }
  });
});
