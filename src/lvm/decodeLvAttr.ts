import { LvmReportError } from './LvmReportError.ts';

/** The ten lv_attr characters, decoded (lvs(8) NOTES: "The lv_attr bits are"). */
export interface LvAttr {
  /** Position 1. Thin LVs and their snapshots are both 'thin-volume'; `origin` tells them apart. */
  readonly volumeType: LvVolumeType;
  /** Position 2. */
  readonly permissions: 'writeable' | 'read-only' | 'read-only-activation';
  /** Position 3, lower-cased; `isAllocationLocked` is its capitalisation. */
  readonly allocationPolicy: 'anywhere' | 'contiguous' | 'inherited' | 'cling' | 'normal';
  readonly isAllocationLocked: boolean;
  /** Position 4. */
  readonly hasFixedMinor: boolean;
  /** Position 5. */
  readonly state: LvState;
  /** Position 6: something holds the device open (a mount, LIO's iblock backstore...); undefined when lvm could not tell ('X'). */
  readonly isOpen: boolean | undefined;
  /** Position 7. */
  readonly targetType: 'cache' | 'mirror' | 'raid' | 'snapshot' | 'thin' | 'unknown' | 'virtual' | 'none';
  /** Position 8: newly allocated blocks are zeroed before use (thin pools: -Z y, docs/field-notes.md 3.6). */
  readonly isZeroing: boolean;
  /** Position 9. For thin pools 'out-of-data' and 'metadata-read-only' are the alarms (docs/field-notes.md 3.3). */
  readonly health: LvHealth;
  /** Position 10: 'k', the activation-skip flag thin snapshots get by default (docs/field-notes.md 3.5). */
  readonly hasActivationSkip: boolean;
}

export type LvVolumeType =
  | 'plain' | 'cache' | 'mirrored' | 'mirrored-not-synced' | 'origin' | 'origin-merging'
  | 'raid' | 'raid-not-synced' | 'snapshot' | 'snapshot-merging' | 'pvmove' | 'virtual'
  | 'image' | 'image-out-of-sync' | 'mirror-log' | 'under-conversion' | 'thin-volume'
  | 'thin-pool' | 'thin-pool-data' | 'vdo-pool' | 'vdo-pool-data' | 'metadata';

export type LvState =
  | 'inactive' | 'active' | 'historical' | 'suspended' | 'invalid-snapshot'
  | 'invalid-suspended-snapshot' | 'snapshot-merge-failed' | 'suspended-snapshot-merge-failed'
  | 'mapped-without-tables' | 'mapped-inactive-table' | 'thin-pool-check-needed'
  | 'suspended-thin-pool-check-needed' | 'unknown';

export type LvHealth =
  | 'ok' | 'partial' | 'unknown' | 'refresh-needed' | 'mismatches' | 'writemostly' | 'reshaping'
  | 'remove-after-reshape' | 'failed' | 'out-of-data' | 'metadata-read-only' | 'error';

const VOLUME_TYPES: Readonly<Record<string, LvVolumeType>> = {
  '-': 'plain', C: 'cache', m: 'mirrored', M: 'mirrored-not-synced', o: 'origin', O: 'origin-merging',
  r: 'raid', R: 'raid-not-synced', s: 'snapshot', S: 'snapshot-merging', p: 'pvmove', v: 'virtual',
  i: 'image', I: 'image-out-of-sync', l: 'mirror-log', c: 'under-conversion', V: 'thin-volume',
  t: 'thin-pool', T: 'thin-pool-data', d: 'vdo-pool', D: 'vdo-pool-data', e: 'metadata',
};
const PERMISSIONS: Readonly<Record<string, LvAttr['permissions']>> = { w: 'writeable', r: 'read-only', R: 'read-only-activation' };
const ALLOCATION: Readonly<Record<string, LvAttr['allocationPolicy']>> = { a: 'anywhere', c: 'contiguous', i: 'inherited', l: 'cling', n: 'normal' };
const STATES: Readonly<Record<string, LvState>> = {
  '-': 'inactive', a: 'active', h: 'historical', s: 'suspended', I: 'invalid-snapshot',
  S: 'invalid-suspended-snapshot', m: 'snapshot-merge-failed', M: 'suspended-snapshot-merge-failed',
  d: 'mapped-without-tables', i: 'mapped-inactive-table', c: 'thin-pool-check-needed',
  C: 'suspended-thin-pool-check-needed', X: 'unknown',
};
const TARGET_TYPES: Readonly<Record<string, LvAttr['targetType']>> = {
  '-': 'none', C: 'cache', m: 'mirror', r: 'raid', s: 'snapshot', t: 'thin', u: 'unknown', v: 'virtual',
};
/** 'm' means mismatches for RAID and 'M' metadata read-only for thin pools: distinct letters, one table. */
const HEALTH: Readonly<Record<string, LvHealth>> = {
  '-': 'ok', p: 'partial', X: 'unknown', r: 'refresh-needed', m: 'mismatches', w: 'writemostly',
  s: 'reshaping', R: 'remove-after-reshape', F: 'failed', D: 'out-of-data', M: 'metadata-read-only', E: 'error',
};

/**
 * Decodes an lv_attr string. Throws LvmReportError on a wrong length or a letter lvs(8) does not
 * document, rather than guessing: a misread "active" or "out of data" would do more harm than a
 * loud failure after an lvm upgrade.
 */
export function decodeLvAttr(attr: string): LvAttr {
  if (attr.length !== 10) throw new LvmReportError(`lv_attr ${JSON.stringify(attr)} should have 10 characters`);
  const at = (i: number): string => attr[i]!;
  const allocation = at(2);
  return {
    volumeType: lookup(VOLUME_TYPES, at(0), 1, attr),
    permissions: lookup(PERMISSIONS, at(1), 2, attr),
    allocationPolicy: lookup(ALLOCATION, allocation.toLowerCase(), 3, attr),
    isAllocationLocked: allocation !== allocation.toLowerCase(),
    hasFixedMinor: flag(at(3), 'm', 4, attr),
    state: lookup(STATES, at(4), 5, attr),
    isOpen: lookup<boolean | undefined>({ '-': false, o: true, X: undefined }, at(5), 6, attr),
    targetType: lookup(TARGET_TYPES, at(6), 7, attr),
    isZeroing: flag(at(7), 'z', 8, attr),
    health: lookup(HEALTH, at(8), 9, attr),
    hasActivationSkip: flag(at(9), 'k', 10, attr),
  };
}

function lookup<T>(table: Readonly<Record<string, T>>, ch: string, position: number, attr: string): T {
  if (!Object.hasOwn(table, ch)) throw new LvmReportError(`lv_attr ${JSON.stringify(attr)}: unknown letter '${ch}' at position ${position}`);
  return table[ch]!;
}

function flag(ch: string, set: string, position: number, attr: string): boolean {
  if (ch === set) return true;
  if (ch === '-') return false;
  throw new LvmReportError(`lv_attr ${JSON.stringify(attr)}: unknown letter '${ch}' at position ${position}`);
}
