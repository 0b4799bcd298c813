import type { Volume } from '../../generated/vbs/agent/v1/Volume.ts';
import type { Snapshot } from '../../generated/vbs/agent/v1/Snapshot.ts';
import type { Target } from '../../generated/vbs/agent/v1/Target.ts';
import type { ContentSource, ContentSource__Output } from '../../generated/vbs/agent/v1/ContentSource.ts';
import type { Timestamp } from '../../generated/google/protobuf/Timestamp.ts';
import { InvalidArgumentError } from '../../errors.ts';
import type { AgentContentSource, AgentSnapshot, AgentTarget, AgentVolume } from '../../agentApi/types.ts';

/** Pure conversions between the agent's domain objects and its wire messages. */

export function timestampOf(date: Date): Timestamp {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function targetToWire(t: AgentTarget): Target {
  return { iqn: t.iqn, portal: { ip: t.portal.ip, port: t.portal.port }, lun: t.lun, serial: t.serial };
}

export function contentSourceToWire(s: AgentContentSource | undefined): ContentSource | null {
  if (!s) return null;
  return s.kind === 'snapshot' ? { snapshot_id: s.id } : { volume_id: s.id };
}

/** A request's content source, or undefined when none was set; a oneof member with an empty id is refused. */
export function contentSourceFromWire(s: ContentSource__Output | null): AgentContentSource | undefined {
  if (!s?.source) return undefined;
  const id = s.source === 'snapshot_id' ? s.snapshot_id : s.volume_id;
  if (!id) throw new InvalidArgumentError(`content_source.${s.source} is empty`);
  return { kind: s.source === 'snapshot_id' ? 'snapshot' : 'volume', id };
}

export function volumeToWire(v: AgentVolume): Volume {
  return {
    id: v.id,
    name: v.name,
    size_bytes: v.sizeBytes,
    thin: v.thin,
    content_source: contentSourceToWire(v.contentSource),
    created_at: timestampOf(v.createdAt),
    target: targetToWire(v.target),
    initiators: v.initiators.map((i) => i.iqn),
    initiator_details: v.initiators.map((i) => ({ iqn: i.iqn, read_only: i.readOnly, mutual_chap: i.mutualChap })),
  };
}

export function snapshotToWire(s: AgentSnapshot): Snapshot {
  return {
    id: s.id,
    name: s.name,
    source_volume_id: s.sourceVolumeId,
    size_bytes: s.sizeBytes,
    created_at: timestampOf(s.createdAt),
    ready_to_use: s.readyToUse,
  };
}

/** A required string field: present and non-empty, else INVALID_ARGUMENT naming the field. */
export function requireField(value: string, field: string): string {
  if (value.length === 0) throw new InvalidArgumentError(`${field} is required`);
  return value;
}

/** A required positive whole byte size; how large it may be is the domain's call (validateSizeBytes: OUT_OF_RANGE). */
export function requireSize(value: number, field: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError(`${field} must be a positive number of bytes, got ${value}`);
  return value;
}
