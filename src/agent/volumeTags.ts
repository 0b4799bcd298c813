import { createHash } from 'node:crypto';
import { FailedPreconditionError } from '../errors.ts';
import { isValidIqn } from '../lio/index.ts';
import type { LogicalVolume, LvTags } from '../lvm/index.ts';
import { isSnapshotId, isVolumeId } from '../agentApi/ids.ts';
import type { TargetIdentity } from './targetIdentity.ts';
import type { AgentContentSource, AgentInitiator, AgentMirror, AgentSnapshot, AgentVolume } from '../agentApi/types.ts';
import { isStorageNodeName } from '../csi/volumeIds.ts';
import { checkMirrorRecord } from '../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';

/**
 * LVM is the agent's database: every fact about a volume or snapshot is an LV tag, written with
 * src/lvm's codec (`vbs.<key>=<escaped value>`), so `lvs` alone rebuilds the agent's state after
 * a restart or a reboot. The layout:
 *
 *   kind          volume | snapshot
 *   name          the CO's name (CreateVolume/CreateSnapshot idempotency key)
 *   created       creation time, milliseconds since the epoch
 *   provisioning  thin | thick (as created; lv_attr stays the authority)
 *   source-kind   volume: snapshot | volume when created from one; snapshot: always volume
 *   source-id     the LV id of that source
 *   requested-size  volume from a content source: the size in bytes the create asked for (whole
 *                 extents). lvcreate -s makes the source's size and lvextend follows; a crash between
 *                 the two leaves the LV smaller, and this tag lets the retry tell "extend unfinished"
 *                 from "made smaller on purpose"
 *   acl.<h>       one per allowed initiator: `<rw|ro>.<chap|mutual>.<initiator iqn>`, where <h> is
 *                 the first 16 hex digits of SHA-256 of the (lowercase) IQN, so each initiator has
 *                 exactly one tag and the key stays within the codec's 63 characters
 *   identity      lv-uuid: the target IQN and CHAP secrets derive from the id and the LV's uuid
 *                 (targetIdentity.ts); absent on volumes created before that, which keep theirs
 *   zeroing       volume: the byte offset from which the LV must still be zeroed before anyone
 *                 may read it (a thick LV reuses the extents of deleted ones); set by the lvcreate
 *                 (or before the lvextend) that brings the old blocks in, removed only once every
 *                 byte from there to the end reads as zero. An LV with it is never exported.
 *
 * A copy of a replicated volume (docs/replication.md) carries these too, all written by the one
 * lvcreate that makes it and every later change by one lvchange (one VG metadata commit, so a
 * reader sees the old set or the new one, never a mix). A volume without them is a single-copy
 * volume; a snapshot of a copy carries its source's set as it was at that instant.
 *
 *   mirror.slot        this copy's raid1 slot (its index among the copies)
 *   mirror.header      bytes at the start of the LV that hold dm-raid's metadata for this leg;
 *                      the data follows (AgentVolume.sizeBytes is the LV's size less these)
 *   mirror.generation  the copies' record (src/replication/mirrorRecord.ts): its generation,
 *   mirror.region      its region size in bytes,
 *   mirror.copy<i>     and per slot i (0, 1, 2), `<in-sync|out-of-sync>.<storage node>`; the
 *                      node names are lowercase DNS names, which the codec leaves readable
 *
 * Seven tags at most, each well under 200 characters: a node name is at most 92.
 *
 * The serial and the target IQN are not stored: both are derived (buildUnitSerial of the LV's
 * uuid, buildTargetIqn of the id and uuid), and so are CHAP secrets (never stored). The worst-case
 * ACL tag, a 223-byte IQN with every ':' escaped to three characters, stays far below LVM's 1024.
 */
export const TAG = {
  kind: 'kind',
  name: 'name',
  created: 'created',
  provisioning: 'provisioning',
  sourceKind: 'source-kind',
  sourceId: 'source-id',
  requestedSize: 'requested-size',
  identity: 'identity',
  zeroing: 'zeroing',
  mirrorSlot: 'mirror.slot',
  mirrorHeader: 'mirror.header',
  mirrorGeneration: 'mirror.generation',
  mirrorRegion: 'mirror.region',
} as const;

const MIRROR_KEY_PREFIX = 'mirror.';
const MIRROR_COPY_KEY = /^mirror\.copy(0|[1-9][0-9]?)$/;
const MIRROR_COPY_VALUE = /^(in-sync|out-of-sync)\.(.+)$/;

