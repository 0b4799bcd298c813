import { status as grpcStatus } from '@grpc/grpc-js';
import type { CallOptions, ChannelCredentials, ClientUnaryCall, requestCallback } from '@grpc/grpc-js';
import { OperationPendingError, UnavailableError } from '../errors.ts';
import type { AgentCredentialsClient } from '../generated/vbs/agent/v1/AgentCredentials.ts';
import type { AgentStatusClient } from '../generated/vbs/agent/v1/AgentStatus.ts';
import type { AgentVolumesClient } from '../generated/vbs/agent/v1/AgentVolumes.ts';
import type { CreateSnapshotResponse__Output } from '../generated/vbs/agent/v1/CreateSnapshotResponse.ts';
import type { CreateVolumeRequest } from '../generated/vbs/agent/v1/CreateVolumeRequest.ts';
import type { CreateVolumeResponse__Output } from '../generated/vbs/agent/v1/CreateVolumeResponse.ts';
import type { ExpandVolumeResponse__Output } from '../generated/vbs/agent/v1/ExpandVolumeResponse.ts';
import type { ExportRequest } from '../generated/vbs/agent/v1/ExportRequest.ts';
import type { ExportResponse__Output } from '../generated/vbs/agent/v1/ExportResponse.ts';
import type { GetChapCredentialsResponse__Output } from '../generated/vbs/agent/v1/GetChapCredentialsResponse.ts';
import type { GetMirrorRecordResponse__Output } from '../generated/vbs/agent/v1/GetMirrorRecordResponse.ts';
import type { GetSnapshotResponse__Output } from '../generated/vbs/agent/v1/GetSnapshotResponse.ts';
import type { GetVolumeResponse__Output } from '../generated/vbs/agent/v1/GetVolumeResponse.ts';
import type { ListSnapshotsResponse__Output } from '../generated/vbs/agent/v1/ListSnapshotsResponse.ts';
import type { ListVolumesResponse__Output } from '../generated/vbs/agent/v1/ListVolumesResponse.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import type { SetMirrorRecordRequest } from '../generated/vbs/agent/v1/SetMirrorRecordRequest.ts';
import type { SetMirrorRecordResponse__Output } from '../generated/vbs/agent/v1/SetMirrorRecordResponse.ts';
import { RECONNECT_CHANNEL_OPTIONS } from '../grpc/channelOptions.ts';
import { loadAgentProto } from '../grpc/loadProtos.ts';
import { domainErrorClassFor, isServiceError } from '../grpc/toGrpcStatus.ts';
import type { AgentCredentialsPort, AgentExport, StorageAgent } from './types.ts';
import {
  createVolumeRequestToWire,
  credentialsFromWire,
  exportResponseFromWire,
  exportRequestToWire,
  mirrorRecordResponseFromWire,
  setMirrorRecordRequestToWire,
  setMirrorRecordResultFromWire,
  snapshotFilterToWire,
  snapshotFromWire,
  statusFromWire,
  volumeFromWire,
} from './wire.ts';

/**
 * Per-call deadlines. Reads answer from LVM reports and LIO's configfs and are quick; changes
 * queue behind the agent's VG-wide mutex, so during a burst one lvcreate may wait for twenty
 * others under a slow disk. A change that outlives its deadline still completes on the agent;
 * the caller only loses the answer, so the change deadline is long enough not to lose it.
 */
export interface AgentDeadlines {
  readonly readMs: number;
  readonly changeMs: number;
}

export const DEFAULT_AGENT_DEADLINES: AgentDeadlines = { readMs: 60_000, changeMs: 600_000 };

/**
 * Runs one unary call: resolves with its answer or rejects with grpc-js's ServiceError. When
 * `signal` aborts, the call is cancelled (the server's handler sees `cancelled`, and the agent's
 * adaptUnary aborts the domain call) and the promise rejects with CANCELLED.
 */
