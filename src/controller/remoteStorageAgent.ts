import { status as grpcStatus } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { AgentContentSource, AgentSnapshot, AgentVolume, StorageAgent, StorageNodeStatus } from '../agentApi/types.ts';
import { OperationPendingError, UnavailableError } from '../errors.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import type { Snapshot__Output } from '../generated/vbs/agent/v1/Snapshot.ts';
import type { Volume__Output } from '../generated/vbs/agent/v1/Volume.ts';
import type { Timestamp__Output } from '../generated/google/protobuf/Timestamp.ts';
import { DEFAULT_AGENT_DEADLINES, connectAgent } from '../grpc/agentClients.ts';
import type { AgentDeadlines } from '../grpc/agentClients.ts';
import { domainErrorClassFor, isServiceError } from '../grpc/toGrpcStatus.ts';

/**
 * A storage agent reached over gRPC with mutual TLS. Wire messages become the agent's domain
 * objects, and the agent's status codes become domain errors, prefixed with the address so an
 * operator knows which node said what. A transport failure (connection refused, TLS refused,
 * deadline) is UnavailableError: the CO retries, and nothing is assumed about the volume.
 */
export function remoteStorageAgent(address: string, channelCredentials: ChannelCredentials, deadlines: AgentDeadlines = DEFAULT_AGENT_DEADLINES): StorageAgent {
  const api = connectAgent(address, channelCredentials, deadlines);
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err: unknown) {
      throw toDomainError(err, `storage agent ${address}`, what);
    }
  };
  return {
    getNodeStatus: () => call('GetNodeStatus', async () => statusFromWire(await api.getNodeStatus())),
    createVolume: (req) =>
      call(`CreateVolume ${req.name}`, async () => {
        const source = req.contentSource;
        const res = await api.createVolume({
          name: req.name,
          size_bytes: req.sizeBytes,
          thick: req.thick,
          content_source: source ? (source.kind === 'snapshot' ? { snapshot_id: source.id } : { volume_id: source.id }) : null,
        });
        return volumeFromWire(res.volume);
      }),
    expandVolume: (id, sizeBytes) => call(`ExpandVolume ${id}`, async () => volumeFromWire((await api.expandVolume(id, sizeBytes)).volume)),
    deleteVolume: (id) => call(`DeleteVolume ${id}`, async () => void (await api.deleteVolume(id))),
    getVolume: (id) => call(`GetVolume ${id}`, async () => volumeFromWire((await api.getVolume(id)).volume)),
    listVolumes: () => call('ListVolumes', async () => (await api.listVolumes()).volumes.map((v) => volumeFromWire(v))),
    createSnapshot: (req) => call(`CreateSnapshot ${req.name}`, async () => snapshotFromWire((await api.createSnapshot(req.name, req.sourceVolumeId)).snapshot)),
    deleteSnapshot: (id) => call(`DeleteSnapshot ${id}`, async () => void (await api.deleteSnapshot(id))),
    getSnapshot: (id) => call(`GetSnapshot ${id}`, async () => snapshotFromWire((await api.getSnapshot(id)).snapshot)),
    listSnapshots: (filter) => call('ListSnapshots', async () => (await api.listSnapshots(filter.sourceVolumeId ?? '')).snapshots.map((s) => snapshotFromWire(s))),
    exportVolume: (req) =>
      call(`Export ${req.volumeId}`, async () => {
        const res = await api.exportVolume({ volume_id: req.volumeId, initiator_iqn: req.initiatorIqn, read_only: req.readOnly, mutual_chap: req.mutualChap });
        const t = required(res.target, 'target');
        const chap = required(res.chap, 'chap');
        return {
          target: { iqn: t.iqn, portal: { ip: required(t.portal, 'target.portal').ip, port: required(t.portal, 'target.portal').port }, lun: t.lun, serial: t.serial },
          chap: {
            username: chap.username,
            password: chap.password,
            ...(chap.mutual_username !== '' ? { mutual: { username: chap.mutual_username, password: chap.mutual_password } } : {}),
          },
        };
      }),
    unexportVolume: (req) => call(`Unexport ${req.volumeId}`, async () => void (await api.unexportVolume(req.volumeId, req.initiatorIqn))),
    close: () => api.close(),
  };
}

