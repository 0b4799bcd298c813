import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command, CommandResult, CommandRunner } from './CommandRunner.ts';
import { HOST_STATE_TOOLS, HostToolsRunner } from './HostToolsRunner.ts';
import { checkHostNamespaces } from './hostNamespaces.ts';

class Recorder implements CommandRunner {
  readonly files: string[] = [];
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  async run(cmd: Command): Promise<CommandResult> {
    this.files.push(cmd.file);
    return { stdout: this.name, stderr: '', exitCode: 0 };
  }
}

describe('HostToolsRunner', () => {
  test('sends lvm, dmsetup, iscsiadm and udevadm to the host runner and the rest to the local one', async () => {
    const host = new Recorder('host');
    const local = new Recorder('local');
    const runner = new HostToolsRunner({ host, local });
    for (const file of ['lvm', 'mkfs.ext4', 'dmsetup', 'mount', 'iscsiadm', 'blkid', 'udevadm', 'blkdiscard', 'umount', 'xfs_growfs', 'findmnt']) {
      await runner.run({ file, args: [], timeoutMs: 1000 });
    }
    assert.deepEqual(host.files, ['lvm', 'dmsetup', 'iscsiadm', 'udevadm']);
    assert.deepEqual(local.files, ['mkfs.ext4', 'mount', 'blkid', 'blkdiscard', 'umount', 'xfs_growfs', 'findmnt']);
    assert.deepEqual([...HOST_STATE_TOOLS].sort(), ['dmsetup', 'iscsiadm', 'lvm', 'udevadm']);
  });

  test('matches the file name exactly: a path is not a host tool', async () => {
    const host = new Recorder('host');
    const local = new Recorder('local');
    const result = await new HostToolsRunner({ host, local }).run({ file: '/sbin/lvm', args: [], timeoutMs: 1000 });
    assert.equal(result.stdout, 'local');
  });
});

describe('checkHostNamespaces', () => {
  test('passes when PID 1 is in another mount namespace (a hostPID pod)', async () => {
    const links: Record<string, string> = { '/proc/1/ns/mnt': 'mnt:[4026531841]', '/proc/self/ns/mnt': 'mnt:[4026532300]' };
    await checkHostNamespaces(async (p) => links[p] ?? assert.fail(p));
  });

  test('fails when PID 1 shares our mount namespace (no hostPID), saying what to set', async () => {
    await assert.rejects(checkHostNamespaces(async () => 'mnt:[4026532300]'), /run the pod with hostPID: true/);
  });

  test('fails when PID 1 cannot be read', async () => {
    await assert.rejects(
      checkHostNamespaces(async () => {
        throw new Error('EACCES');
      }),
      /cannot read the mount namespace of PID 1 \(EACCES\).*hostPID: true/,
    );
  });
});