function unaryCall<Res>(invoke: (options: CallOptions, cb: requestCallback<Res>) => ClientUnaryCall, deadlineMs: number, signal: AbortSignal | undefined): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const onAbort = () => call.cancel();
    const call = invoke({ deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res as Res);
    });
    if (signal?.aborted) call.cancel();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A storage agent's three services as promises of wire messages, over one mutual-TLS channel
 * (grpc-js address host:port). Errors reject with grpc-js's ServiceError. For those who need the
 * messages themselves (the CLI's `nodes` shows the whole NodeStatus; e2e checks codes); the
 * controller uses connectAgent. A number sets both deadlines.
 */
export function connectAgentWire(address: string, channelCredentials: ChannelCredentials, deadlines: AgentDeadlines | number = DEFAULT_AGENT_DEADLINES) {
  const { readMs, changeMs } = typeof deadlines === 'number' ? { readMs: deadlines, changeMs: deadlines } : deadlines;
  const proto = loadAgentProto().vbs.agent.v1;
  const status: AgentStatusClient = new proto.AgentStatus(address, channelCredentials, RECONNECT_CHANNEL_OPTIONS);
  // All services on one channel: grpc-js shares it when the other clients are built from the first's.
  const volumes: AgentVolumesClient = new proto.AgentVolumes(address, channelCredentials, { channelOverride: status.getChannel() });
  const credentials: AgentCredentialsClient = new proto.AgentCredentials(address, channelCredentials, { channelOverride: status.getChannel() });
  const read = <Res>(invoke: (o: CallOptions, cb: requestCallback<Res>) => ClientUnaryCall, signal?: AbortSignal) => unaryCall<Res>(invoke, readMs, signal);
  const change = <Res>(invoke: (o: CallOptions, cb: requestCallback<Res>) => ClientUnaryCall, signal?: AbortSignal) => unaryCall<Res>(invoke, changeMs, signal);
  return {
    getNodeStatus: (signal?: AbortSignal) => read<NodeStatus__Output>((o, cb) => status.GetNodeStatus({}, o, cb), signal),
    createVolume: (req: CreateVolumeRequest, signal?: AbortSignal) => change<CreateVolumeResponse__Output>((o, cb) => volumes.CreateVolume(req, o, cb), signal),
    expandVolume: (id: string, sizeBytes: number, signal?: AbortSignal) =>
      change<ExpandVolumeResponse__Output>((o, cb) => volumes.ExpandVolume({ id, size_bytes: sizeBytes }, o, cb), signal),
    deleteVolume: (id: string, signal?: AbortSignal) => change<object>((o, cb) => volumes.DeleteVolume({ id }, o, cb), signal),
    getVolume: (id: string, signal?: AbortSignal) => read<GetVolumeResponse__Output>((o, cb) => volumes.GetVolume({ id }, o, cb), signal),
    listVolumes: (signal?: AbortSignal) => read<ListVolumesResponse__Output>((o, cb) => volumes.ListVolumes({}, o, cb), signal),
    createSnapshot: (name: string, sourceVolumeId: string, signal?: AbortSignal) =>
      change<CreateSnapshotResponse__Output>((o, cb) => volumes.CreateSnapshot({ name, source_volume_id: sourceVolumeId }, o, cb), signal),
    deleteSnapshot: (id: string, signal?: AbortSignal) => change<object>((o, cb) => volumes.DeleteSnapshot({ id }, o, cb), signal),
    getSnapshot: (id: string, signal?: AbortSignal) => read<GetSnapshotResponse__Output>((o, cb) => volumes.GetSnapshot({ id }, o, cb), signal),
    listSnapshots: (sourceVolumeId = '', signal?: AbortSignal) =>
      read<ListSnapshotsResponse__Output>((o, cb) => volumes.ListSnapshots({ source_volume_id: sourceVolumeId }, o, cb), signal),
    exportVolume: (req: ExportRequest, signal?: AbortSignal) => change<ExportResponse__Output>((o, cb) => volumes.Export(req, o, cb), signal),
    unexportVolume: (volumeId: string, initiatorIqn: string, signal?: AbortSignal) =>
      change<object>((o, cb) => volumes.Unexport({ volume_id: volumeId, initiator_iqn: initiatorIqn }, o, cb), signal),
    getChapCredentials: (volumeId: string, initiatorIqn: string, signal?: AbortSignal) =>
      read<GetChapCredentialsResponse__Output>((o, cb) => credentials.GetChapCredentials({ volume_id: volumeId, initiator_iqn: initiatorIqn }, o, cb), signal),
    getMirrorRecord: (volumeId: string, initiatorIqn: string, signal?: AbortSignal) =>
      read<GetMirrorRecordResponse__Output>((o, cb) => credentials.GetMirrorRecord({ volume_id: volumeId, initiator_iqn: initiatorIqn }, o, cb), signal),
    setMirrorRecord: (req: SetMirrorRecordRequest, signal?: AbortSignal) => change<SetMirrorRecordResponse__Output>((o, cb) => credentials.SetMirrorRecord(req, o, cb), signal),
    close: () => {
      credentials.close();
      volumes.close();
      status.close();
    },
  };
}
export type AgentWireApi = ReturnType<typeof connectAgentWire>;

/**
 * A storage agent in domain terms, and the node plugin's AgentCredentials calls (node plugins
 * only): the CHAP credentials, and a replicated volume's copy record (read and compare-and-set,
 * as AgentCredentialsPort names them).
 */
export interface AgentClient extends StorageAgent, Pick<AgentCredentialsPort, 'mirrorRecord' | 'setMirrorRecord'> {
  /** The CHAP credentials of one initiator on one volume, and the target they are for. */
  getChapCredentials(volumeId: string, initiatorIqn: string, signal?: AbortSignal): Promise<AgentExport>;
}

/**
 * A storage agent reached over gRPC with mutual TLS. Wire messages become the contract's domain
 * objects, and the agent's status codes become domain errors, prefixed with the address so an
 * operator knows which node said what. A transport failure (connection refused, TLS refused,
 * deadline) is UnavailableError: the CO retries, and nothing is assumed about the volume. Every
 * call takes the caller's signal: aborting it cancels the gRPC call, so an agent stops working
 * for a CSI call its CO gave up on.
 */
export function connectAgent(address: string, channelCredentials: ChannelCredentials, deadlines: AgentDeadlines | number = DEFAULT_AGENT_DEADLINES): AgentClient {
  const api = connectAgentWire(address, channelCredentials, deadlines);
  const who = `storage agent ${address}`;
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err: unknown) {
      throw toDomainError(err, who, what);
    }
  };
  return {
    getNodeStatus: (signal) => call('GetNodeStatus', async () => statusFromWire(await api.getNodeStatus(signal))),
    createVolume: (req, signal) => call(`CreateVolume ${req.name}`, async () => volumeFromWire((await api.createVolume(createVolumeRequestToWire(req), signal)).volume)),
    expandVolume: (id, sizeBytes, signal) => call(`ExpandVolume ${id}`, async () => volumeFromWire((await api.expandVolume(id, sizeBytes, signal)).volume)),
    deleteVolume: (id, signal) => call(`DeleteVolume ${id}`, async () => void (await api.deleteVolume(id, signal))),
    getVolume: (id, signal) => call(`GetVolume ${id}`, async () => volumeFromWire((await api.getVolume(id, signal)).volume)),
    listVolumes: (signal) => call('ListVolumes', async () => (await api.listVolumes(signal)).volumes.map((v) => volumeFromWire(v))),
    createSnapshot: (req, signal) =>
      call(`CreateSnapshot ${req.name}`, async () => snapshotFromWire((await api.createSnapshot(req.name, req.sourceVolumeId, signal)).snapshot)),
    deleteSnapshot: (id, signal) => call(`DeleteSnapshot ${id}`, async () => void (await api.deleteSnapshot(id, signal))),
    getSnapshot: (id, signal) => call(`GetSnapshot ${id}`, async () => snapshotFromWire((await api.getSnapshot(id, signal)).snapshot)),
    listSnapshots: (filter, signal) =>
      call('ListSnapshots', async () => (await api.listSnapshots(snapshotFilterToWire(filter).source_volume_id, signal)).snapshots.map((s) => snapshotFromWire(s))),
    exportVolume: (req, signal) => call(`Export ${req.volumeId}`, async () => exportResponseFromWire(await api.exportVolume(exportRequestToWire(req), signal))),
    unexportVolume: (req, signal) => call(`Unexport ${req.volumeId}`, async () => void (await api.unexportVolume(req.volumeId, req.initiatorIqn, signal))),
    getChapCredentials: (volumeId, initiatorIqn, signal) =>
      call(`GetChapCredentials ${volumeId}`, async () => credentialsFromWire(await api.getChapCredentials(volumeId, initiatorIqn, signal))),
    mirrorRecord: (req, signal) => call(`GetMirrorRecord ${req.volumeId}`, async () => mirrorRecordResponseFromWire(await api.getMirrorRecord(req.volumeId, req.initiatorIqn, signal))),
    setMirrorRecord: (req, signal) =>
      call(`SetMirrorRecord ${req.volumeId}`, async () => setMirrorRecordResultFromWire(await api.setMirrorRecord(setMirrorRecordRequestToWire(req), signal))),
    close: () => api.close(),
  };
}

/**
 * The agent's gRPC status as a domain error. Any other code (INTERNAL, UNKNOWN, UNIMPLEMENTED,
 * PERMISSION_DENIED...) becomes a plain Error, hence INTERNAL with the details in the caller's
 * log: passed through as is, an agent's UNIMPLEMENTED would tell the CO that the controller lacks
 * the RPC. Errors that are not gRPC statuses are returned unchanged.
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
