import type { Logger } from 'pino';
import { timestampOf } from '../grpc/timestamps.ts';
import { TOPOLOGY_ZONE_KEY } from '../csi/nodeIds.ts';
import { validateObjectName } from '../csi/objectNames.ts';
import { checkCapability, parseCapabilities, parseCapability } from '../csi/volumeCapabilities.ts';
import { status } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../errors.ts';
import type { ControllerHandlers } from '../generated/csi/v1/Controller.ts';
import type { ControllerServiceCapability } from '../generated/csi/v1/ControllerServiceCapability.ts';
import type { Topology__Output } from '../generated/csi/v1/Topology.ts';
import type { TopologyRequirement__Output } from '../generated/csi/v1/TopologyRequirement.ts';
import type { Volume } from '../generated/csi/v1/Volume.ts';
import type { Snapshot } from '../generated/csi/v1/Snapshot.ts';
import type { VolumeContentSource__Output } from '../generated/csi/v1/VolumeContentSource.ts';
import { unaryAdapter } from '../grpc/adaptUnary.ts';
import type { CallContext, CallObserver, UnaryHandler } from '../grpc/adaptUnary.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import { GrpcStatusError } from '../grpc/toGrpcStatus.ts';
import { parseCapacityRange } from './capacityRange.ts';
import type { ControllerService, ControllerSnapshot, ControllerVolume } from './ControllerService.ts';
import type { ControllerMirror } from './mirrorVolumes.ts';
import { parseVolumeParameters } from './volumeParameters.ts';

/** Exactly what works: the CO calls every RPC a capability promises (csi-sanity checks them all). */
export const CONTROLLER_CAPABILITIES = [
  'CREATE_DELETE_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'LIST_VOLUMES',
  'LIST_VOLUMES_PUBLISHED_NODES',
  'GET_CAPACITY',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'CLONE_VOLUME',
  'PUBLISH_READONLY',
  'EXPAND_VOLUME',
  'GET_VOLUME',
  'GET_VOLUME_HEALTH',
  'SINGLE_NODE_MULTI_WRITER',
] as const;

const CAPABILITY_MESSAGES: ControllerServiceCapability[] = CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type } }));

function required(value: string, field: string): string {
  if (value === '') throw new InvalidArgumentError(`${field} is required`);
  return value;
}

/** Zones named by our topology key in a list of CSI topologies; undefined when none names one. */
function zonesOf(topologies: readonly Topology__Output[] | undefined): string[] | undefined {
  const zones = (topologies ?? []).map((t) => t.segments[TOPOLOGY_ZONE_KEY]).filter((z): z is string => z !== undefined && z !== '');
  return zones.length > 0 ? [...new Set(zones)] : undefined;
}

function zonesRequested(req: TopologyRequirement__Output | null): { requisite: string[] | undefined; preferred: string[] | undefined } {
  return { requisite: zonesOf(req?.requisite), preferred: zonesOf(req?.preferred) };
}

function sourceOf(src: VolumeContentSource__Output | null): { kind: 'snapshot' | 'volume'; id: string } | undefined {
  if (!src?.type) return undefined;
  if (src.type === 'snapshot') return { kind: 'snapshot', id: required(src.snapshot?.snapshot_id ?? '', 'volume_content_source.snapshot.snapshot_id') };
  return { kind: 'volume', id: required(src.volume?.volume_id ?? '', 'volume_content_source.volume.volume_id') };
}

/**
 * A replicated volume in CSI terms: reachable from the zones of its copies (a worker reaches the
 * storage nodes of its zone, as for a single copy), and its copies in volume_context: `copies`
 * names their nodes in slot order; `live` (ControllerGetVolume, ListVolumes, not CreateVolume's
 * answer, which the PV keeps) adds the record's generation and the copies in sync in it.
 */
function mirrorToCsi(v: ControllerVolume & { readonly mirror: ControllerMirror }, live: boolean): Volume {
  const { record, copies } = v.mirror;
  const zones = [...new Set(copies.map((c) => c.zone))];
  return {
    volume_id: v.volumeId,
    capacity_bytes: v.volume.sizeBytes,
    volume_context: {
      replicas: String(copies.length),
      copies: copies.map((c) => c.node).join(','),
      provisioning: v.volume.thin ? 'thin' : 'thick',
      ...(live
        ? {
            mirrorGeneration: String(record.generation),
            copiesInSync: copies.filter((c) => c.inSync).map((c) => c.node).join(','),
            copiesUnavailable: copies.filter((c) => c.state !== 'ok').map((c) => c.node).join(','),
          }
        : {}),
    },
    content_source: null,
    accessible_topology: zones.map((zone) => ({ segments: { [TOPOLOGY_ZONE_KEY]: zone } })),
  };
}

