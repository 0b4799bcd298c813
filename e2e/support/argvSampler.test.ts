import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { countIscsiadm, parseCmdline, readArgvSamples, startArgvSampler } from './argvSampler.ts';

describe('argv sampler', () => {
  test('splits /proc/<pid>/cmdline at NULs and drops the trailing one', () => {
    assert.deepEqual(parseCmdline(Buffer.from('iscsiadm\0-m\0node\0\0-v\0x\0')), ['iscsiadm', '-m', 'node', '', '-v', 'x']);
    assert.deepEqual(parseCmdline(Buffer.alloc(0)), []);
  });

  test('counts iscsiadm runs by the program name, with or without a path', () => {
    const samples = [{ pid: 1, argv: ['/usr/sbin/iscsiadm', '-m', 'node'] }, { pid: 2, argv: ['iscsiadm'] }, { pid: 3, argv: ['node', 'iscsiadm'] }];
    assert.equal(countIscsiadm(samples), 2);
  });

  test('the sampler process records a short-lived child with its own argv', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vbs-argv-'));
    try {
      const file = join(dir, 'samples.jsonl');
      writeFileSync(file, '');
      const sampler = startArgvSampler(join(import.meta.dirname, '..', '..'), file);
      await new Promise((r) => setTimeout(r, 1500));
      const { execFileSync } = await import('node:child_process');
      execFileSync('sh', ['-c', `sleep 0.3; : marker-${process.pid}`]);
      await new Promise((r) => setTimeout(r, 300));
      sampler.stop();
      await new Promise((r) => sampler.child.once('exit', r));
      const samples = readArgvSamples(file);
      assert.ok(samples.some((s) => s.argv.join(' ').includes(`marker-${process.pid}`)), JSON.stringify(samples.slice(-5)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
