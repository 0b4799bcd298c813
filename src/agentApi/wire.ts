import { InvalidArgumentError } from '../errors.ts';
import type { ChapCredentials } from '../chap/ChapCredentials.ts';
import type { ChapCredentials as WireChap, ChapCredentials__Output as WireChapOutput } from '../generated/vbs/agent/v1/ChapCredentials.ts';
import type { ContentSource, ContentSource__Output } from '../generated/vbs/agent/v1/ContentSource.ts';
import type { CreateVolumeRequest, CreateVolumeRequest__Output } from '../generated/vbs/agent/v1/CreateVolumeRequest.ts';
import type { ExportRequest, ExportRequest__Output } from '../generated/vbs/agent/v1/ExportRequest.ts';
import type { ExportResponse, ExportResponse__Output } from '../generated/vbs/agent/v1/ExportResponse.ts';
import type { GetChapCredentialsResponse } from '../generated/vbs/agent/v1/GetChapCredentialsResponse.ts';
import type { GetChapCredentialsResponse__Output } from '../generated/vbs/agent/v1/GetChapCredentialsResponse.ts';
import type { GetMirrorRecordResponse, GetMirrorRecordResponse__Output } from '../generated/vbs/agent/v1/GetMirrorRecordResponse.ts';
import type { Initiator, Initiator__Output } from '../generated/vbs/agent/v1/Initiator.ts';
import type { Mirror, Mirror__Output } from '../generated/vbs/agent/v1/Mirror.ts';
import type { MirrorRecord as WireMirrorRecord, MirrorRecord__Output as WireMirrorRecordOutput } from '../generated/vbs/agent/v1/MirrorRecord.ts';
import type { MirrorSlot, MirrorSlot__Output } from '../generated/vbs/agent/v1/MirrorSlot.ts';
import type { SetMirrorRecordRequest as WireSetMirrorRecordRequest, SetMirrorRecordRequest__Output } from '../generated/vbs/agent/v1/SetMirrorRecordRequest.ts';
import type { SetMirrorRecordResponse, SetMirrorRecordResponse__Output } from '../generated/vbs/agent/v1/SetMirrorRecordResponse.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import type { Snapshot, Snapshot__Output } from '../generated/vbs/agent/v1/Snapshot.ts';
import type { Target, Target__Output } from '../generated/vbs/agent/v1/Target.ts';
import type { UnexportRequest, UnexportRequest__Output } from '../generated/vbs/agent/v1/UnexportRequest.ts';
import type { Volume, Volume__Output } from '../generated/vbs/agent/v1/Volume.ts';
import { dateOf, timestampOf } from '../grpc/timestamps.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';
import type {
  AgentContentSource,
  AgentExport,
  AgentInitiator,
  AgentMirror,
  AgentSnapshot,
  AgentTarget,
  AgentVolume,
  CreateAgentVolumeRequest,
  ExportAgentVolumeRequest,
  SetMirrorRecordRequest,
  SetMirrorRecordResult,
  StorageNodeStatus,
} from './types.ts';

/**
 * Every conversion between the contract's domain objects (types.ts) and its wire messages
 * (proto/agent.proto), both ways, pure. `…ToWire` builds what a sender passes to grpc-js;
 * `…FromWire` reads what grpc-js decoded (proto-loader's __Output types: absent messages are
 * null, absent scalars their zero value). Requests the agent receives are checked here for what
 * the wire cannot express (a required field left empty: INVALID_ARGUMENT naming it); an answer
 * the controller receives that lacks a part it needs is a plain Error (INTERNAL: a broken agent).
 */

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

/** A part of an agent's answer that must be there. */
function answered<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined) throw new Error(`the agent's answer has no ${field}`);
  return value;
}

// --- content sources --------------------------------------------------------------------------

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

// --- targets and CHAP -------------------------------------------------------------------------

export function targetToWire(t: AgentTarget): Target {
  return { iqn: t.iqn, portal: { ip: t.portal.ip, port: t.portal.port }, lun: t.lun, serial: t.serial };
}

export function targetFromWire(wire: Target__Output | null, field = 'target'): AgentTarget {
  const t = answered(wire, field);
  const portal = answered(t.portal, `${field}.portal`);
  return { iqn: t.iqn, portal: { ip: portal.ip, port: portal.port }, lun: t.lun, serial: t.serial };
}

/** The wire has no "absent" for the mutual pair: empty strings mean one-way CHAP. */
export function chapToWire(c: ChapCredentials): WireChap {
  return { username: c.username, password: c.password, mutual_username: c.mutual?.username ?? '', mutual_password: c.mutual?.password ?? '' };
}

export function chapFromWire(wire: WireChapOutput | null): ChapCredentials {
  const c = answered(wire, 'chap');
  const base = { username: c.username, password: c.password };
  return c.mutual_username === '' ? base : { ...base, mutual: { username: c.mutual_username, password: c.mutual_password } };
}

