import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import { CommandFailedError } from '../exec/index.ts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.ts';
import { Mounter } from './Mounter.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');

const DEV = '/dev/loop1';
const SIZE = { stdout: '419430400\n' };
const FINDMNT = (target: string) => ['findmnt', '-J', '-l', '-b', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS', '--mountpoint', target];
const NOT_MOUNTED = { exitCode: 1 };

/** realpath for tests: the by-path link and the dm name resolve like udev would lay them out. */
const LINKS: Readonly<Record<string, string>> = {
  '/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-iqn.2026-11.test:v-lun-0': '/dev/loop1',
  '/dev/mapper/vbs-vol': '/dev/dm-3',
  '/dev/vbs/vol': '/dev/dm-3',
};
const fakeRealpath = async (path: string): Promise<string> => LINKS[path] ?? path;

function setup(): { runner: FakeRunner; mounter: Mounter } {
  const runner = new FakeRunner();
  return { runner, mounter: new Mounter({ runner, realpath: fakeRealpath }) };
}

describe('Mounter', () => {
  describe('probeFilesystem with readDeviceSizeBytes', () => {
    const withSizes = (sizes: Readonly<Record<string, number>>) => {
      const runner = new FakeRunner();
      return { runner, mounter: new Mounter({ runner, realpath: fakeRealpath, readDeviceSizeBytes: async (device) => sizes[device] }) };
    };

    it('takes the size from the reader and runs only blkid', async () => {
      const { runner, mounter } = withSizes({ [DEV]: 419430400 });
      runner.on(['blkid'], { exitCode: 2 });
      assert.deepEqual(await mounter.probeFilesystem(DEV), { kind: 'blank', sizeBytes: 419430400 });
      assert.deepEqual(runner.argvs, [['blkid', '-p', '-o', 'export', DEV]]);
    });

    it('fails closed without running blkid for a device that is missing or empty', async () => {
      const { runner, mounter } = withSizes({ '/dev/loop2': 0 });
      await assert.rejects(mounter.probeFilesystem(DEV), NotFoundError);
      await assert.rejects(mounter.formatIfBlank('/dev/loop2', 'ext4'), FailedPreconditionError);
      assert.deepEqual(runner.calls, []);
    });
  });

  describe('findMount from the mount table (readMountInfo)', () => {
    const TABLE = [
      '29 1 0:24 / / rw,relatime - overlay overlay rw',
      '61 29 254:3 / /var/lib/kubelet/staging/v1 rw,relatime - ext4 /dev/mapper/vbs-vol rw',
      '62 29 254:3 / /var/lib/kubelet/pods/p1/mount ro,relatime - ext4 /dev/mapper/vbs-vol rw',
      '63 29 0:5 /dm-3 /var/lib/kubelet/pods/p2/dev rw,relatime - devtmpfs udev rw,size=100k',
      '64 61 0:50 / /var/lib/kubelet/staging/v1 rw,relatime - tmpfs tmpfs rw',
      '',
    ].join('\n');
    const withTable = (realpath = fakeRealpath) => {
      const runner = new FakeRunner();
      return { runner, mounter: new Mounter({ runner, realpath, readMountInfo: async () => TABLE }) };
    };

    it('answers from the table without running findmnt, the visible one of stacked mounts', async () => {
      const { runner, mounter } = withTable();
      assert.equal((await mounter.findMount('/var/lib/kubelet/staging/v1'))?.source, 'tmpfs');
      assert.deepEqual(await mounter.findMount('/var/lib/kubelet/pods/p1/mount'), {
        target: '/var/lib/kubelet/pods/p1/mount', source: '/dev/mapper/vbs-vol', fsType: 'ext4', options: ['ro', 'relatime'], isReadOnly: true,
      });
      assert.equal((await mounter.findMount('/var/lib/kubelet/pods/p2/dev'))?.source, 'udev[/dm-3]');
      assert.equal(await mounter.findMount('/var/lib/kubelet/pods'), undefined, 'a parent of mounts is not itself mounted');
      assert.equal(await mounter.findMount('/nowhere'), undefined);
      assert.deepEqual(runner.calls, []);
    });

    it('matches the path a target resolves to, as findmnt --mountpoint does', async () => {
      const { mounter } = withTable(async (p) => (p === '/link/to/staging' ? '/var/lib/kubelet/staging/v1' : p));
      assert.equal((await mounter.findMount('/link/to/staging'))?.target, '/var/lib/kubelet/staging/v1');
    });

    it('mounts after reading the table, and leaves an existing same-device mount alone', async () => {
      const { runner, mounter } = withTable();
      runner.on(['mount'], {});
      await mounter.mount('/dev/mapper/vbs-vol', '/var/lib/kubelet/staging/v2', { fsType: 'ext4' });
      await mounter.mount('/dev/vbs/vol', '/var/lib/kubelet/pods/p1/mount', { fsType: 'ext4', readOnly: true });
      assert.deepEqual(runner.argvs, [['mount', '-t', 'ext4', '/dev/mapper/vbs-vol', '/var/lib/kubelet/staging/v2']]);
    });
  });

  describe('probeFilesystem', () => {
    it('checks the device size first, then probes the device itself with blkid -p', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { exitCode: 2 });
      assert.deepEqual(await mounter.probeFilesystem(DEV), { kind: 'blank', sizeBytes: 419430400 });
      assert.deepEqual(runner.argvs, [['blockdev', '--getsize64', DEV], ['blkid', '-p', '-o', 'export', DEV]]);
    });

    it('reads a filesystem with its type, uuid and label', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { stdout: fixture('blkid/ext4-label-with-space.txt') });
      assert.deepEqual(await mounter.probeFilesystem(DEV), {
        kind: 'filesystem', sizeBytes: 419430400, fsType: 'ext4', uuid: '79b5f3b3-9d23-4c50-861d-d538b038f018', label: 'my "vol"',
      });
    });

    it('reads a partition table as not blank', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { stdout: fixture('blkid/dos-partition-table.txt') });
      assert.deepEqual(await mounter.probeFilesystem(DEV), { kind: 'partition-table', sizeBytes: 419430400, ptType: 'dos' });
    });

    it('reads several signatures (exit 8) as an unknown signature, not blank', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { exitCode: 8, stderr: 'ambivalent result (probably more filesystems on the device, use wipefs(8) to see more details)' });
      assert.equal((await mounter.probeFilesystem(DEV)).kind, 'unknown-signature');
    });

    it('reads a result without TYPE or PTTYPE as an unknown signature, not blank', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { stdout: `DEVNAME=${DEV}\nUSAGE=other\n` });
      assert.equal((await mounter.probeFilesystem(DEV)).kind, 'unknown-signature');
    });

    it('throws on any other blkid failure instead of calling the device blank', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { exitCode: 4, stderr: 'blkid: error' });
      await assert.rejects(mounter.probeFilesystem(DEV), CommandFailedError);
    });

    it('reports a device that does not exist as NotFoundError without running blkid (which would exit 2, "blank")', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], { exitCode: 1, stderr: 'blockdev: cannot open /dev/nope: No such file or directory\n' });
      await assert.rejects(mounter.probeFilesystem('/dev/nope'), NotFoundError);
      assert.deepEqual(runner.argvsMatching(['blkid']), []);
    });

    it('refuses to call a zero-size device blank', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], { stdout: '0\n' });
      await assert.rejects(mounter.probeFilesystem(DEV), FailedPreconditionError);
    });

    it('refuses a path outside /dev without running anything', async () => {
      const { runner, mounter } = setup();
      await assert.rejects(mounter.probeFilesystem('/tmp/disk.img'), InvalidArgumentError);
      assert.deepEqual(runner.calls, []);
    });
  });

  describe('formatIfBlank', () => {
    const formats: Array<{ name: string; fsType: string; fresh: boolean; argv: string[] }> = [
      {
        name: 'formats a fresh blank volume as ext4 without discard, root reserve or journal zeroing',
        fsType: 'ext4', fresh: true,
        argv: ['mkfs.ext4', '-F', '-m0', '-E', 'nodiscard,lazy_itable_init=1,lazy_journal_init=1', DEV],
      },
      {
        name: 'zeroes the ext4 journal when the volume is not known to be fresh',
        fsType: 'ext4', fresh: false,
        argv: ['mkfs.ext4', '-F', '-m0', '-E', 'nodiscard,lazy_itable_init=1', DEV],
      },
      { name: 'formats a blank volume as xfs without discard', fsType: 'xfs', fresh: true, argv: ['mkfs.xfs', '-K', DEV] },
    ];
    for (const c of formats) {
      it(c.name, async () => {
        const { runner, mounter } = setup();
        runner.on(['blockdev'], SIZE).on(['blkid'], { exitCode: 2 }).on([c.argv[0]!], {});
        assert.deepEqual(await mounter.formatIfBlank(DEV, c.fsType, { isFreshVolume: c.fresh }), { formatted: true });
        assert.deepEqual(runner.argvsMatching([c.argv[0]!]), [c.argv]);
        assert.equal(runner.calls.at(-1)?.timeoutMs, 600_000);
      });
    }

    it('leaves a device that already has the requested filesystem alone', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { stdout: fixture('blkid/xfs.txt') });
      assert.deepEqual(await mounter.formatIfBlank(DEV, 'xfs'), { formatted: false });
      assert.deepEqual(runner.argvsMatching([/^mkfs/]), []);
    });

    const refusals: Array<{ name: string; blkid: { stdout?: string; exitCode?: number } }> = [
      { name: 'a filesystem of another type', blkid: { stdout: fixture('blkid/ext4.txt') } },
      { name: 'a partition table', blkid: { stdout: fixture('blkid/dos-partition-table.txt') } },
      { name: 'several signatures', blkid: { exitCode: 8 } },
    ];
    for (const c of refusals) {
      it(`refuses to format a device holding ${c.name}`, async () => {
        const { runner, mounter } = setup();
        runner.on(['blockdev'], SIZE).on(['blkid'], c.blkid);
        await assert.rejects(mounter.formatIfBlank(DEV, 'xfs'), FailedPreconditionError);
        assert.deepEqual(runner.argvsMatching([/^mkfs/]), []);
      });
    }

    it('does not format when the probe itself fails', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev'], SIZE).on(['blkid'], { exitCode: 4 });
      await assert.rejects(mounter.formatIfBlank(DEV, 'ext4'), CommandFailedError);
      assert.deepEqual(runner.argvsMatching([/^mkfs/]), []);
    });

    it('refuses a filesystem type it does not support before touching the device', async () => {
      const { runner, mounter } = setup();
      await assert.rejects(mounter.formatIfBlank(DEV, 'btrfs'), InvalidArgumentError);
      assert.deepEqual(runner.calls, []);
    });
  });

  describe('mount', () => {
    const mounts: Array<{ name: string; fsType: string; options?: string[]; readOnly?: boolean; argv: string[] }> = [
      { name: 'mounts ext4 with the CO\'s options', fsType: 'ext4', options: ['noatime', 'data=ordered'], argv: ['mount', '-t', 'ext4', '-o', 'noatime,data=ordered', DEV, '/mnt/t'] },
      { name: 'mounts ext4 without -o when there are no options', fsType: 'ext4', argv: ['mount', '-t', 'ext4', DEV, '/mnt/t'] },
      { name: 'always adds nouuid for xfs so clones mount beside their origin', fsType: 'xfs', argv: ['mount', '-t', 'xfs', '-o', 'nouuid', DEV, '/mnt/t'] },
      {
        name: "passes kubelet's SELinux context (CSIDriver seLinuxMount) in the one -o argument, its quoted comma intact",
        fsType: 'ext4',
        options: ['context="system_u:object_r:container_file_t:s0:c10,c20"', 'noatime'],
        argv: ['mount', '-t', 'ext4', '-o', 'context="system_u:object_r:container_file_t:s0:c10,c20",noatime', DEV, '/mnt/t'],
      },
      { name: 'does not repeat nouuid when the CO gave it', fsType: 'xfs', options: ['nouuid'], readOnly: true, argv: ['mount', '-t', 'xfs', '-o', 'nouuid,ro', DEV, '/mnt/t'] },
    ];
    for (const c of mounts) {
      it(c.name, async () => {
        const { runner, mounter } = setup();
        runner.on(FINDMNT('/mnt/t'), NOT_MOUNTED).on(['mount'], {});
        await mounter.mount(DEV, '/mnt/t', { fsType: c.fsType, ...(c.options ? { options: c.options } : {}), ...(c.readOnly ? { readOnly: true } : {}) });
        assert.deepEqual(runner.argvsMatching(['mount']), [c.argv]);
      });
    }

    it('refuses an option with an unpaired double quote before running mount', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/mnt/t'), NOT_MOUNTED).on(['mount'], {});
      await assert.rejects(mounter.mount(DEV, '/mnt/t', { fsType: 'ext4', options: ['context="system_u:object_r:container_file_t:s0:c1', 'ro'] }), (err: Error) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.match(err.message, /unpaired double quote/);
        return true;
      });
      assert.deepEqual(runner.argvsMatching(['mount']), []);
    });

    it('does nothing when the target is already mounted from the same device through another name', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/mnt/t'), { stdout: JSON.stringify({ filesystems: [{ target: '/mnt/t', source: '/dev/mapper/vbs-vol', fstype: 'ext4', options: 'rw,relatime' }] }) });
      await mounter.mount('/dev/vbs/vol', '/mnt/t', { fsType: 'ext4' });
      assert.deepEqual(runner.argvsMatching(['mount']), []);
    });

    it('refuses to stack a mount on a target mounted from another device', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/tmp/mnt-ext4'), { stdout: fixture('findmnt/ext4.json') });
      await assert.rejects(mounter.mount('/dev/sdz', '/tmp/mnt-ext4', { fsType: 'ext4' }), FailedPreconditionError);
      assert.deepEqual(runner.argvsMatching(['mount']), []);
    });

    it('refuses a read-only mount request on a target mounted read-write', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/tmp/mnt-ext4'), { stdout: fixture('findmnt/ext4.json') });
      await assert.rejects(mounter.mount('/dev/loop1', '/tmp/mnt-ext4', { fsType: 'ext4', readOnly: true }), /already mounted from \/dev\/loop1 \(rw\)/);
    });

    it('refuses options with whitespace and unsupported filesystem types without running anything', async () => {
      const { runner, mounter } = setup();
      await assert.rejects(mounter.mount(DEV, '/mnt/t', { fsType: 'ext4', options: ['a b'] }), InvalidArgumentError);
      await assert.rejects(mounter.mount(DEV, '/mnt/t', { fsType: 'ext4', options: [''] }), InvalidArgumentError);
      await assert.rejects(mounter.mount(DEV, '/mnt/t', { fsType: 'vfat' }), InvalidArgumentError);
      await assert.rejects(mounter.mount(DEV, 'relative', { fsType: 'ext4' }), InvalidArgumentError);
      assert.deepEqual(runner.calls, []);
    });
  });

  describe('bindMount', () => {
    it('bind-mounts and then remounts read-only', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/pods/x/dev'), NOT_MOUNTED).on(['mount'], {});
      await mounter.bindMount(DEV, '/pods/x/dev', { readOnly: true });
      assert.deepEqual(runner.argvsMatching(['mount']), [
        ['mount', '--bind', DEV, '/pods/x/dev'],
        ['mount', '-o', 'remount,bind,ro', '/pods/x/dev'],
      ]);
    });

    it('bind-mounts read-write with one call', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/pods/x/vol'), NOT_MOUNTED).on(['mount'], {});
      await mounter.bindMount('/staging/x', '/pods/x/vol');
      assert.deepEqual(runner.argvsMatching(['mount']), [['mount', '--bind', '/staging/x', '/pods/x/vol']]);
    });

    it('leaves a target that is already a mount point alone', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/tmp/blockfile'), { stdout: fixture('findmnt/block-bind-ro.json') });
      await mounter.bindMount(DEV, '/tmp/blockfile', { readOnly: true });
      assert.deepEqual(runner.argvsMatching(['mount']), []);
    });
  });

  describe('unmount', () => {
    it('unmounts a mounted target', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/tmp/mnt-ext4'), { stdout: fixture('findmnt/ext4.json') }).on(['umount'], {});
      await mounter.unmount('/tmp/mnt-ext4');
      assert.deepEqual(runner.argvsMatching(['umount']), [['umount', '/tmp/mnt-ext4']]);
    });

    it('counts a target that is not mounted as unmounted, without running umount', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/gone'), NOT_MOUNTED);
      await mounter.unmount('/gone');
      assert.deepEqual(runner.argvsMatching(['umount']), []);
    });

    it('counts losing a race with another unmount as success', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/tmp/mnt-ext4'), { stdout: fixture('findmnt/ext4.json') });
      runner.on(['umount'], { exitCode: 32, stderr: 'umount: /tmp/mnt-ext4: not mounted.\n' });
      await mounter.unmount('/tmp/mnt-ext4');
    });

    it('reports a busy target as FailedPreconditionError', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/tmp/mnt-ext4'), { stdout: fixture('findmnt/ext4.json') });
      runner.on(['umount'], { exitCode: 32, stderr: 'umount: /tmp/mnt-ext4: target is busy.\n' });
      await assert.rejects(mounter.unmount('/tmp/mnt-ext4'), FailedPreconditionError);
    });
  });

  describe('findMount and isMounted', () => {
    it('returns the visible mount when mounts are stacked', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/tmp/mnt-ext4'), { stdout: fixture('findmnt/stacked.json') });
      assert.equal((await mounter.findMount('/tmp/mnt-ext4'))?.fsType, 'tmpfs');
      assert.equal(await mounter.isMounted('/tmp/mnt-ext4'), true);
    });

    it('reads findmnt exit 1 as not mounted', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/nowhere'), NOT_MOUNTED);
      assert.equal(await mounter.findMount('/nowhere'), undefined);
      assert.equal(await mounter.isMounted('/nowhere'), false);
    });

    it('throws when findmnt fails otherwise', async () => {
      const { runner, mounter } = setup();
      runner.on(FINDMNT('/x'), { exitCode: 2, stderr: 'findmnt: bad usage' });
      await assert.rejects(mounter.isMounted('/x'), CommandFailedError);
    });
  });

  describe('mountedDevice', () => {
    it('gives the device of the filesystem a directory is on, as stat(2) and /proc/self/mountinfo tell it', async () => {
      const { mounter } = setup();
      const dir = await mkdtemp(join(tmpdir(), 'vbs-mounted-'));
      try {
        const got = await mounter.mountedDevice(dir);
        // mountinfo's third field is the st_dev of each mount: the longest mount point above dir names it.
        const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => line.split(' '));
        // The last of mounts stacked on one point is the visible one: reverse before the stable sort.
        const above = mounts.reverse().filter((f) => dir === f[4] || dir.startsWith(f[4] === '/' ? '/' : `${f[4]}/`)).sort((a, b) => (b[4] ?? '').length - (a[4] ?? '').length);
        assert.equal(`${got.major}:${got.minor}`, above[0]?.[2]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('refuses a relative path', async () => {
      const { mounter } = setup();
      await assert.rejects(mounter.mountedDevice('relative/path'), InvalidArgumentError);
    });
  });

  describe('growFilesystem', () => {
    it('grows ext4 through the device and xfs through the mount point', async () => {
      const { runner, mounter } = setup();
      runner.on(['resize2fs'], {}).on(['xfs_growfs'], {});
      await mounter.growFilesystem(DEV, '/mnt/a', 'ext4');
      await mounter.growFilesystem(DEV, '/mnt/b', 'xfs');
      assert.deepEqual(runner.argvs, [['resize2fs', DEV], ['xfs_growfs', '/mnt/b']]);
    });
  });

  describe('getDeviceSizeBytes and flushBuffers', () => {
    it('reads the size with blockdev and refuses paths outside /dev', async () => {
      const { runner, mounter } = setup();
      runner.on(['blockdev', '--getsize64'], SIZE);
      assert.equal(await mounter.getDeviceSizeBytes(DEV), 419430400);
      await assert.rejects(mounter.getDeviceSizeBytes('/tmp/x'), InvalidArgumentError);
    });

    it('flushes with blockdev --flushbufs and treats a vanished device as flushed', async () => {
      const { runner, mounter } = setup();
      runner.once(['blockdev', '--flushbufs'], {}).once(['blockdev', '--flushbufs'], { exitCode: 1, stderr: 'blockdev: cannot open /dev/sdx: No such file or directory' });
      await mounter.flushBuffers(DEV);
      await mounter.flushBuffers('/dev/sdx');
      assert.deepEqual(runner.argvs, [['blockdev', '--flushbufs', DEV], ['blockdev', '--flushbufs', '/dev/sdx']]);
    });
  });

  describe('getFilesystemStats', () => {
    it('computes bytes and inodes from statfs', async () => {
      const statfs = async () => ({ bsize: 4096n, blocks: 1000n, bfree: 300n, bavail: 250n, files: 64n, ffree: 60n });
      const mounter = new Mounter({ runner: new FakeRunner(), statfs });
      assert.deepEqual(await mounter.getFilesystemStats('/mnt/a'), {
        totalBytes: 4096000, usedBytes: 2867200, availableBytes: 1024000, totalInodes: 64, usedInodes: 4, availableInodes: 60,
      });
    });

    it('reads a real directory with consistent figures', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vbs-statfs-'));
      try {
        const stats = await new Mounter({ runner: new FakeRunner() }).getFilesystemStats(dir);
        assert.ok(stats.totalBytes > 0);
        assert.ok(stats.usedBytes + stats.availableBytes <= stats.totalBytes);
      } finally {
        await rm(dir, { recursive: true });
      }
    });

    it('reports a missing path as NotFoundError', async () => {
      await assert.rejects(new Mounter({ runner: new FakeRunner() }).getFilesystemStats('/nonexistent/vbs/path'), NotFoundError);
    });
  });
});