const ACL_KEY_PREFIX = 'acl.';
const ACL_VALUE = /^(rw|ro)\.(chap|mutual)\.(.+)$/;

/**
 * A volume as its LV and tags describe it (the target is derived, not stored). `sizeBytes` is
 * what AgentVolume says: the data size, which for a copy is the LV's size less its header; what
 * LVM allocates is `lv.sizeBytes`.
 */
export interface VolumeRecord extends Omit<AgentVolume, 'target' | 'mirror'> {
  /** Sorted by IQN. */
  readonly initiators: readonly AgentInitiator[];
  /** The size its create asked for, when it was made from a content source (see TAG.requestedSize). */
  readonly requestedSizeBytes: number | undefined;
  readonly identity: TargetIdentity;
  /** Where the LV still has to be zeroed from (the `zeroing` tag); undefined when it reads as zero where nobody wrote. */
  readonly zeroingFromBytes: number | undefined;
  /** Set on a copy of a replicated volume (the mirror.* tags). */
  readonly mirror: AgentMirror | undefined;
  readonly lv: LogicalVolume;
}

/** A snapshot as its LV and tags describe it; of a copy, `sizeBytes` is the data size. */
export interface SnapshotRecord extends Omit<AgentSnapshot, 'readyToUse'> {
  /** The source copy's mirror tags as they were when the snapshot was taken. */
  readonly mirror: AgentMirror | undefined;
  readonly lv: LogicalVolume;
}

/**
 * The tags of a new volume. A thick one is born with `zeroing=0`: its extents may hold a deleted
 * volume's data, and lvcreate zeroes only the first 4 KiB (lvcreate(8), -Z).
 */
export function buildVolumeTags(v: {
  readonly name: string;
  readonly createdAt: Date;
  readonly thin: boolean;
  readonly contentSource: AgentContentSource | undefined;
  /** Written with a content source only: the size the lvextend after lvcreate -s must reach. */
  readonly sizeBytes?: number;
}): LvTags {
  return {
    [TAG.kind]: 'volume',
    [TAG.name]: v.name,
    [TAG.created]: String(v.createdAt.getTime()),
    [TAG.provisioning]: v.thin ? 'thin' : 'thick',
    [TAG.identity]: 'lv-uuid',
    ...(v.thin ? {} : { [TAG.zeroing]: '0' }),
    ...(v.contentSource ? { [TAG.sourceKind]: v.contentSource.kind, [TAG.sourceId]: v.contentSource.id } : {}),
    ...(v.contentSource && v.sizeBytes !== undefined ? { [TAG.requestedSize]: String(v.sizeBytes) } : {}),
  };
}

/** The tags of a snapshot; of a copy, with the copy's mirror tags as they are now. */
export function buildSnapshotTags(s: { readonly name: string; readonly createdAt: Date; readonly sourceVolumeId: string; readonly mirror?: AgentMirror | undefined }): LvTags {
  return {
    [TAG.kind]: 'snapshot',
    [TAG.name]: s.name,
    [TAG.created]: String(s.createdAt.getTime()),
    [TAG.sourceKind]: 'volume',
    [TAG.sourceId]: s.sourceVolumeId,
    ...(s.mirror ? buildMirrorTags(s.mirror) : {}),
  };
}

/** The mirror.* tags of a copy (see the layout above). */
export function buildMirrorTags(m: AgentMirror): LvTags {
  return {
    [TAG.mirrorSlot]: String(m.slot),
    [TAG.mirrorHeader]: String(m.headerBytes),
    ...buildMirrorRecordTags(m.record),
  };
}

/**
 * The tags that hold a record. A record with the same copies as the stored one has the same
 * keys, so replacing these (Lvm.addTags: one lvchange of --deltag/--addtag pairs) replaces the
 * whole record at once.
 */
export function buildMirrorRecordTags(record: MirrorRecord): LvTags {
  const tags: Record<string, string> = {
    [TAG.mirrorGeneration]: String(record.generation),
    [TAG.mirrorRegion]: String(record.regionBytes),
  };
  record.copies.forEach((copy, slot) => {
    tags[mirrorCopyKey(slot)] = `${copy.inSync ? 'in-sync' : 'out-of-sync'}.${copy.node}`;
  });
  return tags;
}

function mirrorCopyKey(slot: number): string {
  return `${MIRROR_KEY_PREFIX}copy${slot}`;
}

/** The tag key of one initiator's ACL; `initiatorIqn` must already be normalised (lowercase). */
export function buildAclTagKey(initiatorIqn: string): string {
  return ACL_KEY_PREFIX + createHash('sha256').update(initiatorIqn, 'utf8').digest('hex').slice(0, 16);
}