export function volumeToCsi(v: ControllerVolume, live = true): Volume {
  if (v.mirror) return mirrorToCsi({ ...v, mirror: v.mirror }, live);
  const src = v.volume.contentSource;
  const sourceId = src ? `${v.node}/${src.id}` : undefined;
  return {
    volume_id: v.volumeId,
    capacity_bytes: v.volume.sizeBytes,
    volume_context: { storageNode: v.node, provisioning: v.volume.thin ? 'thin' : 'thick' },
    content_source: src && sourceId ? (src.kind === 'snapshot' ? { snapshot: { snapshot_id: sourceId } } : { volume: { volume_id: sourceId } }) : null,
    accessible_topology: [{ segments: { [TOPOLOGY_ZONE_KEY]: v.zone } }],
  };
}

function snapshotToCsi(s: ControllerSnapshot): Snapshot {
  return {
    snapshot_id: s.snapshotId,
    source_volume_id: s.sourceVolumeId,
    size_bytes: s.snapshot.sizeBytes,
    creation_time: timestampOf(s.snapshot.createdAt),
    ready_to_use: s.snapshot.readyToUse,
  };
}

/**
 * One page of a sorted list. The token is the id of the last entry already returned, which stays
 * meaningful when entries come and go between pages (an index would skip or repeat some); a
 * token that is not one of our ids is ABORTED, as CSI asks.
 */
function paginate<T>(items: readonly T[], idOf: (t: T) => string, maxEntries: number, startingToken: string, isOurId: (id: string) => boolean): { page: T[]; next: string } {
  if (maxEntries < 0) throw new InvalidArgumentError(`max_entries must not be negative, got ${maxEntries}`);
  if (startingToken !== '' && !isOurId(startingToken)) throw new GrpcStatusError(status.ABORTED, `starting_token ${JSON.stringify(startingToken)} was not returned by this driver; list again from the start`);
  const rest = startingToken === '' ? [...items] : items.filter((i) => idOf(i) > startingToken);
  const page = maxEntries > 0 ? rest.slice(0, maxEntries) : rest;
  const last = page[page.length - 1];
  return { page, next: maxEntries > 0 && rest.length > page.length && last !== undefined ? idOf(last) : '' };
}

