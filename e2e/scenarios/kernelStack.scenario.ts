import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Scenario, ScenarioContext } from './Scenario.ts';

/**
 * The test bed's self-check: everything the driver's scenarios rely on is really there in the
 * guest. When this fails, every other scenario's failure is noise, so it runs first.
 */
export const kernelStackScenario: Scenario = {
  name: 'the guest kernel has the storage stack',
  timeoutMs: 60_000,
  async run(ctx) {
    for (const dir of ['/sys/kernel/config/target', '/sys/module/dm_thin_pool', '/sys/module/iscsi_tcp']) {
      assert.ok(existsSync(dir), `${dir} is missing: the module behind it is not loaded`);
      ctx.log(`${dir} exists`);
    }

    // The kernel runs /sbin/modprobe (request_module: "mount -t ext4", LIO backstores) in PID 1's
    // root, so the guest must really have switched to the shared root, not chrooted into it.
    const ourRoot = statSync('/');
    const initRoot = statSync('/proc/1/root');
    assert.ok(ourRoot.dev === initRoot.dev && ourRoot.ino === initRoot.ino, 'PID 1 has another root: the guest is a chroot');
    ctx.log('PID 1 shares our root');

    const lvm = await run(ctx, 'lvm', ['version']);
    assert.equal(lvm.exitCode, 0, `lvm version failed: ${lvm.stderr}`);
    assert.match(lvm.stdout, /LVM version/);

    // iscsiadm talks to iscsid over its control socket: 21 means "no active sessions", which
    // proves the daemon answered; without iscsid it fails with another code.
    const sessions = await run(ctx, 'iscsiadm', ['-m', 'session']);
    assert.ok(sessions.exitCode === 0 || sessions.exitCode === 21, `iscsiadm -m session exited ${sessions.exitCode}: ${sessions.stderr}`);
    const iscsid = await run(ctx, 'pgrep', ['-x', 'iscsid']);
    assert.equal(iscsid.exitCode, 0, 'iscsid is not running');

    const udevd = await run(ctx, 'pgrep', ['-x', 'systemd-udevd']);
    assert.equal(udevd.exitCode, 0, 'systemd-udevd is not running');
    const udevControl = await run(ctx, 'udevadm', ['control', '--ping']);
    assert.equal(udevControl.exitCode, 0, `udevd does not answer: ${udevControl.stderr}`);
    // In a chroot, udevadm prints "Running in chroot, ignoring request." and does nothing.
    assert.doesNotMatch(udevControl.stdout + udevControl.stderr, /ignoring request/, 'udevadm ignores requests (chroot detection)');

    // The node plugin mounts ext4 and xfs: both must be registered, since the kernel's own module
    // autoload runs outside the chroot and cannot load them on demand.
    const filesystems = await readFile('/proc/filesystems', 'utf8');
    for (const fs of ['ext4', 'xfs']) assert.match(filesystems, new RegExp(`\\t${fs}\\n`), `${fs} is not registered in the guest kernel`);

    // Both the runner itself and whatever `node` a scenario spawns must be the project's Node 24,
    // not the host's v20 that the shared root also contains.
    assert.match(process.version, /^v24\./, `the runner runs on ${process.version}`);
    const node = await run(ctx, 'node', ['--version']);
    assert.match(node.stdout.trim(), /^v24\./, `node on PATH is ${node.stdout.trim()}`);
    // boot.sh's node wrapper: without --liftoff-only, V8 crashes now and then under TCG.
    assert.ok(process.execArgv.includes('--liftoff-only'), `the runner's node flags are ${JSON.stringify(process.execArgv)}`);
  },
};

async function run(ctx: ScenarioContext, file: string, args: readonly string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const result = await execa(file, args, { reject: false, cancelSignal: ctx.signal, env: { LC_ALL: 'C' }, stdin: 'ignore' });
  ctx.log(`$ ${[file, ...args].join(' ')} → exit ${result.exitCode ?? result.signal ?? '?'}${result.stdout ? `\n${result.stdout}` : ''}${result.stderr ? `\n${result.stderr}` : ''}`);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}
