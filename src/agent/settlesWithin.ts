/**
 * Waits for `work` at most `ms`: true once it has settled (its rejection is rethrown), false when it
 * is still running. The work is not cancelled: a configfs write the kernel blocks cannot be, and a
 * zeroing job goes on for the CO's retry, so the caller decides what stays held until it ends.
 * An aborted signal rejects with its reason.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
      new Promise<never>((_, reject) => {
        if (!signal) return;
        onAbort = () => reject(signal.reason as Error);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