function required<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined) throw new Error(`the agent's answer has no ${field}`);
  return value;
}

function dateOf(ts: Timestamp__Output | null): Date {
  return ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000)) : new Date(0);
}

export function volumeFromWire(wire: Volume__Output | null): AgentVolume {
  const v = required(wire, 'volume');
  const t = required(v.target, 'volume.target');
  const portal = required(t.portal, 'volume.target.portal');
  const source = v.content_source?.source;
  const contentSource: AgentContentSource | undefined =
    source === 'snapshot_id' ? { kind: 'snapshot', id: v.content_source?.snapshot_id ?? '' } : source === 'volume_id' ? { kind: 'volume', id: v.content_source?.volume_id ?? '' } : undefined;
  return {
    id: v.id,
    name: v.name,
    sizeBytes: Number(v.size_bytes),
    thin: v.thin,
    contentSource,
    createdAt: dateOf(v.created_at),
    target: { iqn: t.iqn, portal: { ip: portal.ip, port: portal.port }, lun: t.lun, serial: t.serial },
    initiators:
      v.initiator_details.length > 0
        ? v.initiator_details.map((i) => ({ iqn: i.iqn, readOnly: i.read_only, mutualChap: i.mutual_chap }))
        : v.initiators.map((iqn) => ({ iqn, readOnly: false, mutualChap: false })),
  };
}

export function snapshotFromWire(wire: Snapshot__Output | null): AgentSnapshot {
  const s = required(wire, 'snapshot');
  return { id: s.id, name: s.name, sourceVolumeId: s.source_volume_id, sizeBytes: Number(s.size_bytes), createdAt: dateOf(s.created_at), readyToUse: s.ready_to_use };
}

export function statusFromWire(s: NodeStatus__Output): StorageNodeStatus {
  return {
    name: s.node_name,
    ready: s.ready,
    labels: { ...s.labels },
    extentSizeBytes: Number(s.volume_group?.extent_size_bytes ?? 0),
    thinAllocatableBytes: Number(s.thin_pool?.allocatable_bytes ?? 0),
    vgFreeBytes: Number(s.volume_group?.free_bytes ?? 0),
    thinPoolHealth: s.thin_pool?.health ?? 'unknown',
    utilization: s.io_load?.utilization ?? 0,
    averageLatencyMs: s.io_load?.average_latency_ms ?? 0,
    volumeCount: s.volume_count,
  };
}

/**
 * The agent's gRPC status as the controller's domain error. Any other code (INTERNAL, UNKNOWN,
 * UNIMPLEMENTED, PERMISSION_DENIED...) becomes a plain Error, hence INTERNAL with the details in
 * the controller's log: passed through as is, an agent's UNIMPLEMENTED would tell the CO that the
 * controller lacks the RPC. Errors that are not gRPC statuses are returned unchanged.
 */
export function toDomainError(err: unknown, who: string, what: string): unknown {
  if (!isServiceError(err)) return err;
  switch (err.code) {
    case grpcStatus.ABORTED:
      return new OperationPendingError(`${what} (${who})`);
    case grpcStatus.UNAVAILABLE:
    case grpcStatus.DEADLINE_EXCEEDED:
    case grpcStatus.CANCELLED:
      return new UnavailableError(`${who} is unreachable or not ready (${what}): ${err.details}`);
  }
  const DomainError = domainErrorClassFor(err.code);
  if (DomainError) return new DomainError(`${who}: ${err.details || what}`);
  return new Error(`${who}: ${what} failed with ${grpcStatus[err.code] ?? err.code}: ${err.details}`, { cause: err });
}
