import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { isMirrorPublishContext, parseMirrorPublishContext, parsePublishContext } from '../csi/publishContext.ts';
import { TOPOLOGY_ZONE_KEY } from '../csi/nodeIds.ts';
import type { NodeHandlers } from '../generated/csi/v1/Node.ts';
import type { NodeServiceCapability } from '../generated/csi/v1/NodeServiceCapability.ts';
import { unaryAdapter } from '../grpc/adaptUnary.ts';
import type { CallObserver } from '../grpc/adaptUnary.ts';
import { GrpcStatusError } from '../grpc/toGrpcStatus.ts';
import { KeyedLocks } from '../locks/index.ts';
import { expandVolume } from './expandVolume.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { publishVolume, unpublishVolume } from './publishVolume.ts';
import { stageMirror } from './stageMirror.ts';
import { stageVolume } from './stageVolume.ts';
import { unstageVolume } from './unstageVolume.ts';
import { knownVolumeId, parseVolumeCapability, requireField } from './volumeAccess.ts';
import { volumeHealth } from './volumeHealth.ts';
import { volumeStats } from './volumeStats.ts';

/**
 * What the node service advertises: only what it implements and the e2e proves.
 * SINGLE_NODE_MULTI_WRITER: SINGLE_NODE_SINGLE_WRITER is enforced (one target path) and
 * SINGLE_NODE_MULTI_WRITER allowed at several. GET_VOLUME_HEALTH: NodeGetVolumeHealth reports a
 * down session, a missing device and a read-only filesystem (CSI 1.13's replacement of
 * VOLUME_CONDITION).
 */
export const NODE_CAPABILITIES: readonly NodeServiceCapability[] = (
  ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'SINGLE_NODE_MULTI_WRITER', 'GET_VOLUME_HEALTH'] as const
).map((type) => ({ rpc: { type } }));

export interface NodeServiceOptions {
  readonly deps: NodeDeps;
  readonly zone: string;
  readonly log: Logger;
  /** Hears every call's method, code and duration (metrics). */
  readonly calls?: CallObserver | undefined;
  /** The per-volume locks; shared with the mirror watch so it never acts under a call on the volume. */
  readonly locks?: KeyedLocks;
}

/**
 * The CSI Node service. Handlers check that every required field is there and well-formed before
 * they look at the volume id: a missing field is INVALID_ARGUMENT even for a volume that does not
 * exist (csi-sanity, https://github.com/kubernetes-csi/csi-test/blob/master/pkg/sanity/node.go).
 * Then they take the volume's fail-fast lock (a second call on a busy volume gets ABORTED at once
 * and kubelet retries, rather than queueing behind a login that may take minutes) and call one
 * step function each. Read-only calls (stats, health, info) take no lock.
 */
export function createNodeHandlers(opts: NodeServiceOptions): NodeHandlers {
  const { deps, log } = opts;
  const unary = unaryAdapter(log, { calls: opts.calls });
  const locks = opts.locks ?? new KeyedLocks();
  const exclusive = <T>(volumeId: string, fn: () => Promise<T>): Promise<T> => locks.runExclusive(`volume ${volumeId}`, fn);

  return {
    NodeStageVolume: unary('NodeStageVolume', async (req, ctx) => {
      const id = requireField(req.volume_id, 'volume_id');
      const stagingPath = requireField(req.staging_target_path, 'staging_target_path');
      const { access, accessMode } = parseVolumeCapability(req.volume_capability);
      if (isMirrorPublishContext(req.publish_context)) {
        // A replicated volume (docs/replication.md): one session per copy, mirrored by dm-raid.
        const publishContext = parseMirrorPublishContext(req.publish_context);
        const volumeId = knownVolumeId(id);
        await exclusive(volumeId, () => stageMirror(deps, { volumeId, stagingPath, access, accessMode, publishContext }, ctx));
        return {};
      }
      const publishContext = parsePublishContext(req.publish_context);
      const volumeId = knownVolumeId(id);
      await exclusive(volumeId, () => stageVolume(deps, { volumeId, stagingPath, access, accessMode, publishContext }, ctx));
      return {};
    }),

    NodeUnstageVolume: unary('NodeUnstageVolume', async (req, ctx) => {
      const volumeId = requireField(req.volume_id, 'volume_id');
      const stagingPath = requireField(req.staging_target_path, 'staging_target_path');
      await exclusive(volumeId, () => unstageVolume(deps, { volumeId, stagingPath }, ctx));
      return {};
    }),

    NodePublishVolume: unary('NodePublishVolume', async (req, ctx) => {
      const id = requireField(req.volume_id, 'volume_id');
      const stagingPath = requireField(req.staging_target_path, 'staging_target_path');
      const targetPath = requireField(req.target_path, 'target_path');
      const { access, accessMode } = parseVolumeCapability(req.volume_capability);
      const volumeId = knownVolumeId(id);
      await exclusive(volumeId, () => publishVolume(deps, { volumeId, stagingPath, targetPath, access, accessMode, readOnly: req.readonly }, ctx));
      return {};
    }),

    NodeUnpublishVolume: unary('NodeUnpublishVolume', async (req, ctx) => {
      const volumeId = requireField(req.volume_id, 'volume_id');
      const targetPath = requireField(req.target_path, 'target_path');
      await exclusive(volumeId, () => unpublishVolume(deps, { volumeId, targetPath }, ctx));
      return {};
    }),

    NodeExpandVolume: unary('NodeExpandVolume', async (req, ctx) => {
      const id = requireField(req.volume_id, 'volume_id');
      const volumePath = requireField(req.volume_path, 'volume_path');
      const volumeId = knownVolumeId(id);
      const requiredBytes = req.capacity_range?.required_bytes ?? 0;
      const { capacityBytes } = await exclusive(volumeId, () => expandVolume(deps, { volumeId, volumePath, requiredBytes }, ctx));
      return { capacity_bytes: capacityBytes };
    }),

    NodeGetVolumeStats: unary('NodeGetVolumeStats', async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const volumePath = requireField(req.volume_path, 'volume_path');
      const usage = await volumeStats(deps, knownVolumeId(id), volumePath);
      return { usage };
    }),

    NodeGetVolumeHealth: unary('NodeGetVolumeHealth', async (req, ctx) => {
      const volumeId = knownVolumeId(requireField(req.volume_id, 'volume_id'));
      return { volume_health: { volume_id: volumeId, health_statuses: await volumeHealth(deps, volumeId, ctx.signal) } };
    }),

    NodeGetStorageHealth: unary('NodeGetStorageHealth', async () => {
      throw new GrpcStatusError(status.UNIMPLEMENTED, 'NodeGetStorageHealth is not implemented (GET_STORAGE_HEALTH is not advertised)');
    }),

    NodeGetCapabilities: unary('NodeGetCapabilities', async () => ({ capabilities: [...NODE_CAPABILITIES] })),

    NodeGetInfo: unary('NodeGetInfo', async () => ({
      node_id: deps.initiatorName,
      max_volumes_per_node: 0,
      accessible_topology: { segments: { [TOPOLOGY_ZONE_KEY]: opts.zone } },
    })),
  };
}
