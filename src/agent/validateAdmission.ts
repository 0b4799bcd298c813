import { ResourceExhaustedError } from '../errors.ts';
import type { ThinPool, VolumeGroup } from '../lvm/index.ts';
import { checkThinAdmission, computeThinPoolStatus } from './status/index.ts';
import type { ThinCapacityPolicy } from './status/index.ts';

/**
 * Admission of new space, pure (docs/field-notes.md 3.3, 3.4): the node status module's pool capacity
 * (what GetNodeStatus reports to placement) decides, so the agent refuses exactly what it does
 * not advertise; this adds what an operator can do about a refusal.
 */
const THIN_REMEDY = 'extend the pool (lvextend -L +<size>, or --poolmetadatasize +<size> for metadata), delete volumes or snapshots, or raise the over-provisioning ratio';

export { sumProvisionedBytes } from './status/index.ts';

/**
 * Throws ResourceExhaustedError unless `requestBytes` more (already rounded to extents) may be
 * promised from the pool. `countsTowardRatio: false` (snapshots) checks only the pool's health
 * and fill limits: a snapshot promises no new space to a consumer, but a pool at its limits must
 * not take on more metadata either.
 */
export function validateThinAdmission(
  pool: ThinPool,
  provisionedBytes: number,
  requestBytes: number,
  policy: ThinCapacityPolicy,
  opts: { readonly countsTowardRatio: boolean } = { countsTowardRatio: true },
): void {
  const status = computeThinPoolStatus({
    name: `${pool.vgName}/${pool.name}`,
    poolSizeBytes: pool.sizeBytes,
    dataPercent: pool.dataPercent,
    metadataPercent: pool.metadataPercent,
    provisionedBytes,
    ...policy,
    // An inactive pool reports no fill level, so it admits nothing until it is active again.
    health: pool.isActive ? pool.health : 'inactive',
  });
  const refusal = opts.countsTowardRatio ? checkThinAdmission(status, requestBytes) : status.health === 'ok' ? undefined : `thin pool ${status.name}: ${status.health}`;
  if (refusal !== undefined) throw new ResourceExhaustedError(`${refusal}; ${THIN_REMEDY}`);
}

/** Thick LVs take real extents: throws ResourceExhaustedError unless the VG has `requestBytes` free. */
export function validateThickAdmission(vg: VolumeGroup, requestBytes: number): void {
  if (requestBytes > vg.freeBytes) {
    throw new ResourceExhaustedError(`volume group ${vg.name} has ${vg.freeBytes} bytes free, ${requestBytes} requested for a thick volume; add a physical volume (vgextend) or delete volumes`);
  }
}
