import type { Logger } from 'pino';
import { FailedPreconditionError } from '../errors.ts';
import type { Lvm, ThinPool } from '../lvm/index.ts';

/** What an operator reads when the pool does not zero: the leak and the fix. */
export function thinPoolNotZeroing(pool: Pick<ThinPool, 'vgName' | 'name'>): string {
  const where = `${pool.vgName}/${pool.name}`;
  return (
    `thin pool ${where} does not zero the blocks it provisions (lvs -o zero ${where} shows it), so a thin volume could read data ` +
    `of a deleted one; the agent turns zeroing on at each reconcile, or run lvchange -Z y ${where}`
  );
}

/**
 * Turns the thin pool's zeroing on if it is off (lvmthin(7): with zeroing off, a block newly
 * provisioned to a thin LV keeps whatever a deleted LV left in it, and a write smaller than the
 * pool's chunk leaves the rest readable). Fixed rather than refused: every thin volume already
 * here keeps provisioning blocks as its tenant writes, so a refusal would stop new volumes yet
 * let existing ones keep leaking, and the agent owns the pool (README, the agent's --thin-pool).
 * Zeroing costs only writes that cover part of a new chunk. lvm's default is on
 * (thin_pool_zero in lvm.conf), so off is a choice someone made; the warning says it is undone.
 * Throws FailedPreconditionError when the pool still does not zero afterwards. Reads the pool
 * from the remembered report, which the caller (reconcile) has just renewed.
 */
export async function ensureThinPoolZeroes(lvm: Pick<Lvm, 'readPoolAndVolumes' | 'enableThinPoolZeroing'>, log: Logger, signal: AbortSignal | undefined): Promise<void> {
  const { pool } = await lvm.readPoolAndVolumes(signal);
  if (pool.isZeroing) return;
  log.warn({ pool: `${pool.vgName}/${pool.name}` }, 'the thin pool does not zero new blocks, so thin volumes could read deleted volumes\' data; turning zeroing on (lvchange -Z y)');
  let after: ThinPool;
  try {
    after = await lvm.enableThinPoolZeroing(signal);
  } catch (err: unknown) {
    throw new FailedPreconditionError(`${thinPoolNotZeroing(pool)}; lvchange -Z y failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!after.isZeroing) throw new FailedPreconditionError(`${thinPoolNotZeroing(pool)}; lvchange -Z y did not turn it on`);
}
