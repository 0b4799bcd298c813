import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeRunner } from '../../../test/fakes/FakeRunner.ts';
import { InvalidArgumentError } from '../../errors.ts';
import { BlkdiscardZeroer } from './BlkdiscardZeroer.ts';

describe('BlkdiscardZeroer', () => {
  test('zeroes the range with blkdiscard --zeroout (BLKZEROOUT), with a timeout that grows with the length', async () => {
    const runner = new FakeRunner().on(['blkdiscard'], {});
    await new BlkdiscardZeroer({ runner, bytesPerSecondFloor: 1024 * 1024 }).zeroRange('/dev/vg0/vbs-vol-x', 4096, 10 * 1024 * 1024, new AbortController().signal);
    assert.deepEqual(runner.argvsMatching(['blkdiscard']), [['blkdiscard', '--zeroout', '--force', '--offset', '4096', '--length', String(10 * 1024 * 1024), '/dev/vg0/vbs-vol-x']]);
    assert.equal(runner.calls[0]?.timeoutMs, 70_000);
  });

  test('refuses anything but an LV device path and whole sectors, and runs nothing for an empty range', async () => {
    const runner = new FakeRunner();
    const z = new BlkdiscardZeroer({ runner });
    const signal = new AbortController().signal;
    for (const path of ['/dev/sda', '/dev/vg0/../sda', '/dev/../sda', '/dev/vg0/..', '-f', '/dev/vg0/lv x']) await assert.rejects(z.zeroRange(path, 0, 512, signal), InvalidArgumentError, path);
    await assert.rejects(z.zeroRange('/dev/vg0/lv', 1, 512, signal), InvalidArgumentError);
    await assert.rejects(z.zeroRange('/dev/vg0/lv', 0, 100, signal), InvalidArgumentError);
    await z.zeroRange('/dev/vg0/lv', 0, 0, signal);
    assert.deepEqual(runner.calls, []);
  });
});
