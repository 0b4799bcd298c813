import { setTimeout as timeout } from 'node:timers/promises';

/** Waits ms, or rejects with the signal's own reason (not a generic AbortError) when it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await timeout(ms, undefined, signal ? { signal } : {});
  } catch (err: unknown) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}
