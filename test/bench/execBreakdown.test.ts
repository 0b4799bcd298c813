import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { benchLogLevel } from '../../bench/support/allInOneDriver.ts';
import { buildCommandKey, formatExecTally, tallyExecLines } from '../../bench/support/execBreakdown.ts';

const exec = (component: string, cmd: string[], ms: number) => JSON.stringify({ level: 20, component, msg: 'exec', cmd, exitCode: 0, ms });

describe('buildCommandKey', () => {
  it('names iscsiadm calls by mode, operation and action, never by their values', () => {
    const node = ['iscsiadm', '-m', 'node', '-T', 'iqn.2026-11.io.x:v', '-p', '127.0.0.7:3260,1', '-I', 'default'];
    assert.equal(buildCommandKey([...node, '-o', 'update', '-n', 'node.session.auth.password', '-v', '***']), 'iscsiadm -m node -o update');
    assert.equal(buildCommandKey([...node, '-S']), 'iscsiadm -m node -S');
    assert.equal(buildCommandKey([...node, '--login']), 'iscsiadm -m node --login');
    assert.equal(buildCommandKey(['iscsiadm', '-m', 'session', '-P', '3']), 'iscsiadm -m session -P');
  });

  it('names dmsetup and udevadm by subcommand and tells mount kinds apart', () => {
    assert.equal(buildCommandKey(['dmsetup', 'create', 'vbs-1', '--noudevsync', '--table', '0 8 linear 8:16 0']), 'dmsetup create');
    assert.equal(buildCommandKey(['udevadm', 'settle', '--timeout=10']), 'udevadm settle');
    assert.equal(buildCommandKey(['mount', '--bind', '/a', '/b']), 'mount --bind');
    assert.equal(buildCommandKey(['mount', '-o', 'remount,bind,ro', '/b']), 'mount -o remount');
    assert.equal(buildCommandKey(['mount', '-t', 'ext4', '/dev/mapper/x', '/s']), 'mount');
    assert.equal(buildCommandKey(['mkfs.ext4', '-F', '/dev/mapper/x']), 'mkfs.ext4');
  });
});

describe('tallyExecLines', () => {
  it('counts and sums the given component\'s commands in order of first appearance, skipping other lines', () => {
    const log = [
      exec('node', ['iscsiadm', '-m', 'node', '-S'], 120),
      'not json',
      JSON.stringify({ level: 30, component: 'node', msg: 'LUN attached' }),
      exec('agent', ['lvs', '--reportformat', 'json'], 300),
      exec('node', ['udevadm', 'settle'], 200),
      exec('node', ['iscsiadm', '-m', 'node', '-S'], 80),
      '{"broken json',
    ].join('\n');
    const tally = tallyExecLines(log, 'node');
    assert.deepEqual(tally, [
      { command: 'iscsiadm -m node -S', count: 2, totalMs: 200 },
      { command: 'udevadm settle', count: 1, totalMs: 200 },
    ]);
    assert.equal(formatExecTally(tally), '  2 x iscsiadm -m node -S: 200 ms\n  1 x udevadm settle: 200 ms\n  = 3 commands, 400 ms');
    assert.equal(tallyExecLines(log).length, 3, 'without a component every exec line counts');
  });
});

describe('benchLogLevel', () => {
  it('is info unless the environment or the project\'s .e2e-work/bench-log-level names a level', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vbs-bench-'));
    try {
      assert.equal(benchLogLevel(root, {}), 'info');
      assert.equal(benchLogLevel(root, { VBS_BENCH_LOG_LEVEL: 'debug' }), 'debug');
      assert.equal(benchLogLevel(root, { VBS_BENCH_LOG_LEVEL: 'chatty' }), 'info', 'an unknown level falls back to info');
      await mkdir(join(root, '.e2e-work'));
      await writeFile(join(root, '.e2e-work', 'bench-log-level'), 'debug\n');
      assert.equal(benchLogLevel(root, {}), 'debug');
      assert.equal(benchLogLevel(root, { VBS_BENCH_LOG_LEVEL: 'warn' }), 'warn', 'the environment wins');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
