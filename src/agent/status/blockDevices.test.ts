import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeRunner } from '../../../test/fakes/FakeRunner.ts';
import { Lvm, PVS_FIELDS } from '../../lvm/index.ts';
import { buildKernelName, listVgBlockDevices, readBlockStat, resolveBlockDevices } from './blockDevices.ts';

const fixture = (path: string): string => readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url), 'utf8');

/** A realpath that knows only these links; other paths are themselves, unknown ones fail like ENOENT. */
function fakeRealpath(links: Record<string, string>, exists: readonly string[] = []): (path: string) => Promise<string> {
  return async (path) => {
    const target = links[path] ?? (exists.includes(path) ? path : undefined);
    if (target === undefined) throw new Error(`ENOENT: no such file or directory, realpath '${path}'`);
    return target;
  };
}

let sysfsRoot = '';
before(async () => {
  sysfsRoot = await mkdtemp(join(tmpdir(), 'vbs-sysfs-'));
  for (const name of ['loop0', 'loop1', 'sdb1', 'dm-3', 'cciss!c0d0']) {
    await mkdir(join(sysfsRoot, 'class', 'block', name), { recursive: true });
    await writeFile(join(sysfsRoot, 'class', 'block', name, 'stat'), fixture('sysfs/vda-stat-t0.txt'));
  }
  await mkdir(join(sysfsRoot, 'class', 'block', 'nostat'), { recursive: true });
});
after(async () => {
  await rm(sysfsRoot, { recursive: true, force: true });
});

describe('buildKernelName', () => {
  const cases: Array<{ name: string; path: string; expected: string | undefined }> = [
    { name: 'names a loop device by its node', path: '/dev/loop0', expected: 'loop0' },
    { name: 'names a partition by its own node, not its disk', path: '/dev/sdb1', expected: 'sdb1' },
    { name: 'names a device-mapper device dm-N', path: '/dev/dm-3', expected: 'dm-3' },
    { name: 'turns a node in a /dev subdirectory into sysfs\'s "!" form', path: '/dev/cciss/c0d0', expected: 'cciss!c0d0' },
    { name: 'refuses a path outside /dev', path: '/tmp/pv.img', expected: undefined },
    { name: 'refuses /dev itself', path: '/dev/', expected: undefined },
    { name: 'refuses a path that would climb out of sysfs', path: '/dev/..', expected: undefined },
    { name: 'refuses a name with characters no kernel device has', path: '/dev/sd b', expected: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(buildKernelName(c.path), c.expected);
    });
  }
});

describe('resolveBlockDevices', () => {
  it('maps PV paths through their links to the stat files under class/block', async () => {
    const realpath = fakeRealpath(
      { '/dev/mapper/crypt-pv': '/dev/dm-3', '/dev/disk/by-id/wwn-0x5000-part1': '/dev/sdb1' },
      ['/dev/loop0', '/dev/cciss/c0d0'],
    );
    const { devices, problems } = await resolveBlockDevices(['/dev/loop0', '/dev/mapper/crypt-pv', '/dev/disk/by-id/wwn-0x5000-part1', '/dev/cciss/c0d0'], { sysfsRoot, realpath });
    assert.deepEqual(problems, []);
    assert.deepEqual(devices, [
      { name: 'loop0', pvPath: '/dev/loop0', statPath: join(sysfsRoot, 'class/block/loop0/stat') },
      { name: 'dm-3', pvPath: '/dev/mapper/crypt-pv', statPath: join(sysfsRoot, 'class/block/dm-3/stat') },
      { name: 'sdb1', pvPath: '/dev/disk/by-id/wwn-0x5000-part1', statPath: join(sysfsRoot, 'class/block/sdb1/stat') },
      { name: 'cciss!c0d0', pvPath: '/dev/cciss/c0d0', statPath: join(sysfsRoot, 'class/block/cciss!c0d0/stat') },
    ]);
  });

  it('lists a device reached by two paths once', async () => {
    const realpath = fakeRealpath({ '/dev/mapper/a': '/dev/dm-3', '/dev/dm-3': '/dev/dm-3' });
    const { devices } = await resolveBlockDevices(['/dev/mapper/a', '/dev/dm-3'], { sysfsRoot, realpath });
    assert.deepEqual(devices.map((d) => d.name), ['dm-3']);
  });

  it('reports, without throwing, PVs that are gone, not under /dev, or without a stat file, and keeps the others', async () => {
    const realpath = fakeRealpath({ '/dev/weird': '/srv/pv.img' }, ['/dev/loop1', '/dev/nostat']);
    const { devices, problems } = await resolveBlockDevices(['/dev/gone', '/dev/weird', '/dev/nostat', '/dev/loop1'], { sysfsRoot, realpath });
    assert.deepEqual(devices.map((d) => d.name), ['loop1']);
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /^PV \/dev\/gone cannot be resolved: ENOENT/);
    assert.match(problems[1]!, /^PV \/dev\/weird resolves to \/srv\/pv.img, which is not a device under \/dev$/);
    assert.match(problems[2]!, /^PV \/dev\/nostat \(nostat\) has no .*class\/block\/nostat\/stat$/);
  });

  it('uses the real realpath and /sys by default', async () => {
    const { devices, problems } = await resolveBlockDevices(['/nonexistent/pv']);
    assert.deepEqual(devices, []);
    assert.match(problems[0]!, /cannot be resolved/);
  });
});

describe('listVgBlockDevices', () => {
  it('reads the VG\'s PVs from lvm and maps them; a missing PV is a problem', async () => {
    const runner = new FakeRunner().on(['lvm', 'pvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', PVS_FIELDS.join(',')], {
      stdout: fixture('lvm/pvs-vg-missing-pv.json'),
    });
    const lvm = new Lvm({ runner, vgName: 'vbs', thinPoolName: 'pool' });
    const { devices, problems } = await listVgBlockDevices(lvm, { sysfsRoot, realpath: fakeRealpath({}, ['/dev/loop1']) });
    assert.deepEqual(devices.map((d) => d.name), ['loop1']);
    assert.deepEqual(problems, ['a PV of vbs (264241152 bytes) is missing']);
  });
});

describe('readBlockStat', () => {
  it('reads and parses the stat file', async () => {
    const stat = await readBlockStat({ name: 'loop0', pvPath: '/dev/loop0', statPath: join(sysfsRoot, 'class/block/loop0/stat') });
    assert.equal(stat.writeSectors, 3423128);
  });
});
