import { credentials } from '@grpc/grpc-js';
import type { ControllerClient } from '../generated/csi/v1/Controller.ts';
import type { NodeClient } from '../generated/csi/v1/Node.ts';
import type { CreateVolumeRequest } from '../generated/csi/v1/CreateVolumeRequest.ts';
import type { CreateVolumeResponse__Output } from '../generated/csi/v1/CreateVolumeResponse.ts';
import type { DeleteVolumeRequest } from '../generated/csi/v1/DeleteVolumeRequest.ts';
import type { DeleteVolumeResponse__Output } from '../generated/csi/v1/DeleteVolumeResponse.ts';
import type { ControllerPublishVolumeRequest } from '../generated/csi/v1/ControllerPublishVolumeRequest.ts';
import type { ControllerPublishVolumeResponse__Output } from '../generated/csi/v1/ControllerPublishVolumeResponse.ts';
import type { ControllerUnpublishVolumeRequest } from '../generated/csi/v1/ControllerUnpublishVolumeRequest.ts';
import type { ControllerUnpublishVolumeResponse__Output } from '../generated/csi/v1/ControllerUnpublishVolumeResponse.ts';
import type { ValidateVolumeCapabilitiesRequest } from '../generated/csi/v1/ValidateVolumeCapabilitiesRequest.ts';
import type { ValidateVolumeCapabilitiesResponse__Output } from '../generated/csi/v1/ValidateVolumeCapabilitiesResponse.ts';
import type { ListVolumesRequest } from '../generated/csi/v1/ListVolumesRequest.ts';
import type { ListVolumesResponse__Output } from '../generated/csi/v1/ListVolumesResponse.ts';
import type { GetCapacityRequest } from '../generated/csi/v1/GetCapacityRequest.ts';
import type { GetCapacityResponse__Output } from '../generated/csi/v1/GetCapacityResponse.ts';
import type { ControllerGetCapabilitiesRequest } from '../generated/csi/v1/ControllerGetCapabilitiesRequest.ts';
import type { ControllerGetCapabilitiesResponse__Output } from '../generated/csi/v1/ControllerGetCapabilitiesResponse.ts';
import type { CreateSnapshotRequest } from '../generated/csi/v1/CreateSnapshotRequest.ts';
import type { CreateSnapshotResponse__Output } from '../generated/csi/v1/CreateSnapshotResponse.ts';
import type { DeleteSnapshotRequest } from '../generated/csi/v1/DeleteSnapshotRequest.ts';
import type { DeleteSnapshotResponse__Output } from '../generated/csi/v1/DeleteSnapshotResponse.ts';
import type { ListSnapshotsRequest } from '../generated/csi/v1/ListSnapshotsRequest.ts';
import type { ListSnapshotsResponse__Output } from '../generated/csi/v1/ListSnapshotsResponse.ts';
import type { ControllerExpandVolumeRequest } from '../generated/csi/v1/ControllerExpandVolumeRequest.ts';
import type { ControllerExpandVolumeResponse__Output } from '../generated/csi/v1/ControllerExpandVolumeResponse.ts';
import type { ControllerGetVolumeRequest } from '../generated/csi/v1/ControllerGetVolumeRequest.ts';
import type { ControllerGetVolumeResponse__Output } from '../generated/csi/v1/ControllerGetVolumeResponse.ts';
import type { ControllerGetVolumeHealthRequest } from '../generated/csi/v1/ControllerGetVolumeHealthRequest.ts';
import type { ControllerGetVolumeHealthResponse__Output } from '../generated/csi/v1/ControllerGetVolumeHealthResponse.ts';
import type { NodeStageVolumeRequest } from '../generated/csi/v1/NodeStageVolumeRequest.ts';
import type { NodeStageVolumeResponse__Output } from '../generated/csi/v1/NodeStageVolumeResponse.ts';
import type { NodeUnstageVolumeRequest } from '../generated/csi/v1/NodeUnstageVolumeRequest.ts';
import type { NodeUnstageVolumeResponse__Output } from '../generated/csi/v1/NodeUnstageVolumeResponse.ts';
import type { NodePublishVolumeRequest } from '../generated/csi/v1/NodePublishVolumeRequest.ts';
import type { NodePublishVolumeResponse__Output } from '../generated/csi/v1/NodePublishVolumeResponse.ts';
import type { NodeUnpublishVolumeRequest } from '../generated/csi/v1/NodeUnpublishVolumeRequest.ts';
import type { NodeUnpublishVolumeResponse__Output } from '../generated/csi/v1/NodeUnpublishVolumeResponse.ts';
import type { NodeGetVolumeStatsRequest } from '../generated/csi/v1/NodeGetVolumeStatsRequest.ts';
import type { NodeGetVolumeStatsResponse__Output } from '../generated/csi/v1/NodeGetVolumeStatsResponse.ts';
import type { NodeGetVolumeHealthRequest } from '../generated/csi/v1/NodeGetVolumeHealthRequest.ts';
import type { NodeGetVolumeHealthResponse__Output } from '../generated/csi/v1/NodeGetVolumeHealthResponse.ts';
import type { NodeExpandVolumeRequest } from '../generated/csi/v1/NodeExpandVolumeRequest.ts';
import type { NodeExpandVolumeResponse__Output } from '../generated/csi/v1/NodeExpandVolumeResponse.ts';
import type { NodeGetCapabilitiesRequest } from '../generated/csi/v1/NodeGetCapabilitiesRequest.ts';
import type { NodeGetCapabilitiesResponse__Output } from '../generated/csi/v1/NodeGetCapabilitiesResponse.ts';
import type { NodeGetInfoRequest } from '../generated/csi/v1/NodeGetInfoRequest.ts';
import type { NodeGetInfoResponse__Output } from '../generated/csi/v1/NodeGetInfoResponse.ts';
import { unary } from './csiClients.ts';
import { loadCsiProto } from './loadProtos.ts';
import { RECONNECT_CHANNEL_OPTIONS } from './channelOptions.ts';