/** Export's answer: the target, no secret. */
export function exportResponseToWire(e: { readonly target: AgentTarget }): ExportResponse {
  return { target: targetToWire(e.target) };
}

export function exportResponseFromWire(wire: ExportResponse__Output): { readonly target: AgentTarget } {
  return { target: targetFromWire(wire.target) };
}

/** GetChapCredentials' answer: the target and the initiator's credentials for it. */
export function credentialsToWire(e: AgentExport): GetChapCredentialsResponse {
  return { target: targetToWire(e.target), chap: chapToWire(e.chap) };
}

export function credentialsFromWire(wire: GetChapCredentialsResponse__Output): AgentExport {
  return { target: targetFromWire(wire.target), chap: chapFromWire(wire.chap) };
}

export function initiatorToWire(i: AgentInitiator): Initiator {
  return { iqn: i.iqn, read_only: i.readOnly, mutual_chap: i.mutualChap };
}

export function initiatorFromWire(i: Initiator__Output): AgentInitiator {
  return { iqn: i.iqn, readOnly: i.read_only, mutualChap: i.mutual_chap };
}

// --- replicated volumes' copies ---------------------------------------------------------------

/**
 * A record as it travels. What makes one valid (generation, copies, region size) is the domain's
 * call (checkMirrorRecord, on the agent); here only its presence.
 */
export function mirrorRecordToWire(r: MirrorRecord): WireMirrorRecord {
  return { generation: r.generation, copies: r.copies.map((c) => ({ node: c.node, in_sync: c.inSync })), region_bytes: r.regionBytes };
}

/** A record in a request the agent receives: required (INVALID_ARGUMENT naming the field). */
export function mirrorRecordFromWire(wire: WireMirrorRecordOutput | null, field: string): MirrorRecord {
  if (!wire) throw new InvalidArgumentError(`${field} is required`);
  return recordOf(wire);
}

function recordOf(wire: WireMirrorRecordOutput): MirrorRecord {
  return { generation: wire.generation, copies: wire.copies.map((c) => ({ node: c.node, inSync: c.in_sync })), regionBytes: wire.region_bytes };
}

export function mirrorToWire(m: AgentMirror): Mirror {
  return { slot: m.slot, header_bytes: m.headerBytes, record: mirrorRecordToWire(m.record) };
}

/** A copy in an agent's answer; undefined when absent (a single-copy volume). */
export function mirrorFromWire(wire: Mirror__Output | null): AgentMirror | undefined {
  if (!wire) return undefined;
  return { slot: wire.slot, headerBytes: wire.header_bytes, record: recordOf(answered(wire.record, 'mirror.record')) };
}

/** GetMirrorRecord's answer. */
export function mirrorRecordResponseToWire(m: AgentMirror): GetMirrorRecordResponse {
  return { mirror: mirrorToWire(m) };
}

export function mirrorRecordResponseFromWire(wire: GetMirrorRecordResponse__Output): AgentMirror {
  return answered(mirrorFromWire(wire.mirror), 'mirror');
}

export function setMirrorRecordRequestToWire(req: SetMirrorRecordRequest): WireSetMirrorRecordRequest {
  return { volume_id: req.volumeId, initiator_iqn: req.initiatorIqn, expected_generation: req.expectedGeneration, record: mirrorRecordToWire(req.record) };
}

export function setMirrorRecordRequestFromWire(req: SetMirrorRecordRequest__Output): SetMirrorRecordRequest {
  return {
    volumeId: requireField(req.volume_id, 'volume_id'),
    initiatorIqn: requireField(req.initiator_iqn, 'initiator_iqn'),
    expectedGeneration: req.expected_generation,
    record: mirrorRecordFromWire(req.record, 'record'),
  };
}

export function setMirrorRecordResultToWire(r: SetMirrorRecordResult): SetMirrorRecordResponse {
  return { applied: r.applied, current: mirrorToWire(r.current) };
}

export function setMirrorRecordResultFromWire(wire: SetMirrorRecordResponse__Output): SetMirrorRecordResult {
  return { applied: wire.applied, current: answered(mirrorFromWire(wire.current), 'current') };
}

function mirrorSlotToWire(m: { readonly slot: number; readonly record: MirrorRecord }): MirrorSlot {
  return { slot: m.slot, record: mirrorRecordToWire(m.record) };
}

function mirrorSlotFromWire(wire: MirrorSlot__Output): { readonly slot: number; readonly record: MirrorRecord } {
  return { slot: wire.slot, record: mirrorRecordFromWire(wire.record, 'mirror.record') };
}

// --- volumes and snapshots --------------------------------------------------------------------

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
    initiator_details: v.initiators.map(initiatorToWire),
    mirror: v.mirror ? mirrorToWire(v.mirror) : null,
  };
}

