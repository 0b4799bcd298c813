import type { ScenarioContext } from '../scenarios/Scenario.ts';
import { retryCsi } from './controllerBed.ts';

export interface StepClock {
  /** Runs one step, logs `[t s] what: N ms` when it ends (or `FAILED after N ms`), and keeps the timing for summary(). */
  timed<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /** Logs a line with the time since the scenario began. */
  note(what: string): void;
  /** Every step's timing, in order, as one line. */
  summary(): string;
}

export function createStepClock(ctx: ScenarioContext): StepClock {
  const t0 = performance.now();
  const timings: string[] = [];
  const at = () => `[${((performance.now() - t0) / 1000).toFixed(1)} s]`;
  return {
    async timed(what, fn) {
      const started = performance.now();
      try {
        const result = await fn();
        const ms = Math.round(performance.now() - started);
        timings.push(`${what} ${ms} ms`);
        ctx.log(`${at()} ${what}: ${ms} ms`);
        return result;
      } catch (err: unknown) {
        ctx.log(`${at()} ${what}: FAILED after ${Math.round(performance.now() - started)} ms`);
        throw err;
      }
    },
    note: (what) => ctx.log(`${at()} ${what}`),
    summary: () => timings.join('; '),
  };
}

/**
 * The same clock, but each step is retried on ABORTED and UNAVAILABLE as a CO (kubelet,
 * external-provisioner/attacher) retries, for up to `retryForMs`; each retry is logged.
 */
export function retryingAsCo(clock: StepClock, signal: AbortSignal, retryForMs = 300_000): StepClock {
  return {
    ...clock,
    timed: (what, fn) =>
      clock.timed(what, () =>
        retryCsi(fn, { deadlineMs: Date.now() + retryForMs, signal, onRetry: (code, err) => clock.note(`${what}: code ${code}, retried as a CO would (${err.message.split('\n')[0]})`) }),
      ),
  };
}
