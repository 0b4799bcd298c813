import { setTimeout as delay } from 'node:timers/promises';

export interface PollOptions {
  /** Absolute deadline, in Date.now() milliseconds. */
  readonly deadlineMs: number;
  /** What is awaited, for the timeout message ("the guest's first init marker"). */
  readonly what: string;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

export class PollTimeoutError extends Error {
  override readonly name = 'PollTimeoutError';
}

/**
 * Calls `check` until it returns something other than undefined, or the deadline passes.
 * `check` may throw to stop early (e.g. "qemu exited"): that error propagates as is.
 */
export async function pollUntil<T>(check: () => T | undefined | Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const intervalMs = opts.intervalMs ?? 250;
  for (;;) {
    opts.signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined) return value;
    const leftMs = opts.deadlineMs - Date.now();
    if (leftMs <= 0) throw new PollTimeoutError(`timed out waiting for ${opts.what}`);
    await delay(Math.min(intervalMs, leftMs), undefined, opts.signal ? { signal: opts.signal } : {});
  }
}