/** An agent's volume; an agent older than initiator_details sends bare IQNs, read as read-write one-way CHAP. */
export function volumeFromWire(wire: Volume__Output | null): AgentVolume {
  const v = answered(wire, 'volume');
  const source = v.content_source?.source;
  const contentSource: AgentContentSource | undefined =
    source === 'snapshot_id' ? { kind: 'snapshot', id: v.content_source?.snapshot_id ?? '' } : source === 'volume_id' ? { kind: 'volume', id: v.content_source?.volume_id ?? '' } : undefined;
  const mirror = mirrorFromWire(v.mirror);
  return {
    id: v.id,
    name: v.name,
    sizeBytes: Number(v.size_bytes),
    thin: v.thin,
    contentSource,
    createdAt: dateOf(v.created_at),
    target: targetFromWire(v.target, 'volume.target'),
    initiators: v.initiator_details.length > 0 ? v.initiator_details.map(initiatorFromWire) : v.initiators.map((iqn) => ({ iqn, readOnly: false, mutualChap: false })),
    ...(mirror ? { mirror } : {}),
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

export function snapshotFromWire(wire: Snapshot__Output | null): AgentSnapshot {
  const s = answered(wire, 'snapshot');
  return { id: s.id, name: s.name, sourceVolumeId: s.source_volume_id, sizeBytes: Number(s.size_bytes), createdAt: dateOf(s.created_at), readyToUse: s.ready_to_use };
}

// --- requests ---------------------------------------------------------------------------------

export function createVolumeRequestToWire(req: CreateAgentVolumeRequest): CreateVolumeRequest {
  return {
    name: req.name,
    size_bytes: req.sizeBytes,
    thick: req.thick,
    content_source: contentSourceToWire(req.contentSource),
    mirror: req.mirror ? mirrorSlotToWire(req.mirror) : null,
  };
}

export function createVolumeRequestFromWire(req: CreateVolumeRequest__Output): CreateAgentVolumeRequest {
  const source = contentSourceFromWire(req.content_source);
  return {
    name: requireField(req.name, 'name'),
    sizeBytes: requireSize(req.size_bytes, 'size_bytes'),
    thick: req.thick,
    ...(source ? { contentSource: source } : {}),
    ...(req.mirror ? { mirror: mirrorSlotFromWire(req.mirror) } : {}),
  };
}

export function exportRequestToWire(req: ExportAgentVolumeRequest): ExportRequest {
  return { volume_id: req.volumeId, initiator_iqn: req.initiatorIqn, read_only: req.readOnly, mutual_chap: req.mutualChap };
}

export function exportRequestFromWire(req: ExportRequest__Output): ExportAgentVolumeRequest {
  return {
    volumeId: requireField(req.volume_id, 'volume_id'),
    initiatorIqn: requireField(req.initiator_iqn, 'initiator_iqn'),
    readOnly: req.read_only,
    mutualChap: req.mutual_chap,
  };
}

/** Unexport and GetChapCredentials name the same pair. */
export function volumeInitiatorToWire(req: { readonly volumeId: string; readonly initiatorIqn: string }): UnexportRequest {
  return { volume_id: req.volumeId, initiator_iqn: req.initiatorIqn };
}

export function volumeInitiatorFromWire(req: UnexportRequest__Output): { readonly volumeId: string; readonly initiatorIqn: string } {
  return { volumeId: requireField(req.volume_id, 'volume_id'), initiatorIqn: requireField(req.initiator_iqn, 'initiator_iqn') };
}

/** ListSnapshots' filter: an empty source_volume_id means every snapshot. */
export function snapshotFilterToWire(filter: { readonly sourceVolumeId?: string }): { source_volume_id: string } {
  return { source_volume_id: filter.sourceVolumeId ?? '' };
}

export function snapshotFilterFromWire(req: { readonly source_volume_id: string }): { readonly sourceVolumeId?: string } {
  return req.source_volume_id ? { sourceVolumeId: req.source_volume_id } : {};
}

// --- status -----------------------------------------------------------------------------------

/**
 * The figures placement needs from GetNodeStatus's answer; missing parts read as nothing to
 * offer. The agent builds the full NodeStatus message itself (src/agent/status): only this
 * condensed view is domain.
 */
export function statusFromWire(s: NodeStatus__Output): StorageNodeStatus {
  return {
    name: s.node_name,
    ready: s.ready,
    labels: { ...s.labels },
    extentSizeBytes: Number(s.volume_group?.extent_size_bytes ?? 0),
    thinAllocatableBytes: Number(s.thin_pool?.allocatable_bytes ?? 0),
    vgFreeBytes: Number(s.volume_group?.free_bytes ?? 0),
    thinPoolHealth: s.thin_pool?.health ?? 'unknown',
    ...(s.thin_pool ? { thinPoolDataUsedRatio: s.thin_pool.data_percent / 100, thinPoolMetadataUsedRatio: s.thin_pool.metadata_percent / 100 } : {}),
    utilization: s.io_load?.utilization ?? 0,
    averageLatencyMs: s.io_load?.average_latency_ms ?? 0,
    volumeCount: s.volume_count,
  };
}
