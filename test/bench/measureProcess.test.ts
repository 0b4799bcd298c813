import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { measureProcess } from '../../bench/memory/measureProcess.ts';

describe('measureProcess', () => {
  test('VmRSS before the rounds, after each round, sampled in between, and VmHWM at the end', async () => {
    let rss = 100;
    let hwm = 100;
    const read = async () => `VmHWM:\t${hwm} kB\nVmRSS:\t${rss} kB\n`;
    const rounds: number[] = [];
    const memory = await measureProcess({
      pid: 1,
      rounds: 2,
      intervalMs: 60_000, // only the samples taken at round ends and at stop()
      read,
      round: async (i) => {
        rounds.push(i);
        rss = i === 0 ? 180 : 150;
        hwm = Math.max(hwm, i === 0 ? 260 : 150);
      },
    });
    assert.deepEqual(rounds, [0, 1]);
    assert.equal(memory.idleRssKiB, 100);
    assert.deepEqual(memory.roundEndRssKiB, [180, 150]);
    assert.equal(memory.phase.lastRssKiB, 150);
    assert.equal(memory.hwmKiB, 260);
  });
  test('a round that fails stops the sampler and fails the measurement with its own error', async () => {
    await assert.rejects(
      measureProcess({ pid: 1, rounds: 3, intervalMs: 1, read: async () => 'VmHWM:\t1 kB\nVmRSS:\t1 kB\n', round: async () => Promise.reject(new Error('ListVolumes failed mid-way')) }),
      /ListVolumes failed mid-way/,
    );
  });
});
