import { validateObjectName } from '../csi/objectNames.ts';
import { InvalidArgumentError, OutOfRangeError } from '../errors.ts';
import { normalizeIqn } from '../lio/index.ts';
import type { AgentContentSource } from '../agentApi/types.ts';
import { isSnapshotId, isVolumeId } from '../agentApi/ids.ts';
import { MAX_VOLUME_BYTES } from '../agentApi/limits.ts';
import { isStorageNodeName } from '../csi/volumeIds.ts';
import { checkMirrorRecord } from '../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';

/** A CO name (validateObjectName); the tag codec escapes whatever else it holds. */
export function validateName(name: string, what: string): string {
  return validateObjectName(name, what);
}

/**
 * A size in bytes: a positive whole number (InvalidArgumentError), at most MAX_VOLUME_BYTES
 * (OutOfRangeError, also past 2^53, where a uint64 such as 2^64 - 1 is no longer exact here).
 */
export function validateSizeBytes(sizeBytes: number): number {
  if (!Number.isInteger(sizeBytes) || sizeBytes <= 0) throw new InvalidArgumentError(`size must be a positive whole number of bytes, got ${sizeBytes}`);
  if (sizeBytes > MAX_VOLUME_BYTES) throw new OutOfRangeError(`size ${sizeBytes} bytes exceeds the largest volume this agent creates (${MAX_VOLUME_BYTES} bytes)`);
  return sizeBytes;
}

export function validateVolumeId(id: string): string {
  if (!isVolumeId(id)) throw new InvalidArgumentError(`${JSON.stringify(id)} is not a volume id of this agent (vbs-vol-<26 base32 characters>)`);
  return id;
}

export function validateSnapshotId(id: string): string {
  if (!isSnapshotId(id)) throw new InvalidArgumentError(`${JSON.stringify(id)} is not a snapshot id of this agent (vbs-snap-<26 base32 characters>)`);
  return id;
}

export function validateContentSource(source: AgentContentSource | undefined): AgentContentSource | undefined {
  if (source === undefined) return undefined;
  if (source.kind === 'snapshot') return { kind: 'snapshot', id: validateSnapshotId(source.id) };
  if (source.kind === 'volume') return { kind: 'volume', id: validateVolumeId(source.id) };
  throw new InvalidArgumentError(`content source kind ${JSON.stringify((source as { kind: unknown }).kind)} is neither snapshot nor volume`);
}

/** Lowercased and validated: LIO matches ACL names byte for byte (docs/field-notes.md 4.9). */
export function normalizeInitiatorIqn(raw: string): string {
  return normalizeIqn(raw, 'initiator IQN');
}

/** Rounds up to whole extents, as lvcreate/lvextend will (docs/field-notes.md 3.8). */
export function roundUpToExtent(sizeBytes: number, extentSizeBytes: number): number {
  return Math.ceil(sizeBytes / extentSizeBytes) * extentSizeBytes;
}

/**
 * A copies' record from a request: well formed (checkMirrorRecord) and naming storage nodes only,
 * as the tags will hold it; InvalidArgumentError otherwise. A copy of the caller's values, so a
 * later change to them cannot reach what was checked.
 */
export function validateMirrorRecord(record: MirrorRecord, what: string): MirrorRecord {
  const copy: MirrorRecord = { generation: record.generation, copies: record.copies.map((c) => ({ node: c.node, inSync: c.inSync })), regionBytes: record.regionBytes };
  const problem = checkMirrorRecord(copy);
  if (problem !== undefined) throw new InvalidArgumentError(`${what} is not valid: ${problem}`);
  const bad = copy.copies.find((c) => !isStorageNodeName(c.node));
  if (bad) throw new InvalidArgumentError(`${what} names ${JSON.stringify(bad.node)}, which is not a storage node name`);
  return copy;
}

/** CreateVolume's mirror: a valid record and a slot in it. */
export function validateMirrorSlot(mirror: { readonly slot: number; readonly record: MirrorRecord } | undefined): { readonly slot: number; readonly record: MirrorRecord } | undefined {
  if (mirror === undefined) return undefined;
  const record = validateMirrorRecord(mirror.record, 'the mirror record');
  if (!Number.isInteger(mirror.slot) || mirror.slot < 0 || mirror.slot >= record.copies.length) {
    throw new InvalidArgumentError(`mirror slot ${mirror.slot} is not one of the record's ${record.copies.length} slots`);
  }
  return { slot: mirror.slot, record };
}
