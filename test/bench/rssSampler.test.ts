import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RssSampler } from '../../bench/memory/rssSampler.ts';

const status = (rssKiB: number, hwmKiB = rssKiB) => `Name:\tMainThread\nVmHWM:\t${hwmKiB} kB\nVmRSS:\t${rssKiB} kB\n`;

/** A reader that answers the given VmRSS figures in turn, the last one forever after. */
function readerOf(figures: readonly number[]) {
  let i = 0;
  const pids: number[] = [];
  return {
    pids,
    read: async (pid: number) => {
      pids.push(pid);
      return status(figures[Math.min(i++, figures.length - 1)]!);
    },
  };
}

describe('RssSampler', () => {
  test('keeps the first, largest and last VmRSS it sampled, and stop() takes one more sample', async () => {
    const reader = readerOf([100, 300, 200, 150]);
    const sampler = new RssSampler({ pid: 42, read: reader.read });
    await sampler.sample();
    await sampler.sample();
    await sampler.sample();
    assert.deepEqual(await sampler.stop(), { samples: 4, firstRssKiB: 100, peakRssKiB: 300, lastRssKiB: 150 });
    assert.deepEqual(reader.pids, [42, 42, 42, 42]);
  });
  test('read() reports the figures without counting as a sample', async () => {
    const sampler = new RssSampler({ pid: 7, read: async () => status(120, 500) });
    assert.deepEqual(await sampler.read(), { vmRssKiB: 120, vmHwmKiB: 500 });
    assert.equal((await sampler.stop()).samples, 1);
  });
  test('samples on its interval once started', async () => {
    const reader = readerOf([10, 20, 30, 40]);
    const third = Promise.withResolvers<void>();
    const sampler = new RssSampler({
      pid: 1,
      intervalMs: 1,
      read: async (pid) => {
        const text = await reader.read(pid);
        if (reader.pids.length === 3) third.resolve();
        return text;
      },
    });
    sampler.start();
    await third.promise;
    const trace = await sampler.stop();
    assert.ok(trace.samples >= 4, `${trace.samples} samples`);
    assert.equal(trace.firstRssKiB, 10);
    assert.equal(trace.peakRssKiB, 40);
  });
  test('a read that fails on the interval (the process died) makes stop() throw it', async () => {
    const failed = Promise.withResolvers<void>();
    const sampler = new RssSampler({
      pid: 1,
      intervalMs: 1,
      read: async () => {
        failed.resolve();
        throw Object.assign(new Error('ENOENT: no such file or directory, open /proc/1/status'), { code: 'ENOENT' });
      },
    });
    sampler.start();
    await failed.promise;
    await assert.rejects(sampler.stop(), /ENOENT/);
  });
});
