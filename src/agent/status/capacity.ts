import { InvalidArgumentError } from '../../errors.ts';
import type { ThinPoolStatus__Output } from '../../generated/vbs/agent/v1/ThinPoolStatus.ts';
import type { LogicalVolume } from '../../lvm/index.ts';

/** How far the agent lets thin volumes promise more than the pool holds, and when it stops. */
export interface ThinCapacityPolicy {
  /** Provisioned (virtual) bytes may reach pool size × this; 1 = no over-provisioning. */
  readonly overprovisionRatio: number;
  /** No new thin volume once the pool's data use is at or above this percent (docs/field-notes.md 3.3). */
  readonly dataLimitPercent: number;
  /** Same for metadata, whose exhaustion can make the pool read-only (docs/field-notes.md 3.3). */
  readonly metadataLimitPercent: number;
}

export interface ThinPoolFigures extends ThinCapacityPolicy {
  /** Shown in ThinPoolStatus.name and in admission messages: `<vg>/<pool>`, as lvm names LVs. */
  readonly name: string;
  readonly poolSizeBytes: number;
  readonly dataPercent: number;
  readonly metadataPercent: number;
  /** Sum of the virtual sizes of the thin LVs in the pool. */
  readonly provisionedBytes: number;
  /** 'ok', or lvm's word for what is wrong with the pool ('out-of-data', 'metadata-read-only', ...). */
  readonly health: string;
}

/** Throws InvalidArgumentError unless the ratio is positive and both limits are percentages above 0. */
export function validateThinCapacityPolicy(policy: ThinCapacityPolicy): void {
  const problems: string[] = [];
  if (!(Number.isFinite(policy.overprovisionRatio) && policy.overprovisionRatio > 0)) {
    problems.push(`overprovision ratio must be a positive number, got ${policy.overprovisionRatio}`);
  }
  for (const [what, value] of [['data', policy.dataLimitPercent], ['metadata', policy.metadataLimitPercent]] as const) {
    if (!(Number.isFinite(value) && value > 0 && value <= 100)) problems.push(`${what} limit must be a percentage in (0, 100], got ${value}`);
  }
  if (problems.length > 0) throw new InvalidArgumentError(`thin capacity policy: ${problems.join('; ')}`);
}

/**
 * The pool's capacity as placement and admission see it (docs/field-notes.md 3.4: pool-based, never
 * VG free space):
 *   allocatable = max(0, floor(size × ratio) − provisioned),
 * and 0 while the pool is unhealthy or its data or metadata use is at or over its limit,
 * because new volumes would only hasten the stall every LV in a full pool suffers (3.3).
 * `health` is then the reason: lvm's health word first, then metadata, then data limit.
 */
export function computeThinPoolStatus(figures: ThinPoolFigures): ThinPoolStatus__Output {
  const health = buildHealth(figures);
  const promisable = Math.floor(figures.poolSizeBytes * figures.overprovisionRatio);
  return {
    name: figures.name,
    size_bytes: figures.poolSizeBytes,
    data_percent: figures.dataPercent,
    metadata_percent: figures.metadataPercent,
    provisioned_bytes: figures.provisionedBytes,
    overprovision_ratio: figures.overprovisionRatio,
    allocatable_bytes: health === 'ok' ? Math.max(0, promisable - figures.provisionedBytes) : 0,
    health,
  };
}

/**
 * Whether a new thin volume of `requestBytes` (already rounded up to whole extents, as lvcreate
 * will make it) fits: undefined if it does, else the sentence for a ResourceExhaustedError.
 */
export function checkThinAdmission(status: ThinPoolStatus__Output, requestBytes: number): string | undefined {
  if (status.health === 'ok' && requestBytes <= status.allocatable_bytes) return undefined;
  const details = [`pool size ${status.size_bytes}`, ...(status.health === 'ok' ? [] : [status.health])].join(', ');
  return (
    `thin pool ${status.name} has ${status.allocatable_bytes} bytes allocatable of ${status.provisioned_bytes} ` +
    `provisioned at ratio ${status.overprovision_ratio} (${details}); ${requestBytes} requested`
  );
}

function buildHealth(f: ThinPoolFigures): string {
  if (f.health !== 'ok') return f.health;
  if (f.metadataPercent >= f.metadataLimitPercent) return `metadata ${f.metadataPercent}% at or over the ${f.metadataLimitPercent}% limit`;
  if (f.dataPercent >= f.dataLimitPercent) return `data ${f.dataPercent}% at or over the ${f.dataLimitPercent}% limit`;
  return 'ok';
}

/** Sum of the virtual sizes of every thin LV in the pool, parked snapshots and foreign thin LVs included. */
export function sumProvisionedBytes(lvs: readonly LogicalVolume[], poolName: string): number {
  return lvs.filter((lv) => lv.isThin && lv.pool === poolName).reduce((sum, lv) => sum + lv.sizeBytes, 0);
}
