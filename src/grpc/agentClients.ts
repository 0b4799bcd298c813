import type { ChannelCredentials } from '@grpc/grpc-js';
import type { AgentStatusClient } from '../generated/vbs/agent/v1/AgentStatus.ts';
import type { AgentVolumesClient } from '../generated/vbs/agent/v1/AgentVolumes.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import type { CreateVolumeRequest } from '../generated/vbs/agent/v1/CreateVolumeRequest.ts';
import type { CreateVolumeResponse__Output } from '../generated/vbs/agent/v1/CreateVolumeResponse.ts';
import type { ExpandVolumeResponse__Output } from '../generated/vbs/agent/v1/ExpandVolumeResponse.ts';
import type { GetVolumeResponse__Output } from '../generated/vbs/agent/v1/GetVolumeResponse.ts';
import type { ListVolumesResponse__Output } from '../generated/vbs/agent/v1/ListVolumesResponse.ts';
import type { CreateSnapshotResponse__Output } from '../generated/vbs/agent/v1/CreateSnapshotResponse.ts';
import type { GetSnapshotResponse__Output } from '../generated/vbs/agent/v1/GetSnapshotResponse.ts';
import type { ListSnapshotsResponse__Output } from '../generated/vbs/agent/v1/ListSnapshotsResponse.ts';
import type { ExportRequest } from '../generated/vbs/agent/v1/ExportRequest.ts';
import type { ExportResponse__Output } from '../generated/vbs/agent/v1/ExportResponse.ts';
import { unary } from './csiClients.ts';
import { loadAgentProto } from './loadProtos.ts';
import { RECONNECT_CHANNEL_OPTIONS } from './channelOptions.ts';

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
 * A storage agent's API as promises, over one mutual-TLS channel (grpc-js address host:port).
 * Errors reject with grpc-js's ServiceError, whose code and details the controller passes on.
 * A number sets both deadlines.
 */
export function connectAgent(address: string, channelCredentials: ChannelCredentials, deadlines: AgentDeadlines | number = DEFAULT_AGENT_DEADLINES) {
  const { readMs, changeMs } = typeof deadlines === 'number' ? { readMs: deadlines, changeMs: deadlines } : deadlines;
  const proto = loadAgentProto().vbs.agent.v1;
  const status: AgentStatusClient = new proto.AgentStatus(address, channelCredentials, RECONNECT_CHANNEL_OPTIONS);
  // Both services on one channel: grpc-js shares it when the second client is built from the first's.
  const volumes: AgentVolumesClient = new proto.AgentVolumes(address, channelCredentials, { channelOverride: status.getChannel() });
  const call = <Res>(invoke: Parameters<typeof unary<Res>>[0]) => unary<Res>(invoke, readMs);
  const change = <Res>(invoke: Parameters<typeof unary<Res>>[0]) => unary<Res>(invoke, changeMs);
  return {
    getNodeStatus: () => call<NodeStatus__Output>((o, cb) => status.GetNodeStatus({}, o, cb)),
    createVolume: (req: CreateVolumeRequest) => change<CreateVolumeResponse__Output>((o, cb) => volumes.CreateVolume(req, o, cb)),
    expandVolume: (id: string, sizeBytes: number) => change<ExpandVolumeResponse__Output>((o, cb) => volumes.ExpandVolume({ id, size_bytes: sizeBytes }, o, cb)),
    deleteVolume: (id: string) => change<object>((o, cb) => volumes.DeleteVolume({ id }, o, cb)),
    getVolume: (id: string) => call<GetVolumeResponse__Output>((o, cb) => volumes.GetVolume({ id }, o, cb)),
    listVolumes: () => call<ListVolumesResponse__Output>((o, cb) => volumes.ListVolumes({}, o, cb)),
    createSnapshot: (name: string, sourceVolumeId: string) =>
      change<CreateSnapshotResponse__Output>((o, cb) => volumes.CreateSnapshot({ name, source_volume_id: sourceVolumeId }, o, cb)),
    deleteSnapshot: (id: string) => change<object>((o, cb) => volumes.DeleteSnapshot({ id }, o, cb)),
    getSnapshot: (id: string) => call<GetSnapshotResponse__Output>((o, cb) => volumes.GetSnapshot({ id }, o, cb)),
    listSnapshots: (sourceVolumeId = '') => call<ListSnapshotsResponse__Output>((o, cb) => volumes.ListSnapshots({ source_volume_id: sourceVolumeId }, o, cb)),
    exportVolume: (req: ExportRequest) => change<ExportResponse__Output>((o, cb) => volumes.Export(req, o, cb)),
    unexportVolume: (volumeId: string, initiatorIqn: string) => change<object>((o, cb) => volumes.Unexport({ volume_id: volumeId, initiator_iqn: initiatorIqn }, o, cb)),
    close: () => {
      volumes.close();
      status.close();
    },
  };
}
export type AgentApi = ReturnType<typeof connectAgent>;
