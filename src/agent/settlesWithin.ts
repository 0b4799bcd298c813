/**
 * Waits for `work` at most `ms`: true once it has settled (its rejection is rethrown), false when it
 * is still running. The work is not cancelled: a configfs write the kernel blocks cannot be, so the
 * caller decides what stays held until it ends.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