export function buildAclTag(initiator: AgentInitiator): { readonly key: string; readonly value: string } {
  return {
    key: buildAclTagKey(initiator.iqn),
    value: `${initiator.readOnly ? 'ro' : 'rw'}.${initiator.mutualChap ? 'mutual' : 'chap'}.${initiator.iqn}`,
  };
}

/**
 * What kind of LV this is for the agent: an LV counts as ours only when its name has our shape and
 * its `kind` tag agrees; everything else in the VG (the operator's LVs) is left alone.
 */
export function classifyLv(lv: LogicalVolume): 'volume' | 'snapshot' | undefined {
  const kind = lv.tags[TAG.kind];
  if (kind === 'volume' && isVolumeId(lv.name)) return 'volume';
  if (kind === 'snapshot' && isSnapshotId(lv.name)) return 'snapshot';
  return undefined;
}

/**
 * The volume an LV holds; undefined when the LV is not one of our volumes. Tags that are ours
 * but do not make sense (edited by hand, a half-written layout) are a FailedPreconditionError
 * naming the LV, never a guess.
 */
export function parseVolumeRecord(lv: LogicalVolume): VolumeRecord | undefined {
  if (classifyLv(lv) !== 'volume') return undefined;
  const name = requireTag(lv, TAG.name);
  const initiators: AgentInitiator[] = [];
  for (const [key, value] of Object.entries(lv.tags)) {
    if (key.startsWith(ACL_KEY_PREFIX)) initiators.push(parseAclTag(lv, key, value));
  }
  initiators.sort((a, b) => (a.iqn < b.iqn ? -1 : a.iqn > b.iqn ? 1 : 0));
  const mirror = parseMirror(lv);
  return {
    id: lv.name,
    name,
    sizeBytes: dataSizeOf(lv, mirror),
    thin: lv.isThin,
    contentSource: parseContentSource(lv),
    createdAt: parseCreated(lv),
    initiators,
    requestedSizeBytes: parseRequestedSize(lv),
    identity: parseIdentity(lv),
    zeroingFromBytes: parseZeroing(lv),
    mirror,
    lv,
  };
}

export function parseSnapshotRecord(lv: LogicalVolume): SnapshotRecord | undefined {
  if (classifyLv(lv) !== 'snapshot') return undefined;
  const source = parseContentSource(lv);
  if (source?.kind !== 'volume') throw malformed(lv, `${TAG.sourceKind} must be "volume" on a snapshot`);
  const mirror = parseMirror(lv);
  return { id: lv.name, name: requireTag(lv, TAG.name), sourceVolumeId: source.id, sizeBytes: dataSizeOf(lv, mirror), createdAt: parseCreated(lv), mirror, lv };
}

/** The LV's size less a copy's header. */
function dataSizeOf(lv: LogicalVolume, mirror: AgentMirror | undefined): number {
  if (!mirror) return lv.sizeBytes;
  if (lv.sizeBytes <= mirror.headerBytes) throw malformed(lv, `the LV of ${lv.sizeBytes} bytes has no room for data after its ${mirror.headerBytes}-byte mirror header`);
  return lv.sizeBytes - mirror.headerBytes;
}

/**
 * A copy's slot, header and record from its mirror.* tags; undefined when it has none. A partial
 * set, copies that are not numbered 0..n-1, or a record checkMirrorRecord refuses are malformed:
 * a copy whose record cannot be read must never be taken for a single-copy volume, nor guessed at.
 */
