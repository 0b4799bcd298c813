import { MAX_VOLUME_BYTES } from '../agentApi/limits.ts';
import { InvalidArgumentError, OutOfRangeError } from '../errors.ts';
import type { CapacityRange__Output } from '../generated/csi/v1/CapacityRange.ts';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
/** A volume created with no capacity range. */
export const DEFAULT_VOLUME_BYTES = GiB;
/** xfsprogs refuses filesystems under 300 MiB (docs/field-notes.md 2.4). */
export const XFS_MIN_BYTES = 300 * MiB;

export interface CapacityRange {
  /** 0 = not set. */
  readonly requiredBytes: number;
  /** 0 = no limit. */
  readonly limitBytes: number;
}

/**
 * A CSI capacity range, checked: a negative figure is malformed (INVALID_ARGUMENT); a required size
 * above the largest volume an agent makes is a capacity the driver does not support, which CSI
 * answers OUT_OF_RANGE (also past 2^53, where int64 values stop being exact numbers here). A huge
 * limit_bytes is only a bound that never binds.
 */
export function parseCapacityRange(range: CapacityRange__Output | null | undefined): CapacityRange {
  const requiredBytes = Number(range?.required_bytes ?? 0);
  const limitBytes = Number(range?.limit_bytes ?? 0);
  for (const [field, v] of [['required_bytes', requiredBytes], ['limit_bytes', limitBytes]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`capacity_range.${field} must be a whole, non-negative number of bytes, got ${v}`);
  }
  if (requiredBytes > MAX_VOLUME_BYTES) {
    throw new OutOfRangeError(`capacity_range.required_bytes ${requiredBytes} is above the largest volume this driver makes (${MAX_VOLUME_BYTES} bytes)`);
  }
  if (limitBytes > 0 && requiredBytes > limitBytes) {
    throw new OutOfRangeError(`capacity_range.required_bytes ${requiredBytes} is above limit_bytes ${limitBytes}`);
  }
  return { requiredBytes, limitBytes };
}

/**
 * The size to ask the agent for: the request's required bytes (or the default, or the source's
 * size when a clone or restore names none), never below the source (a clone cannot shrink) or the
 * filesystem's minimum, rounded up to whole extents as LVM will; OutOfRangeError above the limit.
 */
export function chooseVolumeSize(range: CapacityRange, opts: { readonly minimumBytes: number; readonly sourceBytes?: number; readonly extentSizeBytes: number }): number {
  const wanted = range.requiredBytes > 0 ? range.requiredBytes : (opts.sourceBytes ?? Math.min(DEFAULT_VOLUME_BYTES, range.limitBytes || DEFAULT_VOLUME_BYTES));
  const floor = Math.max(wanted, opts.sourceBytes ?? 0, opts.minimumBytes);
  const extent = opts.extentSizeBytes > 0 ? opts.extentSizeBytes : 4 * MiB;
  const size = Math.ceil(floor / extent) * extent;
  if (range.limitBytes > 0 && size > range.limitBytes) {
    const why = floor > wanted ? ` (at least ${floor} bytes are needed: source size or filesystem minimum)` : '';
    throw new OutOfRangeError(`the volume would be ${size} bytes (whole ${extent}-byte extents)${why}, above limit_bytes ${range.limitBytes}`);
  }
  return size;
}

/** Whether an existing volume satisfies a repeated request's capacity range. */
export function fitsRange(sizeBytes: number, range: CapacityRange): boolean {
  return sizeBytes >= range.requiredBytes && (range.limitBytes === 0 || sizeBytes <= range.limitBytes);
}
