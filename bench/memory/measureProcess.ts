import { RssSampler } from './rssSampler.ts';
import type { RssTrace, StatusReader } from './rssSampler.ts';

/** One process's memory over a measured phase, in KiB as /proc reports it. */
export interface ProcessMemory {
  /** VmRSS once the process serves, before the phase. */
  readonly idleRssKiB: number;
  /** VmRSS sampled through the phase. */
  readonly phase: RssTrace;
  /** VmRSS at the end of each round of the workload (growth from round to round hints at a leak). */
  readonly roundEndRssKiB: readonly number[];
  /** VmHWM read at the end: the largest resident set since the process started. */
  readonly hwmKiB: number;
  readonly phaseMs: number;
}

/**
 * Measures a running process (already serving) while `round` runs `rounds` times: VmRSS before,
 * sampled during and after each round, then VmHWM.
 */
export async function measureProcess(opts: {
  readonly pid: number;
  readonly rounds: number;
  readonly intervalMs?: number;
  readonly read?: StatusReader;
  readonly round: (index: number) => Promise<void>;
}): Promise<ProcessMemory> {
  const sampler = new RssSampler({ pid: opts.pid, ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}), ...(opts.read ? { read: opts.read } : {}) });
  const idle = await sampler.read();
  const started = performance.now();
  sampler.start();
  const roundEndRssKiB: number[] = [];
  try {
    for (let i = 0; i < opts.rounds; i++) {
      await opts.round(i);
      roundEndRssKiB.push((await sampler.read()).vmRssKiB);
    }
  } catch (err: unknown) {
    await sampler.stop().catch(() => undefined); // the workload's error is the one to report
    throw err;
  }
  const phase = await sampler.stop();
  const phaseMs = performance.now() - started;
  const { vmHwmKiB } = await sampler.read();
  return { idleRssKiB: idle.vmRssKiB, phase, roundEndRssKiB, hwmKiB: vmHwmKiB, phaseMs };
}
