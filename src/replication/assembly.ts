import type { MirrorRecord } from './mirrorRecord.ts';
import { checkMirrorRecord, newestRecord } from './mirrorRecord.ts';

/** What the node plugin found of one copy before assembling the mirror. */
export interface CopyView {
  /** The copy's raid1 slot (publish_context order). */
  readonly slot: number;
  /** The storage node that holds it. */
  readonly node: string;
  /** Its session is up and its disk's serial verified: it can be a leg. */
  readonly reachable: boolean;
  /** The copies' record as this copy's agent holds it; undefined when it could not be read. */
  readonly record?: MirrorRecord | undefined;
  /**
   * Whether the copy's metadata area holds a dm-raid superblock ('present') or not ('blank': a
   * new copy never assembled yet); undefined when the copy is not reachable or it was not read.
   */
  readonly superblock?: 'present' | 'blank' | undefined;
}

export type AssemblyDecision =
  | {
      readonly kind: 'assemble';
      /** The record the assembly follows (the newest any reachable copy holds). */
      readonly record: MirrorRecord;
      /** Slots that become legs; the others are `- -` in the table. */
      readonly legs: readonly number[];
      /** Slots dm-raid must rebuild in full (`rebuild <idx>`). */
      readonly rebuild: readonly number[];
      /**
       * A new set of blank copies that already agree (every copy a new LV that reads as zeroes):
       * dm-raid's `nosync` skips the initial resync, which would read one copy and write every
       * region of the others, allocating every thin copy in full (docs/replication-kernel.md, a).
       */
      readonly nosync: boolean;
      /** Slots assembled although the record says they are out of sync (md resyncs them from the bitmap). */
      readonly stale: readonly number[];
      /** Slots missing from the assembly. */
      readonly missing: readonly number[];
    }
  | { readonly kind: 'refuse'; readonly message: string };

/**
 * Whether and how to assemble a replicated volume from the copies this node reached
 * (docs/replication.md, "stale-copy safety"). The record that rules is the newest any reachable
 * copy holds (newestRecord); the volume is assembled only when every copy that record calls in
 * sync is reachable, so a degraded assembly never runs on stale copies alone. Refused, with what
 * to do: no record could be read, two records of one generation differ, a record names other
 * nodes or slots than publish_context, or an in-sync copy is unreachable.
 *
 * Which legs get `rebuild <idx>` (kernel Documentation/admin-guide/device-mapper/dm-raid.rst,
 * "rebuild <idx>: Rebuild drive number 'idx'", and dm-raid.c super_load / super_init_validation):
 * - a reachable copy that is stale but carries a dm-raid superblock is NOT rebuilt: the freshest
 *   superblock's failed_devices bitmap marks it, dm-raid sets it not In_sync with its saved slot
 *   (super_validate), and md recovers it from the write-intent bitmap: only the regions written
 *   while it was away (a `rebuild` would copy the whole volume);
 * - a reachable copy whose metadata area is blank (a replacement copy, never assembled) must be
 *   named in `rebuild`: dm-raid refuses a new device injected into an existing raid set without
 *   it ("New device injected into existing raid set without 'delta_disks' or 'rebuild'
 *   parameter specified");
 * - when every leg is blank the raid set is new: no rebuild, dm-raid writes fresh superblocks
 *   and md runs the initial resync.
 */
export function decideAssembly(views: readonly CopyView[]): AssemblyDecision {
  const describe = (slots: readonly number[]): string => slots.map((s) => `copy ${s} on ${views.find((v) => v.slot === s)?.node ?? '?'}`).join(', ');
  const reachable = views.filter((v) => v.reachable);
  const unreachable = views.filter((v) => !v.reachable);
  const read = reachable.filter((v) => v.record !== undefined);
  if (read.length === 0) {
    const why = reachable.length === 0 ? `no copy is reachable (${describe(unreachable.map((v) => v.slot))})` : `no reachable copy's agent gave its record (${describe(reachable.map((v) => v.slot))})`;
    return { kind: 'refuse', message: `cannot assemble the replicated volume: ${why}; nothing was written. Bring the storage nodes back (or their agents), then the CO retries` };
  }
  const newest = newestRecord(read.map((v) => v.record!));
  if (!newest) return { kind: 'refuse', message: 'cannot assemble the replicated volume: no record' };
  if ('conflict' in newest) {
    return { kind: 'refuse', message: `cannot assemble the replicated volume: the copies disagree (${newest.conflict}); nothing was written. Compare the copies' records (vbs-csi volume …) and repair them by hand before attaching` };
  }
  const record = newest.record;
  const bad = checkMirrorRecord(record);
  if (bad) return { kind: 'refuse', message: `cannot assemble the replicated volume: the newest record (generation ${record.generation}) is not valid: ${bad}` };
  if (record.copies.length !== views.length || record.copies.some((c, slot) => views.find((v) => v.slot === slot)?.node !== c.node)) {
    return {
      kind: 'refuse',
      message: `cannot assemble the replicated volume: its record (generation ${record.generation}) places the copies on ${record.copies.map((c, i) => `${i}:${c.node}`).join(' ')}, but publish_context on ${views.map((v) => `${v.slot}:${v.node}`).join(' ')}; the copies changed since the publish: publish the volume again`,
    };
  }
  const inSync = record.copies.flatMap((c, slot) => (c.inSync ? [slot] : []));
  const isReachable = (slot: number) => reachable.some((v) => v.slot === slot);
  const lost = inSync.filter((s) => !isReachable(s));
  if (lost.length > 0) {
    const stale = reachable.filter((v) => !inSync.includes(v.slot)).map((v) => v.slot);
    return {
      kind: 'refuse',
      message:
        `refusing to assemble the replicated volume: the current data (generation ${record.generation}) is on ${describe(inSync)}, and ${describe(lost)} cannot be reached` +
        (stale.length ? `; ${describe(stale)} is stale and is never used alone` : '') +
        '. Nothing was written. Bring that storage node back; if it is lost for good, the data since it went out of sync is lost and an operator must decide (docs/replication.md)',
    };
  }
  const legs = reachable.map((v) => v.slot).sort((a, b) => a - b);
  const anySuperblock = reachable.some((v) => v.superblock === 'present');
  const rebuild = anySuperblock ? reachable.filter((v) => v.superblock === 'blank').map((v) => v.slot).sort((a, b) => a - b) : [];
  if (rebuild.length > 0 && inSync.every((s) => rebuild.includes(s))) {
    // md would rebuild the current copies from stale ones: never.
    return {
      kind: 'refuse',
      message: `refusing to assemble the replicated volume: the current data (generation ${record.generation}) is on ${describe(inSync)}, whose dm-raid metadata is blank, while only stale copies carry it; nothing was written. An operator must check the copies (docs/replication.md)`,
    };
  }
  // Generation 1 with every copy in sync is the record of a create no failure has touched; with
  // every copy reachable and blank, no leg was ever assembled, so no write reached any of them.
  const nosync = !anySuperblock && record.generation === 1 && legs.length === record.copies.length && record.copies.every((c) => c.inSync);
  return {
    kind: 'assemble',
    record,
    legs,
    rebuild,
    nosync,
    stale: legs.filter((s) => !inSync.includes(s)),
    missing: views.map((v) => v.slot).filter((s) => !legs.includes(s)),
  };
}
