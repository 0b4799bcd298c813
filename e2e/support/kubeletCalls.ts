import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import type { ClusterWorker } from './csiCluster.ts';
import { recordTargetChapSecrets } from './secretLedger.ts';
import type { StepClock } from './stepClock.ts';

/** A volume staged and published on one worker, with kubelet's paths. */
export interface Attachment {
  readonly worker: ClusterWorker;
  readonly volumeId: string;
  readonly capability: VolumeCapability;
  readonly staging: string;
  /** The pod's mount directory, or for a block volume the device file a pod (a KubeVirt VM) opens. */
  readonly target: string;
}

/**
 * What kubelet does once a VolumeAttachment is attached: NodeStageVolume, then NodePublishVolume
 * for one pod, with its directory layout (filesystem vs volumeDevices). Each call is made twice,
 * as kubelet's retries do, to prove it idempotent.
 */
export async function stageAndPublish(
  clock: StepClock,
  kubeletDir: string,
  worker: ClusterWorker,
  req: { readonly volumeId: string; readonly pvName: string; readonly podUid: string; readonly capability: VolumeCapability; readonly publishContext: Record<string, string> },
): Promise<Attachment> {
  const block = req.capability.block !== undefined && req.capability.block !== null;
  // Each worker has its own kubelet root: two workers share this VM, not their paths.
  const root = join(kubeletDir, worker.name);
  const csiDir = join(root, 'plugins', 'kubernetes.io', 'csi');
  const staging = block ? join(csiDir, 'volumeDevices', 'staging', req.pvName) : join(csiDir, 'vbs.csi.io', req.pvName, 'globalmount');
  const target = block ? join(csiDir, 'volumeDevices', 'publish', req.pvName, req.podUid) : join(root, 'pods', req.podUid, 'volumes', 'kubernetes.io~csi', req.pvName, 'mount');
  await mkdir(staging, { recursive: true });
  // The secrets the node plugin will fetch from the agent, for the secrets scan.
  await recordTargetChapSecrets(`${req.pvName} on ${worker.name}`, req.publishContext['targetIqn']);
  const stage = { volume_id: req.volumeId, staging_target_path: staging, volume_capability: req.capability, publish_context: req.publishContext };
  await clock.timed(`${worker.name}: NodeStageVolume ${req.pvName}`, () => worker.csi.node.nodeStageVolume(stage));
  await clock.timed(`${worker.name}: NodeStageVolume ${req.pvName} again`, () => worker.csi.node.nodeStageVolume(stage));
  const publish = { volume_id: req.volumeId, staging_target_path: staging, target_path: target, volume_capability: req.capability, readonly: false };
  await clock.timed(`${worker.name}: NodePublishVolume ${req.pvName}`, () => worker.csi.node.nodePublishVolume(publish));
  await clock.timed(`${worker.name}: NodePublishVolume ${req.pvName} again`, () => worker.csi.node.nodePublishVolume(publish));
  return { worker, volumeId: req.volumeId, capability: req.capability, staging, target };
}

/** Kubelet's side of a pod's end: NodeUnpublishVolume then NodeUnstageVolume, each twice. */
export async function unpublishAndUnstage(clock: StepClock, a: Attachment): Promise<void> {
  const unpublish = { volume_id: a.volumeId, target_path: a.target };
  await clock.timed(`${a.worker.name}: NodeUnpublishVolume`, () => a.worker.csi.node.nodeUnpublishVolume(unpublish));
  await clock.timed(`${a.worker.name}: NodeUnpublishVolume again`, () => a.worker.csi.node.nodeUnpublishVolume(unpublish));
  const unstage = { volume_id: a.volumeId, staging_target_path: a.staging };
  await clock.timed(`${a.worker.name}: NodeUnstageVolume`, () => a.worker.csi.node.nodeUnstageVolume(unstage));
  await clock.timed(`${a.worker.name}: NodeUnstageVolume again`, () => a.worker.csi.node.nodeUnstageVolume(unstage));
}
