import { createHash } from 'node:crypto';
import { FailedPreconditionError } from '../errors.ts';
import { isValidIqn } from '../lio/index.ts';
import type { LogicalVolume, LvTags } from '../lvm/index.ts';
import { isSnapshotId, isVolumeId } from '../agentApi/ids.ts';
import type { TargetIdentity } from './targetIdentity.ts';
import type { AgentContentSource, AgentInitiator, AgentSnapshot, AgentVolume } from '../agentApi/types.ts';

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
} as const;

const ACL_KEY_PREFIX = 'acl.';
const ACL_VALUE = /^(rw|ro)\.(chap|mutual)\.(.+)$/;

/** A volume as its LV and tags describe it (the target is derived, not stored). */
export interface VolumeRecord extends Omit<AgentVolume, 'target'> {
  /** Sorted by IQN. */
  readonly initiators: readonly AgentInitiator[];
  /** The size its create asked for, when it was made from a content source (see TAG.requestedSize). */
  readonly requestedSizeBytes: number | undefined;
  readonly identity: TargetIdentity;
  /** Where the LV still has to be zeroed from (the `zeroing` tag); undefined when it reads as zero where nobody wrote. */
  readonly zeroingFromBytes: number | undefined;
  readonly lv: LogicalVolume;
}

/** A snapshot as its LV and tags describe it. */
export interface SnapshotRecord extends Omit<AgentSnapshot, 'readyToUse'> {
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

export function buildSnapshotTags(s: { readonly name: string; readonly createdAt: Date; readonly sourceVolumeId: string }): LvTags {
  return {
    [TAG.kind]: 'snapshot',
    [TAG.name]: s.name,
    [TAG.created]: String(s.createdAt.getTime()),
    [TAG.sourceKind]: 'volume',
    [TAG.sourceId]: s.sourceVolumeId,
  };
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
  return {
    id: lv.name,
    name,
    sizeBytes: lv.sizeBytes,
    thin: lv.isThin,
    contentSource: parseContentSource(lv),
    createdAt: parseCreated(lv),
    initiators,
    requestedSizeBytes: parseRequestedSize(lv),
    identity: parseIdentity(lv),
    zeroingFromBytes: parseZeroing(lv),
    lv,
  };
}

export function parseSnapshotRecord(lv: LogicalVolume): SnapshotRecord | undefined {
  if (classifyLv(lv) !== 'snapshot') return undefined;
  const source = parseContentSource(lv);
  if (source?.kind !== 'volume') throw malformed(lv, `${TAG.sourceKind} must be "volume" on a snapshot`);
  return { id: lv.name, name: requireTag(lv, TAG.name), sourceVolumeId: source.id, sizeBytes: lv.sizeBytes, createdAt: parseCreated(lv), lv };
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