/** The CSI Controller service over ControllerService: request checks and wire shapes only; `calls` hears every call (metrics). */
export function createControllerHandlers(
  service: ControllerService,
  log: Logger,
  ids: { isVolumeId: (id: string) => boolean; isSnapshotId: (id: string) => boolean },
  calls?: CallObserver,
): ControllerHandlers {
  const adapt = unaryAdapter(log, { calls });
  // Every method's work done, its answer not yet sent: the CO's retry must converge on it
  // (the fault suite arms controller.<Method>.before-reply).
  const unary = <Req, Res>(method: string, handler: UnaryHandler<Req, Res>) =>
    adapt(method, async (req: Req, ctx: CallContext) => {
      const response = await handler(req, ctx);
      crashPoint(`controller.${method}.before-reply`);
      return response;
    });
  const unimplemented = (method: string) =>
    unary(method, async () => {
      throw new GrpcStatusError(status.UNIMPLEMENTED, `${method} is not supported by this driver`);
    });
  return {
    CreateVolume: unary('CreateVolume', async (req, ctx) => {
      const name = validateObjectName(required(req.name, 'name'), 'name');
      const parameters = parseVolumeParameters(req.parameters);
      const capabilities = parseCapabilities(req.volume_capabilities, parameters.fsType);
      const zones = zonesRequested(req.accessibility_requirements);
      const volume = await service.createVolume(
        {
          name,
          capacityRange: parseCapacityRange(req.capacity_range),
          capabilities,
          parameters,
          source: sourceOf(req.volume_content_source),
          requisiteZones: zones.requisite,
          preferredZones: zones.preferred,
        },
        ctx.log,
        ctx.signal,
      );
      return { volume: volumeToCsi(volume, false) };
    }),
    DeleteVolume: unary('DeleteVolume', async (req, { signal }) => {
      await service.deleteVolume(required(req.volume_id, 'volume_id'), signal);
      return {};
    }),
    ControllerPublishVolume: unary('ControllerPublishVolume', async (req, { signal }) => {
      const volumeId = required(req.volume_id, 'volume_id');
      const nodeId = required(req.node_id, 'node_id');
      const capability = parseCapability(req.volume_capability);
      return { publish_context: await service.publishVolume(volumeId, nodeId, capability, req.readonly, signal) };
    }),
    ControllerUnpublishVolume: unary('ControllerUnpublishVolume', async (req, { signal }) => {
      await service.unpublishVolume(required(req.volume_id, 'volume_id'), req.node_id, signal);
      return {};
    }),
    ValidateVolumeCapabilities: unary('ValidateVolumeCapabilities', async (req, { signal }) => {
      const volumeId = required(req.volume_id, 'volume_id');
      if (req.volume_capabilities.length === 0) throw new InvalidArgumentError('volume_capabilities is required');
      await service.getVolume(volumeId, signal);
      let parameters;
      try {
        parameters = parseVolumeParameters(req.parameters);
      } catch (err: unknown) {
        return { confirmed: null, message: (err as Error).message };
      }
      const problems = req.volume_capabilities.map((c) => checkCapability(c, parameters.fsType)).filter((c): c is string => typeof c === 'string');
      if (problems.length > 0) return { confirmed: null, message: problems.join('; ') };
      return {
        confirmed: { volume_context: req.volume_context, volume_capabilities: req.volume_capabilities, parameters: req.parameters, mutable_parameters: req.mutable_parameters },
        message: '',
      };
    }),
    ListVolumes: unary('ListVolumes', async (req, { signal }) => {
      const { page, next } = paginate(await service.listVolumes(signal), (v) => v.volumeId, req.max_entries, req.starting_token, ids.isVolumeId);
      return {
        entries: page.map((v) => ({ volume: volumeToCsi(v), status: { published_node_ids: v.volume.initiators.map((i) => i.iqn) } })),
        next_token: next,
      };
    }),
    GetCapacity: unary('GetCapacity', async (req) => {
      const parameters = parseVolumeParameters(req.parameters);
      for (const cap of req.volume_capabilities) parseCapability(cap, parameters.fsType);
      const zone = req.accessible_topology?.segments[TOPOLOGY_ZONE_KEY];
      const { availableBytes, maximumVolumeBytes } = await service.getCapacity(parameters, zone === '' ? undefined : zone);
      return { available_capacity: availableBytes, maximum_volume_size: { value: maximumVolumeBytes }, minimum_volume_size: null };
    }),
    ControllerGetCapabilities: unary('ControllerGetCapabilities', async () => ({
      capabilities: CAPABILITY_MESSAGES,
    })),
    CreateSnapshot: unary('CreateSnapshot', async (req, { signal }) => {
      const name = validateObjectName(required(req.name, 'name'), 'name');
      if (Object.keys(req.parameters).length > 0) throw new InvalidArgumentError(`snapshot parameters are not supported: ${Object.keys(req.parameters).join(', ')}`);
      return { snapshot: snapshotToCsi(await service.createSnapshot(name, required(req.source_volume_id, 'source_volume_id'), signal)) };
    }),
    DeleteSnapshot: unary('DeleteSnapshot', async (req, { signal }) => {
      await service.deleteSnapshot(required(req.snapshot_id, 'snapshot_id'), signal);
      return {};
    }),
    ListSnapshots: unary('ListSnapshots', async (req, { signal }) => {
      const all = await service.listSnapshots({
        ...(req.snapshot_id !== '' ? { snapshotId: req.snapshot_id } : {}),
        ...(req.source_volume_id !== '' ? { sourceVolumeId: req.source_volume_id } : {}),
      }, signal);
      const { page, next } = paginate(all, (s) => s.snapshotId, req.max_entries, req.starting_token, ids.isSnapshotId);
      return { entries: page.map((s) => ({ snapshot: snapshotToCsi(s) })), next_token: next };
    }),
    ControllerExpandVolume: unary('ControllerExpandVolume', async (req, { signal }) => {
      const volumeId = required(req.volume_id, 'volume_id');
      if (!req.capacity_range) throw new InvalidArgumentError('capacity_range is required');
      if (req.volume_capability) parseCapability(req.volume_capability);
      const volume = await service.expandVolume(volumeId, parseCapacityRange(req.capacity_range), signal);
      // Every volume needs the node: a filesystem grows there, and so does a raw block volume's
      // device (the session's SCSI disk is rescanned and the dm device over it reloaded), which
      // nothing else does. Kubernetes calls NodeExpandVolume for block volumes only when asked
      // (https://github.com/kubernetes/kubernetes/pull/81807), with the publish path.
      return { capacity_bytes: volume.sizeBytes, node_expansion_required: true };
    }),
    ControllerGetVolume: unary('ControllerGetVolume', async (req, { signal }) => {
      const v = await service.getVolume(required(req.volume_id, 'volume_id'), signal);
      return { volume: volumeToCsi(v), status: { published_node_ids: v.volume.initiators.map((i) => i.iqn) } };
    }),
    ControllerGetVolumeHealth: unary('ControllerGetVolumeHealth', async (req, { signal }) => {
      const volumeId = required(req.volume_id, 'volume_id');
      const health = await service.getVolumeHealth(volumeId, signal);
      return { volume_health: { volume_id: volumeId, health_statuses: [...health] } };
    }),
    ControllerListVolumeHealth: unimplemented('ControllerListVolumeHealth'),
    ControllerModifyVolume: unimplemented('ControllerModifyVolume'),
    GetSnapshot: unimplemented('GetSnapshot'),
  };
}
