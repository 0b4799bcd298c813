/**
 * The record of a replicated volume's copies (docs/replication.md): which storage nodes hold a
 * copy, in which raid1 slot, and which copies hold every acknowledged write. Every copy's LV
 * carries it in its tags (src/agent owns the encoding), so it survives the loss of any single
 * node and of the controller, and the node plugin reads it before it assembles the mirror: a
 * copy outside `inSync` of the highest generation any reachable copy holds is stale, and the
 * volume is never assembled from stale copies alone (src/replication/assembly.ts).
 *
 * Pure: no I/O here.
 */

export const MiB = 1024 * 1024;

/**
 * Bytes at the start of every copy's LV that hold dm-raid's metadata for that leg (superblock in
 * the first 4 KiB, write-intent bitmap after it; kernel Documentation/admin-guide/device-mapper/dm-raid.rst).
 * The data starts after them. One LV per copy (not a separate metadata LV) so that a snapshot of
 * a copy takes its data and bitmap at one instant, and growing the LV grows only the data.
 * 4 MiB is what LVM gives a raid1 leg's rmeta (one default extent); the bitmap of 2^21 regions
 * (dm-raid's limit) takes 256 KiB of it.
 */
export const MIRROR_HEADER_BYTES = 4 * MiB;

export const MIN_COPIES = 1;
export const MAX_COPIES = 3;

/**
 * dm-raid refuses a region size that gives more than 2^21 regions (dm-raid.c validate_region_size),
 * and the region is the unit of bitmap resync. 2 MiB is LVM's default raid region
 * (lvm.conf raid_region_size); a larger volume gets the next power of two that fits.
 */
export const MIN_REGION_BYTES = 2 * MiB;
export const MAX_REGIONS = 2 ** 21;

export interface MirrorCopy {
  /** The storage node that holds this copy (its agent's name). */
  readonly node: string;
  /** Whether the copy holds every write acknowledged up to this generation. */
  readonly inSync: boolean;
}

export interface MirrorRecord {
  /** Raised by one on every change; a record with a higher generation supersedes a lower one. */
  readonly generation: number;
  /** The copies in raid1 slot order (slot = index): the node assembles leg i from copies[i]. */
  readonly copies: readonly MirrorCopy[];
  /** dm-raid's region_size in bytes (a power of two, at least MIN_REGION_BYTES). */
  readonly regionBytes: number;
}

/** The region size for a volume of this many data bytes (see MIN_REGION_BYTES). */
export function regionBytesFor(sizeBytes: number): number {
  let region = MIN_REGION_BYTES;
  while (region * MAX_REGIONS < sizeBytes) region *= 2;
  return region;
}

/** The largest data size a record's region size allows (expansion beyond it is refused). */
export function maxBytesFor(regionBytes: number): number {
  return regionBytes * MAX_REGIONS;
}

/** The first record of a new replicated volume: generation 1, every copy in sync (all blank). */
export function initialMirrorRecord(nodes: readonly string[], sizeBytes: number): MirrorRecord {
  return { generation: 1, copies: nodes.map((node) => ({ node, inSync: true })), regionBytes: regionBytesFor(sizeBytes) };
}

/** The next record with these slots out of sync; the same record when nothing changes. */
export function markOutOfSync(record: MirrorRecord, slots: readonly number[]): MirrorRecord {
  if (!slots.some((s) => record.copies[s]?.inSync === true)) return record;
  return { ...record, generation: record.generation + 1, copies: record.copies.map((c, i) => (slots.includes(i) ? { ...c, inSync: false } : c)) };
}

/** The next record with every copy in sync (after a completed resync); the same record when already so. */
export function markAllInSync(record: MirrorRecord): MirrorRecord {
  if (record.copies.every((c) => c.inSync)) return record;
  return { ...record, generation: record.generation + 1, copies: record.copies.map((c) => ({ ...c, inSync: true })) };
}

/** Whether two records say the same thing. */
export function sameRecord(a: MirrorRecord, b: MirrorRecord): boolean {
  return (
    a.generation === b.generation &&
    a.regionBytes === b.regionBytes &&
    a.copies.length === b.copies.length &&
    a.copies.every((c, i) => c.node === b.copies[i]?.node && c.inSync === b.copies[i]?.inSync)
  );
}

/** What is wrong with a record, or undefined when it is well formed. */
export function checkMirrorRecord(record: MirrorRecord): string | undefined {
  if (!Number.isSafeInteger(record.generation) || record.generation < 1) return `generation ${record.generation} is not a positive integer`;
  if (record.copies.length < MIN_COPIES || record.copies.length > MAX_COPIES) return `${record.copies.length} copies; a volume has ${MIN_COPIES} to ${MAX_COPIES}`;
  if (new Set(record.copies.map((c) => c.node)).size !== record.copies.length) return 'two copies on one storage node';
  if (!record.copies.some((c) => c.inSync)) return 'no copy is in sync';
  const r = record.regionBytes;
  if (!Number.isSafeInteger(r) || r < MIN_REGION_BYTES || (r & (r - 1)) !== 0) return `region size ${r} is not a power of two of at least ${MIN_REGION_BYTES}`;
  return undefined;
}

/**
 * The record that rules among those read from the copies that answered: the highest generation.
 * Two different records of one generation mean two writers raced, which the compare-and-set on
 * every copy (the agent's setMirrorRecord) prevents; they are reported, never guessed between.
 */
export function newestRecord(records: readonly MirrorRecord[]): { readonly record: MirrorRecord } | { readonly conflict: string } | undefined {
  let best: MirrorRecord | undefined;
  for (const r of records) {
    if (!best || r.generation > best.generation) best = r;
    else if (r.generation === best.generation && !sameRecord(r, best)) return { conflict: `two different records of generation ${r.generation}` };
  }
  return best ? { record: best } : undefined;
}
