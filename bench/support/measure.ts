import type { ScenarioContext } from '../../e2e/scenarios/Scenario.ts';
import { formatBenchRecord } from '../lib/benchRecord.ts';
import type { Comparison } from '../lib/comparison.ts';

/** Runs `fn` and resolves with its wall time in milliseconds (rounded to 0.1 ms). */
export async function measureMs(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return Math.round((performance.now() - started) * 10) / 10;
}

/** Puts a comparison in the scenario's log, where the host's `npm run bench` finds it. */
export function recordComparison(ctx: ScenarioContext, comparison: Comparison): void {
  ctx.log(formatBenchRecord(comparison));
}

/**
 * Runs the driver's step and the baseline's one after the other, the driver first in even rounds
 * and the baseline first in odd ones, so a host that speeds up or slows down weighs on both alike.
 */
export async function inAlternatingOrder(round: number, driverStep: () => Promise<void>, baselineStep: () => Promise<void>): Promise<void> {
  if (round % 2 === 0) {
    await driverStep();
    await baselineStep();
  } else {
    await baselineStep();
    await driverStep();
  }
}
