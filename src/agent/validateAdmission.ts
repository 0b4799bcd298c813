import { ResourceExhaustedError } from '../errors.ts';
import type { LogicalVolume, ThinPool, VolumeGroup } from '../lvm/index.ts';

/**
 * Admission of new space, pure (field notes 3.3, 3.4). Until the node status module's
 * checkThinAdmission is shared, the agent applies the same policy here:
 *   allocatable = max(0, floor(pool size × ratio) − provisioned), and nothing at all while the pool
 *   is unhealthy, inactive, or at or over its data or metadata limit.
 */
export interface ThinPolicy {
  readonly overprovisionRatio: number;
  readonly dataLimitPercent: number;
  readonly metadataLimitPercent: number;
}

/** Sum of the virtual sizes of every thin LV in the pool, parked snapshots and foreign thin LVs included. */
export function sumProvisionedBytes(lvs: readonly LogicalVolume[], poolName: string): number {
  return lvs.filter((lv) => lv.isThin && lv.pool === poolName).reduce((sum, lv) => sum + lv.sizeBytes, 0);
}

/**
 * Throws ResourceExhaustedError unless `requestBytes` more (already rounded to extents) may be
 * promised from the pool. `countsTowardRatio: false` (snapshots) checks only the pool's state
 * and fill limits: a snapshot promises no new space to a consumer, but a full pool must not take
 * on more metadata either.
 */
export function validateThinAdmission(
  pool: ThinPool,
  provisionedBytes: number,
  requestBytes: number,
  policy: ThinPolicy,
  opts: { readonly countsTowardRatio: boolean } = { countsTowardRatio: true },
): void {
  const name = `${pool.vgName}/${pool.name}`;
  const refuse = (why: string, fix: string): never => {
    throw new ResourceExhaustedError(`thin pool ${name} cannot take ${requestBytes} more bytes: ${why}; ${fix}`);
  };
  if (pool.health !== 'ok') refuse(`the pool is ${pool.health}`, 'repair or extend the pool (lvs -a, lvextend, lvconvert --repair) first');
  if (!pool.isActive) refuse('the pool is not active, so its fill level is unknown', `activate it (lvchange -ay ${name})`);
  if (pool.metadataPercent >= policy.metadataLimitPercent) {
    refuse(`metadata is ${pool.metadataPercent}% full, at or over the ${policy.metadataLimitPercent}% limit`, `extend the metadata (lvextend --poolmetadatasize +<size> ${name})`);
  }
  if (pool.dataPercent >= policy.dataLimitPercent) {
    refuse(`data is ${pool.dataPercent}% full, at or over the ${policy.dataLimitPercent}% limit`, `extend the pool (lvextend -L +<size> ${name}) or free space (fstrim, delete volumes or snapshots)`);
  }
  if (!opts.countsTowardRatio) return;
  const promisable = Math.floor(pool.sizeBytes * policy.overprovisionRatio);
  if (provisionedBytes + requestBytes > promisable) {
    refuse(
      `${provisionedBytes} bytes are already provisioned of ${promisable} the pool may promise (size ${pool.sizeBytes} × over-provisioning ratio ${policy.overprovisionRatio})`,
      'extend the pool, delete volumes or snapshots, or raise the over-provisioning ratio',
    );
  }
}

/** Thick LVs take real extents: throws ResourceExhaustedError unless the VG has `requestBytes` free. */
export function validateThickAdmission(vg: VolumeGroup, requestBytes: number): void {
  if (requestBytes > vg.freeBytes) {
    throw new ResourceExhaustedError(`volume group ${vg.name} has ${vg.freeBytes} bytes free, ${requestBytes} requested for a thick volume; add a physical volume (vgextend) or delete volumes`);
  }
}