/**
 * The Controller and Node services of a CSI endpoint as promises, one method per RPC (the CLI,
 * the e2e scenarios and wire tests use it). Rejections are grpc-js ServiceErrors (code, details).
 */
export function connectCsi(address: string, deadlineMs = 120_000) {
  const csi = loadCsiProto().csi.v1;
  const ctrl: ControllerClient = new csi.Controller(address, credentials.createInsecure(), RECONNECT_CHANNEL_OPTIONS);
  const node: NodeClient = new csi.Node(address, credentials.createInsecure(), { channelOverride: ctrl.getChannel() });
  return {
    controller: {
      createVolume: (req: CreateVolumeRequest) => unary<CreateVolumeResponse__Output>((o, cb) => ctrl.CreateVolume(req, o, cb), deadlineMs),
      deleteVolume: (req: DeleteVolumeRequest) => unary<DeleteVolumeResponse__Output>((o, cb) => ctrl.DeleteVolume(req, o, cb), deadlineMs),
      controllerPublishVolume: (req: ControllerPublishVolumeRequest) => unary<ControllerPublishVolumeResponse__Output>((o, cb) => ctrl.ControllerPublishVolume(req, o, cb), deadlineMs),
      controllerUnpublishVolume: (req: ControllerUnpublishVolumeRequest) => unary<ControllerUnpublishVolumeResponse__Output>((o, cb) => ctrl.ControllerUnpublishVolume(req, o, cb), deadlineMs),
      validateVolumeCapabilities: (req: ValidateVolumeCapabilitiesRequest) => unary<ValidateVolumeCapabilitiesResponse__Output>((o, cb) => ctrl.ValidateVolumeCapabilities(req, o, cb), deadlineMs),
      listVolumes: (req: ListVolumesRequest) => unary<ListVolumesResponse__Output>((o, cb) => ctrl.ListVolumes(req, o, cb), deadlineMs),
      getCapacity: (req: GetCapacityRequest) => unary<GetCapacityResponse__Output>((o, cb) => ctrl.GetCapacity(req, o, cb), deadlineMs),
      controllerGetCapabilities: (req: ControllerGetCapabilitiesRequest) => unary<ControllerGetCapabilitiesResponse__Output>((o, cb) => ctrl.ControllerGetCapabilities(req, o, cb), deadlineMs),
      createSnapshot: (req: CreateSnapshotRequest) => unary<CreateSnapshotResponse__Output>((o, cb) => ctrl.CreateSnapshot(req, o, cb), deadlineMs),
      deleteSnapshot: (req: DeleteSnapshotRequest) => unary<DeleteSnapshotResponse__Output>((o, cb) => ctrl.DeleteSnapshot(req, o, cb), deadlineMs),
      listSnapshots: (req: ListSnapshotsRequest) => unary<ListSnapshotsResponse__Output>((o, cb) => ctrl.ListSnapshots(req, o, cb), deadlineMs),
      controllerExpandVolume: (req: ControllerExpandVolumeRequest) => unary<ControllerExpandVolumeResponse__Output>((o, cb) => ctrl.ControllerExpandVolume(req, o, cb), deadlineMs),
      controllerGetVolume: (req: ControllerGetVolumeRequest) => unary<ControllerGetVolumeResponse__Output>((o, cb) => ctrl.ControllerGetVolume(req, o, cb), deadlineMs),
      controllerGetVolumeHealth: (req: ControllerGetVolumeHealthRequest) => unary<ControllerGetVolumeHealthResponse__Output>((o, cb) => ctrl.ControllerGetVolumeHealth(req, o, cb), deadlineMs),
    },
    node: {
      nodeStageVolume: (req: NodeStageVolumeRequest) => unary<NodeStageVolumeResponse__Output>((o, cb) => node.NodeStageVolume(req, o, cb), deadlineMs),
      nodeUnstageVolume: (req: NodeUnstageVolumeRequest) => unary<NodeUnstageVolumeResponse__Output>((o, cb) => node.NodeUnstageVolume(req, o, cb), deadlineMs),
      nodePublishVolume: (req: NodePublishVolumeRequest) => unary<NodePublishVolumeResponse__Output>((o, cb) => node.NodePublishVolume(req, o, cb), deadlineMs),
      nodeUnpublishVolume: (req: NodeUnpublishVolumeRequest) => unary<NodeUnpublishVolumeResponse__Output>((o, cb) => node.NodeUnpublishVolume(req, o, cb), deadlineMs),
      nodeGetVolumeStats: (req: NodeGetVolumeStatsRequest) => unary<NodeGetVolumeStatsResponse__Output>((o, cb) => node.NodeGetVolumeStats(req, o, cb), deadlineMs),
      nodeGetVolumeHealth: (req: NodeGetVolumeHealthRequest) => unary<NodeGetVolumeHealthResponse__Output>((o, cb) => node.NodeGetVolumeHealth(req, o, cb), deadlineMs),
      nodeExpandVolume: (req: NodeExpandVolumeRequest) => unary<NodeExpandVolumeResponse__Output>((o, cb) => node.NodeExpandVolume(req, o, cb), deadlineMs),
      nodeGetCapabilities: (req: NodeGetCapabilitiesRequest) => unary<NodeGetCapabilitiesResponse__Output>((o, cb) => node.NodeGetCapabilities(req, o, cb), deadlineMs),
      nodeGetInfo: (req: NodeGetInfoRequest) => unary<NodeGetInfoResponse__Output>((o, cb) => node.NodeGetInfo(req, o, cb), deadlineMs),
    },
    close: () => {
      node.close();
      ctrl.close();
    },
  };
}
export type CsiApi = ReturnType<typeof connectCsi>;