export function parseMirror(lv: LogicalVolume): AgentMirror | undefined {
  const keys = Object.keys(lv.tags).filter((k) => k.startsWith(MIRROR_KEY_PREFIX));
  if (keys.length === 0) return undefined;
  const slot = parseCount(lv, TAG.mirrorSlot, 0);
  const headerBytes = parseCount(lv, TAG.mirrorHeader, 1);
  const generation = parseCount(lv, TAG.mirrorGeneration, 1);
  const regionBytes = parseCount(lv, TAG.mirrorRegion, 1);
  const copyKeys = keys.filter((k) => MIRROR_COPY_KEY.test(k));
  const known = new Set<string>([TAG.mirrorSlot, TAG.mirrorHeader, TAG.mirrorGeneration, TAG.mirrorRegion, ...copyKeys]);
  const unknown = keys.find((k) => !known.has(k));
  if (unknown !== undefined) throw malformed(lv, `${unknown} is not a mirror tag`);
  const copies = copyKeys.map((_, i) => {
    const key = mirrorCopyKey(i);
    const value = lv.tags[key];
    if (value === undefined) throw malformed(lv, `the mirror copies are not numbered 0 to ${copyKeys.length - 1} (no ${key})`);
    const match = MIRROR_COPY_VALUE.exec(value);
    const node = match?.[2];
    if (!match || node === undefined || !isStorageNodeName(node)) throw malformed(lv, `${key}=${JSON.stringify(value)} is not <in-sync|out-of-sync>.<storage node>`);
    return { node, inSync: match[1] === 'in-sync' };
  });
  const record: MirrorRecord = { generation, copies, regionBytes };
  const problem = checkMirrorRecord(record);
  if (problem !== undefined) throw malformed(lv, `its mirror record is not valid: ${problem}`);
  if (slot >= copies.length) throw malformed(lv, `${TAG.mirrorSlot}=${slot} but the record has ${copies.length} copies`);
  if (headerBytes % 512 !== 0) throw malformed(lv, `${TAG.mirrorHeader}=${headerBytes} is not a whole number of sectors`);
  return { slot, headerBytes, record };
}

/** A whole number tag of at least `min`, without leading zeroes. */
function parseCount(lv: LogicalVolume, key: string, min: number): number {
  const raw = lv.tags[key];
  if (raw === undefined) throw malformed(lv, `the ${key} tag is missing (the mirror tags are written together)`);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < min) throw malformed(lv, `${key}=${JSON.stringify(raw)} is not a whole number of at least ${min}`);
  return Number(raw);
}

function parseContentSource(lv: LogicalVolume): AgentContentSource | undefined {
  const kind = lv.tags[TAG.sourceKind];
  const id = lv.tags[TAG.sourceId];
  if (kind === undefined && id === undefined) return undefined;
  if (kind === 'snapshot' && id !== undefined && isSnapshotId(id)) return { kind, id };
  if (kind === 'volume' && id !== undefined && isVolumeId(id)) return { kind, id };
  throw malformed(lv, `${TAG.sourceKind}=${JSON.stringify(kind)} ${TAG.sourceId}=${JSON.stringify(id)} is not a content source`);
}

function parseAclTag(lv: LogicalVolume, key: string, value: string): AgentInitiator {
  const match = ACL_VALUE.exec(value);
  const iqn = match?.[3];
  if (!match || iqn === undefined || !isValidIqn(iqn) || buildAclTagKey(iqn) !== key) {
    throw malformed(lv, `${key}=${JSON.stringify(value)} is not <rw|ro>.<chap|mutual>.<initiator iqn> under the key of that iqn`);
  }
  return { iqn, readOnly: match[1] === 'ro', mutualChap: match[2] === 'mutual' };
}

function parseRequestedSize(lv: LogicalVolume): number | undefined {
  const raw = lv.tags[TAG.requestedSize];
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw malformed(lv, `${TAG.requestedSize}=${JSON.stringify(raw)} is not a size in bytes`);
  return Number(raw);
}

function parseIdentity(lv: LogicalVolume): TargetIdentity {
  const raw = lv.tags[TAG.identity];
  if (raw === undefined) return 'volume-id';
  if (raw === 'lv-uuid') return raw;
  throw malformed(lv, `${TAG.identity}=${JSON.stringify(raw)} is not lv-uuid`);
}

function parseZeroing(lv: LogicalVolume): number | undefined {
  const raw = lv.tags[TAG.zeroing];
  if (raw === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw malformed(lv, `${TAG.zeroing}=${JSON.stringify(raw)} is not a byte offset`);
  return Number(raw);
}

/** A missing `created` tag is no reason to lose a volume: it reads as the epoch. */
function parseCreated(lv: LogicalVolume): Date {
  const raw = lv.tags[TAG.created];
  if (raw === undefined) return new Date(0);
  if (!/^[0-9]{1,15}$/.test(raw)) throw malformed(lv, `${TAG.created}=${JSON.stringify(raw)} is not a time in milliseconds`);
  return new Date(Number(raw));
}

function requireTag(lv: LogicalVolume, key: string): string {
  const value = lv.tags[key];
  if (value === undefined || value === '') throw malformed(lv, `the ${key} tag is missing`);
  return value;
}

function malformed(lv: LogicalVolume, what: string): FailedPreconditionError {
  return new FailedPreconditionError(`LV ${lv.vgName}/${lv.name} has malformed vbs tags: ${what}; fix or remove the tag with lvchange --deltag`);
}
