import type { Logger } from 'pino';
import type { AgentSnapshot, AgentVolume, StorageAgent } from '../agentApi/types.ts';
import { isReadOnlyMode, isSingleNodeMode } from '../csi/volumeCapabilities.ts';
import type { Capability } from '../csi/volumeCapabilities.ts';
import { DEFAULT_ZONE, parseNodeId } from '../csi/nodeIds.ts';
import { buildPublishContext } from '../csi/publishContext.ts';
import { MIRROR_ID_PREFIX, formatMirrorVolumeId, formatObjectId, parseAnyVolumeId, parseSnapshotId, parseVolumeId } from '../csi/volumeIds.ts';
import type { ObjectRef, VolumeRef } from '../csi/volumeIds.ts';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OperationPendingError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
} from '../errors.ts';
import { KeyedLocks } from '../locks/index.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { PlacementReservations, choosePlacement } from '../placement/index.ts';
import type { PlacementRequest } from '../placement/index.ts';
import { XFS_MIN_BYTES, chooseVolumeSize, fitsRange } from './capacityRange.ts';
import type { CapacityRange } from './capacityRange.ts';
import type { StorageNodes } from './StorageNodes.ts';
import type { OperatorEvents } from './operatorEvents.ts';
import type { VolumeParameters } from './volumeParameters.ts';
import { MirrorVolumes } from './mirrorVolumes.ts';
import type { ControllerMirror } from './mirrorVolumes.ts';
import { MIRROR_HEADER_BYTES } from '../replication/mirrorRecord.ts';

/** A content source, resolved: the object, its node and the size a new volume needs at least. */
interface ResolvedSource {
  readonly kind: 'snapshot' | 'volume';
  readonly ref: ObjectRef;
  readonly sizeBytes: number;
}

export interface CreateVolumeInput {
  readonly name: string;
  readonly capacityRange: CapacityRange;
  readonly capabilities: readonly Capability[];
  readonly parameters: VolumeParameters;
  readonly source: { readonly kind: 'snapshot' | 'volume'; readonly id: string } | undefined;
  readonly requisiteZones: readonly string[] | undefined;
  readonly preferredZones: readonly string[] | undefined;
}

export interface ControllerVolume {
  readonly volumeId: string;
  /** The storage node of `volume` (for a replicated volume, of the copy it shows). */
  readonly node: string;
  readonly zone: string;
  /** For a replicated volume: a copy that answers, with the initiators of all and the smallest size. */
  readonly volume: AgentVolume;
  /** Set on a replicated volume (`@mirror/` id): its record and every copy's state. */
  readonly mirror?: ControllerMirror;
}

export interface VolumeHealthEntry {
  readonly status: 'DEGRADED' | 'INACCESSIBLE';
  readonly reason: string;
  readonly message: string;
}

export interface ControllerSnapshot {
  readonly snapshotId: string;
  readonly sourceVolumeId: string;
  readonly snapshot: AgentSnapshot;
}

export interface ControllerServiceOptions {
  readonly nodes: StorageNodes;
  readonly log: Logger;
  /** Placement polls the agents again when its figures are older than this. */
  readonly statusMaxAgeMs: number;
  /**
   * A create whose name no answering agent knows waits (UNAVAILABLE) while some agent has been
   * silent for less than this: it may be a crashed agent restarting with the volume on it.
   * Default 5 min.
   */
  readonly nameGuardMs?: number;
  readonly now?: () => number;
  /**
   * Refuses a node id that more than one worker carries (cloned images share an initiator name,
   * and so would share every ACL). Undefined: no check (no Kubernetes API to ask; docs/storage-node-removal.md).
   */
  readonly nodeIdGuard?: NodeIdGuard;
  /** Where a fence that could not be applied is told (a Kubernetes Event); default: nowhere but the error. */
  readonly events?: OperatorEvents;
}

/** Checks a CSI node id before it is let into an ACL; throws FailedPreconditionError when it is not one worker's. */
export interface NodeIdGuard {
  checkUnique(nodeId: string): Promise<void>;
}

const DEFAULT_NAME_GUARD_MS = 300_000;

/**
 * The CSI controller's logic over the storage agents, with no gRPC in it (controllerHandlers.ts
 * adapts it). Every object is found again from its id, which names its storage node: there is no
 * database, and the agents' LV tags are the record, so a restarted controller carries on. A
 * replicated volume's id (`@mirror/…`) names no node: mirrorVolumes.ts finds its copies by asking
 * every agent, and this class only routes to it, under the same locks.
 *
 * Locks fail fast (ABORTED): CreateVolume and CreateSnapshot by name, everything else by volume or
 * snapshot id, so operations on one volume are serialized and different volumes run in parallel.
 *
 * Each method takes the CSI call's AbortSignal and hands it to every agent call it makes: a call
 * the CO gave up on (deadline, cancel) is cancelled on the agent too, instead of running on.
 * Status polls (StorageNodes) are shared by concurrent calls and take no one caller's signal.
 */
export class ControllerService {
  readonly #nodes: StorageNodes;
  readonly #log: Logger;
  readonly #locks = new KeyedLocks();
  readonly #reservations: PlacementReservations;
  readonly #statusMaxAgeMs: number;
  readonly #nameGuardMs: number;
  readonly #nodeIdGuard: NodeIdGuard | undefined;
  readonly #events: OperatorEvents | undefined;
  readonly #mirrors: MirrorVolumes;

  constructor(opts: ControllerServiceOptions) {
    this.#events = opts.events;
    this.#nodes = opts.nodes;
    this.#log = opts.log;
    this.#statusMaxAgeMs = opts.statusMaxAgeMs;
    this.#nameGuardMs = opts.nameGuardMs ?? DEFAULT_NAME_GUARD_MS;
    this.#nodeIdGuard = opts.nodeIdGuard;
    this.#reservations = new PlacementReservations({ now: opts.now ?? (() => performance.now()) });
    // Each poll brings statuses that include the volumes settled before it: their entries have
    // done their job, and a long-running controller must not keep one per volume ever created.
    opts.nodes.afterPoll(() => this.#pruneReservations());
    this.#mirrors = new MirrorVolumes({
      nodes: opts.nodes,
      log: opts.log,
      reservations: this.#reservations,
      statusMaxAgeMs: this.#statusMaxAgeMs,
      nameGuardMs: this.#nameGuardMs,
      events: opts.events,
      ensureFreshUnlessSilent: () => this.#ensureFreshUnlessSilent(),
    });
  }

  /** Placement reservations held (pending creates, and settled ones a status in hand does not include yet). */
  get reservationsHeld(): number {
    return this.#reservations.size;
  }

  /**
   * Drops settled reservations older than every answering node's status. A silent node's older
   * status does not hold them back: nothing is placed on it, and the status it answers with when it
   * comes back is newer than them.
   */
  #pruneReservations(): void {
    const taken = this.#nodes.candidates().filter((c) => c.reachable).map((c) => c.statusTakenAtMs);
    if (taken.length > 0) this.#reservations.prune(Math.min(...taken));
  }

  /**
   * CreateVolume:
   *  1. lock the name; look for a volume of that name on every agent (its LV id is derived from
   *     the name): compatible → return it, else ALREADY_EXISTS; an agent still creating it → ABORTED
   *  2. resolve a content source: a clone or restore lands on its source's node
   *  3. choose a node (placement: room after reservations, then lowest I/O load) and reserve the
   *     bytes until the node's status includes the new volume, so a burst spreads out
   *  4. the agent creates and exports it; an agent that says RESOURCE_EXHAUSTED (our figures were
   *     stale) is left out and placement runs once more on fresh figures
   */
  async createVolume(input: CreateVolumeInput, log: Logger = this.#log, signal?: AbortSignal): Promise<ControllerVolume> {
    return this.#locks.runExclusive(`volume-name:${input.name}`, async () => {
      const minimumBytes = input.capabilities.some((c) => c.access === 'mount' && c.fsType === 'xfs') ? XFS_MIN_BYTES : 0;
      // Replicated volumes (docs/replication.md) have their own module; replicas: 1 is unchanged.
      if (input.parameters.replicas > 1) return this.#mirrors.create(input, minimumBytes, log, signal);
      const sourceRef = input.source ? this.#sourceRef(input.source) : undefined;
      if (sourceRef && !input.parameters.thin) throw new InvalidArgumentError('a clone or a restore is a thin snapshot of its source; it cannot use provisioning=thick');
      // The name first: a retry must find its volume even when the source is gone since.
      const existing = await this.#findByName(input.name, 'volume', signal);
      if (existing) {
        const sizeBytes = this.#checkCompatible(existing, input, sourceRef, minimumBytes);
        return this.#toControllerVolume(existing.node, await this.#ensureExported(existing.node, existing.object, sizeBytes, signal));
      }
      const source = sourceRef ? await this.#resolveSource(sourceRef, signal) : undefined;

      const excluded = new Set<string>();
      for (let attempt = 1; ; attempt++) {
        await this.#nodes.ensureFresh(attempt === 1 ? this.#statusMaxAgeMs : 0);
        const candidates = this.#nodes.candidates().filter((c) => !excluded.has(c.name));
        const probeSize = chooseVolumeSize(input.capacityRange, { minimumBytes, ...(source ? { sourceBytes: source.sizeBytes } : {}), extentSizeBytes: 1 });
        const request: PlacementRequest = {
          sizeBytes: probeSize,
          thin: input.parameters.thin,
          requiredLabels: input.parameters.requiredLabels,
          ...(input.requisiteZones ? { requisiteZones: input.requisiteZones } : {}),
          ...(input.preferredZones ? { preferredZones: input.preferredZones } : {}),
          ...(source ? { onlyNode: source.ref.node } : {}),
        };
        const takenAt = new Map(candidates.map((c) => [c.name, c.statusTakenAtMs]));
        const decision = choosePlacement(candidates, request, (node, thin) => this.#reservations.reservedBytes(node, thin, takenAt.get(node) ?? 0));
        log.debug({ name: input.name, placement: decision.explanation }, 'placement');
        const status = this.#nodes.status(decision.node);
        const sizeBytes = chooseVolumeSize(input.capacityRange, { minimumBytes, ...(source ? { sourceBytes: source.sizeBytes } : {}), extentSizeBytes: status?.extentSizeBytes ?? 0 });
        // Reserve before any await: a concurrent create placed in between would not see these bytes.
        const reservation = this.#reservations.reserve(decision.node, sizeBytes, input.parameters.thin);
        try {
          const agent = await this.#nodes.agentOf(decision.node);
          const volume = await agent.createVolume({
            name: input.name,
            sizeBytes,
            thick: !input.parameters.thin,
            ...(source ? { contentSource: { kind: source.kind, id: source.ref.id } } : {}),
          }, signal);
          this.#reservations.settle(reservation);
          log.info({ name: input.name, volumeId: formatObjectId({ node: decision.node, id: volume.id }), sizeBytes: volume.sizeBytes, node: decision.node }, 'volume created');
          return this.#toControllerVolume(decision.node, volume);
        } catch (err: unknown) {
          this.#reservations.release(reservation);
          if (err instanceof ResourceExhaustedError && attempt === 1 && !source) {
            log.info({ node: decision.node, err: err.message }, 'the agent refused for lack of space; placing again on fresh figures');
            excluded.add(decision.node);
            continue;
          }
          throw err;
        }
      }
    });
  }

  /**
   * DeleteVolume: an id that is not ours, a volume already gone, or one on a storage node declared
   * removed is success (CSI); a node that does not answer is UNAVAILABLE, never success.
   */
  async deleteVolume(volumeId: string, signal?: AbortSignal): Promise<void> {
    const volRef = parseAnyVolumeId(volumeId);
    if (!volRef) return;
    if (volRef.kind === 'mirror') return this.#locks.runExclusive(volumeId, () => this.#mirrors.delete(volumeId, volRef.id, signal));
    const ref: ObjectRef = volRef;
    await this.#locks.runExclusive(volumeId, async () => {
      const agent = await this.#agentOrUndefined(ref.node);
      if (!agent) return;
      let volume: AgentVolume | undefined;
      try {
        volume = await agent.getVolume(ref.id, signal);
      } catch (err: unknown) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      if (volume && volume.initiators.length > 0) {
        throw new FailedPreconditionError(
          `volume ${volumeId} is still published to ${volume.initiators.map((i) => i.iqn).join(', ')}; ControllerUnpublishVolume it first`,
        );
      }
      // Also when the LV is gone: the agent removes a target a crash may have left behind.
      await agent.deleteVolume(ref.id, signal);
    });
  }

  /** ControllerExpandVolume: grows to at least requiredBytes (whole extents), never shrinks. */
  async expandVolume(volumeId: string, range: CapacityRange, signal?: AbortSignal): Promise<AgentVolume> {
    const volRef = this.#requireVolumeRef(volumeId);
    if (range.requiredBytes <= 0) throw new InvalidArgumentError('capacity_range.required_bytes is required to expand a volume');
    if (volRef.kind === 'mirror') return this.#locks.runExclusive(volumeId, () => this.#mirrors.expand(volumeId, volRef.id, range, signal));
    const ref: ObjectRef = volRef;
    return this.#locks.runExclusive(volumeId, async () => {
      const agent = await this.#requireAgent(ref.node, volumeId);
      const current = await agent.getVolume(ref.id, signal);
      if (current.sizeBytes >= range.requiredBytes) {
        if (range.limitBytes > 0 && current.sizeBytes > range.limitBytes) {
          throw new OutOfRangeError(`volume ${volumeId} is already ${current.sizeBytes} bytes, above limit_bytes ${range.limitBytes}; volumes never shrink`);
        }
        return current;
      }
      const extent = this.#nodes.status(ref.node)?.extentSizeBytes ?? 0;
      const sizeBytes = chooseVolumeSize(range, { minimumBytes: 0, extentSizeBytes: extent });
      return agent.expandVolume(ref.id, sizeBytes, signal);
    });
  }

  /**
   * ControllerPublishVolume: lets the node's initiator (its node id) log in to the volume, with
   * (mutual) CHAP credentials the agent derives for that volume and initiator and hands only to
   * that node's plugin; publish_context says where the target and that agent are. A single-node mode published to
   * another node is FAILED_PRECONDITION; the same node with other read-only-ness is ALREADY_EXISTS.
   */
  async publishVolume(volumeId: string, nodeId: string, capability: Capability, readonlyFlag: boolean, signal?: AbortSignal): Promise<Record<string, string>> {
    const volRef = this.#requireVolumeRef(volumeId);
    const iqn = parseNodeId(nodeId);
    if (!iqn) throw new NotFoundError(`node ${JSON.stringify(nodeId)} is not a node of this driver: its node ids are iSCSI initiator names (iqn.…)`);
    await this.#nodeIdGuard?.checkUnique(nodeId);
    if (volRef.kind === 'mirror') return this.#locks.runExclusive(volumeId, () => this.#mirrors.publish(volumeId, volRef.id, iqn, capability, readonlyFlag, signal));
    const ref: ObjectRef = volRef;
    return this.#locks.runExclusive(volumeId, async () => {
      const agent = await this.#requireAgent(ref.node, volumeId);
      const volume = await agent.getVolume(ref.id, signal);
      const readOnly = readonlyFlag || isReadOnlyMode(capability.mode);
      const mine = volume.initiators.find((i) => i.iqn === iqn);
      if (mine && mine.readOnly !== readOnly) {
        throw new AlreadyExistsError(`volume ${volumeId} is already published to ${iqn} ${mine.readOnly ? 'read-only' : 'read-write'}; unpublish it before publishing it ${readOnly ? 'read-only' : 'read-write'}`);
      }
      const others = volume.initiators.filter((i) => i.iqn !== iqn).map((i) => i.iqn);
      if (isSingleNodeMode(capability.mode) && others.length > 0) {
        throw new FailedPreconditionError(`volume ${volumeId} is published to ${others.join(', ')} and its access mode ${capability.mode} allows one node`);
      }
      // Mutual CHAP for new exports; an ACL made before keeps what it has, so a live session and
      // its node record are never switched under it.
      const mutualChap = mine?.mutualChap ?? true;
      const { target } = await agent.exportVolume({ volumeId: ref.id, initiatorIqn: iqn, readOnly, mutualChap }, signal);
      const agentAddress = this.#nodes.addressOf(ref.node);
      if (agentAddress === undefined) throw new UnavailableError(`storage node ${ref.node} has no discovered agent address to give the node plugin; retry`);
      const host = target.portal.ip.includes(':') ? `[${target.portal.ip}]` : target.portal.ip;
      // No CHAP here: publish_context is stored in plain text; the node asks the agent (docs/security.md).
      return buildPublishContext({ targetPortal: `${host}:${target.portal.port}`, targetIqn: target.iqn, lun: target.lun, serial: target.serial, agentAddress });
    });
  }

  /**
   * ControllerUnpublishVolume: removes the node's ACL, which ends its sessions (the fence: LIO drops
   * an initiator's sessions when its ACL goes). No node id: every node. A volume that is not there,
   * or whose storage node was declared removed, is success; a storage node that does not answer is
   * UNAVAILABLE, never a success that did not fence.
   */
  async unpublishVolume(volumeId: string, nodeId: string, signal?: AbortSignal): Promise<void> {
    const volRef = parseAnyVolumeId(volumeId);
    if (!volRef) return;
    const iqn = nodeId === '' ? undefined : parseNodeId(nodeId);
    if (nodeId !== '' && !iqn) return;
    // The mirror module tells FenceNotApplied per storage node itself.
    if (volRef.kind === 'mirror') return this.#locks.runExclusive(volumeId, () => this.#mirrors.unpublish(volumeId, volRef.id, iqn, signal));
    const ref: ObjectRef = volRef;
    let initiator = iqn;
    try {
      await this.#locks.runExclusive(volumeId, async () => {
        const agent = await this.#agentOrUndefined(ref.node);
        if (!agent) return;
        let volume: AgentVolume;
        try {
          volume = await agent.getVolume(ref.id, signal);
        } catch (err: unknown) {
          if (err instanceof NotFoundError) return;
          throw err;
        }
        for (const i of iqn ? [iqn] : volume.initiators.map((x) => x.iqn)) {
          initiator = i;
          await agent.unexportVolume({ volumeId: ref.id, initiatorIqn: i }, signal);
        }
      });
    } catch (err: unknown) {
      // The ACL may still be there: an operator must know which worker keeps access. A cancelled
      // try or a busy lock (ABORTED, another call is on it) is not a failed fence.
      if (!signal?.aborted && !(err instanceof OperationPendingError)) {
        this.#events?.fenceNotApplied({ volumeId, nodeId: initiator ?? 'every initiator', storageNode: ref.node, error: err instanceof Error ? err.message : String(err) });
      }
      throw err;
    }
  }

  async getVolume(volumeId: string, signal?: AbortSignal): Promise<ControllerVolume> {
    const ref = this.#requireVolumeRef(volumeId);
    if (ref.kind === 'mirror') return this.#mirrors.get(volumeId, ref.id, signal);
    const agent = await this.#requireAgent(ref.node, volumeId);
    return this.#toControllerVolume(ref.node, await agent.getVolume(ref.id, signal));
  }

  /**
   * Every volume on every agent, sorted by id; UNAVAILABLE while a storage node this controller
   * knows does not answer (a partial list would tell the CO its volumes are not published). A node
   * declared removed is not waited for; one that answers is listed (its volumes are real).
   */
  async listVolumes(signal?: AbortSignal): Promise<ControllerVolume[]> {
    const agents = await this.#allAgents();
    const lists = await Promise.all(agents.map(async ({ name, agent }) => ({ node: name, volumes: await agent.listVolumes(signal) })));
    // A replicated volume is one entry, whichever copies hold it.
    const single = lists.flatMap(({ node, volumes }) => volumes.filter((v) => !v.mirror).map((v) => this.#toControllerVolume(node, v)));
    return [...single, ...this.#mirrors.listed(lists)].sort((a, b) => compare(a.volumeId, b.volumeId));
  }

  /**
   * CreateSnapshot: lock the name; a snapshot of that name anywhere is returned when it is of the
   * same volume, ALREADY_EXISTS otherwise; else the source's agent takes a thin snapshot.
   */
  async createSnapshot(name: string, sourceVolumeId: string, signal?: AbortSignal): Promise<ControllerSnapshot> {
    const volRef = this.#requireVolumeRef(sourceVolumeId);
    return this.#locks.runExclusive(`snapshot-name:${name}`, async () => {
      const existing = await this.#findByName(name, 'snapshot', signal);
      if (existing) {
        const agent = await this.#requireAgent(existing.node, formatObjectId({ node: existing.node, id: existing.object.id }));
        const snap = this.#toControllerSnapshot(existing.node, existing.object, await this.#mirrorSourcesOn(agent, [existing.object], signal));
        if (snap.sourceVolumeId !== sourceVolumeId) throw new AlreadyExistsError(`snapshot ${JSON.stringify(name)} already exists, of volume ${snap.sourceVolumeId}`);
        return snap;
      }
      // A replicated volume's snapshot is taken on one in-sync copy.
      if (volRef.kind === 'mirror') return this.#mirrors.snapshot(name, sourceVolumeId, volRef.id, signal);
      const ref: ObjectRef = volRef;
      const agent = await this.#requireAgent(ref.node, sourceVolumeId);
      return this.#toControllerSnapshot(ref.node, await agent.createSnapshot({ name, sourceVolumeId: ref.id }, signal));
    });
  }

  async deleteSnapshot(snapshotId: string, signal?: AbortSignal): Promise<void> {
    const ref = parseSnapshotId(snapshotId);
    if (!ref) return;
    await this.#locks.runExclusive(snapshotId, async () => {
      const agent = await this.#agentOrUndefined(ref.node);
      if (agent) await agent.deleteSnapshot(ref.id, signal);
    });
  }

  /** Snapshots, all or filtered; an id that is not ours filters everything out (CSI: empty list, not an error). */
  async listSnapshots(filter: { readonly snapshotId?: string; readonly sourceVolumeId?: string }, signal?: AbortSignal): Promise<ControllerSnapshot[]> {
    if (filter.snapshotId !== undefined) {
      const ref = parseSnapshotId(filter.snapshotId);
      if (!ref) return [];
      const agent = await this.#agentOrUndefined(ref.node);
      if (!agent) return [];
      try {
        const found = await agent.getSnapshot(ref.id, signal);
        const snap = this.#toControllerSnapshot(ref.node, found, await this.#mirrorSourcesOn(agent, [found], signal));
        return filter.sourceVolumeId === undefined || snap.sourceVolumeId === filter.sourceVolumeId ? [snap] : [];
      } catch (err: unknown) {
        if (err instanceof NotFoundError) return [];
        throw err;
      }
    }
    if (filter.sourceVolumeId !== undefined) {
      const volRef = parseAnyVolumeId(filter.sourceVolumeId);
      if (!volRef) return [];
      if (volRef.kind === 'mirror') {
        // Snapshots of a replicated volume are on whichever copies they were taken on.
        const agents = await this.#allAgents();
        const mirrorSource = new Set([volRef.id]);
        const lists = await Promise.all(agents.map(async ({ name, agent }) => (await agent.listSnapshots({ sourceVolumeId: volRef.id }, signal)).map((s) => this.#toControllerSnapshot(name, s, mirrorSource))));
        return lists.flat().sort((a, b) => compare(a.snapshotId, b.snapshotId));
      }
      const ref: ObjectRef = volRef;
      const agent = await this.#agentOrUndefined(ref.node);
      if (!agent) return [];
      const snaps = await agent.listSnapshots({ sourceVolumeId: ref.id }, signal);
      // A copy of a replicated volume shares its LV id: its snapshots are the replicated volume's.
      if ((await this.#mirrorSourcesOn(agent, snaps, signal)).has(ref.id)) return [];
      return snaps.map((s) => this.#toControllerSnapshot(ref.node, s)).sort((a, b) => compare(a.snapshotId, b.snapshotId));
    }
    const agents = await this.#allAgents();
    const lists = await Promise.all(
      agents.map(async ({ name, agent }) => {
        const snaps = await agent.listSnapshots({}, signal);
        const mirrorSources = await this.#mirrorSourcesOn(agent, snaps, signal);
        return snaps.map((s) => this.#toControllerSnapshot(name, s, mirrorSources));
      }),
    );
    return lists.flat().sort((a, b) => compare(a.snapshotId, b.snapshotId));
  }

  /**
   * Which of these snapshots' sources on this agent are copies of a replicated volume (their
   * source id is then the `@mirror/` one). Asked of the agent's volumes: a snapshot does not say;
   * a source deleted since reads as a single-copy one.
   */
  async #mirrorSourcesOn(agent: StorageAgent, snaps: readonly AgentSnapshot[], signal: AbortSignal | undefined): Promise<Set<string>> {
    if (snaps.length === 0) return new Set();
    if (snaps.length === 1) {
      try {
        const v = await agent.getVolume(snaps[0]!.sourceVolumeId, signal);
        return new Set(v.mirror ? [v.id] : []);
      } catch (err: unknown) {
        if (err instanceof NotFoundError) return new Set();
        throw err;
      }
    }
    return new Set((await agent.listVolumes(signal)).filter((v) => v.mirror).map((v) => v.id));
  }

  /**
   * GetCapacity: what a new volume with these parameters could get in a zone: the sum over the
   * eligible nodes of what each can still promise (after reservations), and the largest single one
   * (for replicas >= 2, the largest whose every copy fits).
   */
  async getCapacity(parameters: VolumeParameters, zone: string | undefined): Promise<{ readonly availableBytes: number; readonly maximumVolumeBytes: number }> {
    await this.#nodes.ensureFresh(this.#statusMaxAgeMs);
    // A create answered since a node's status still counts against it in full; the CO reads this
    // figure as what is left, so take a status that includes those volumes instead.
    if (this.#nodes.candidates().some((c) => this.#reservations.hasSettledSince(c.name, c.statusTakenAtMs))) await this.#nodes.ensureFresh(0);
    let availableBytes = 0;
    let maximumVolumeBytes = 0;
    const everywhere: number[] = [];
    for (const c of this.#nodes.candidates()) {
      if (!c.reachable || !c.ready) continue;
      if (!Object.entries(parameters.requiredLabels).every(([k, v]) => c.labels[k] === v)) continue;
      const room = (parameters.thin ? c.thinAllocatableBytes : c.thickFreeBytes) - this.#reservations.reservedBytes(c.name, parameters.thin, c.statusTakenAtMs);
      const free = Math.max(0, room);
      everywhere.push(free);
      if (zone !== undefined && c.zone !== zone) continue;
      availableBytes += free;
      maximumVolumeBytes = Math.max(maximumVolumeBytes, free);
    }
    if (parameters.replicas > 1) {
      // A replicated volume needs a copy (data + header) on as many nodes, any zone (placement
      // spreads them), one of them here for the zone to reach it first: the largest one is then
      // bounded by the replicas-th roomiest node anywhere.
      const nth = everywhere.sort((a, b) => b - a)[parameters.replicas - 1] ?? 0;
      maximumVolumeBytes = Math.max(0, Math.min(maximumVolumeBytes, nth) - MIRROR_HEADER_BYTES);
    }
    return { availableBytes, maximumVolumeBytes };
  }

  /**
   * Health of a volume: DEGRADED when its node's thin pool is past its limits, INACCESSIBLE when
   * its storage node does not answer (known or not), NOT_FOUND when gone or on a removed node.
   */
  async getVolumeHealth(volumeId: string, signal?: AbortSignal): Promise<VolumeHealthEntry[]> {
    const volRef = this.#requireVolumeRef(volumeId);
    // A replicated volume: DEGRADED per copy out of sync, silent or lost (mirrorVolumes.ts).
    if (volRef.kind === 'mirror') return this.#mirrors.health(volumeId, volRef.id, signal);
    const ref: ObjectRef = volRef;
    try {
      const agent = await this.#requireAgent(ref.node, volumeId);
      await agent.getVolume(ref.id, signal);
    } catch (err: unknown) {
      if (err instanceof UnavailableError) return [{ status: 'INACCESSIBLE', reason: 'StorageNodeUnreachable', message: err.message }];
      throw err;
    }
    const health = this.#nodes.status(ref.node)?.thinPoolHealth ?? 'ok';
    return health === 'ok' ? [] : [{ status: 'DEGRADED', reason: 'ThinPoolUnhealthy', message: `storage node ${ref.node}: thin pool ${health}` }];
  }

  #requireVolumeRef(volumeId: string): VolumeRef {
    const ref = parseAnyVolumeId(volumeId);
    if (!ref) {
      throw new NotFoundError(
        `volume ${JSON.stringify(volumeId)} does not exist: ids of this driver look like <storage node>/vbs-vol-<26 characters>, or ${MIRROR_ID_PREFIX}vbs-vol-<26 characters> for a replicated volume`,
      );
    }
    return ref;
  }

  /** The agent of a node, NotFoundError naming the object when the node was declared removed. */
  async #requireAgent(node: string, objectId: string): Promise<StorageAgent> {
    try {
      return await this.#nodes.agentOf(node);
    } catch (err: unknown) {
      if (err instanceof NotFoundError) throw new NotFoundError(`${objectId} does not exist: ${err.message}`);
      throw err;
    }
  }

  /** The agent of a node, or undefined when it was declared removed (for deletes: gone = done); UNAVAILABLE while it does not answer. */
  async #agentOrUndefined(node: string): Promise<StorageAgent | undefined> {
    try {
      return await this.#nodes.agentOf(node);
    } catch (err: unknown) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Polls when the statuses are old, or at once while some agent has been silent for less than
   * the name guard: an agent back from a restart must not wait for the next interval to be asked
   * again. One silent for longer is a lost node, and polling on every call would only add lvm
   * reports on the agents that do answer.
   */
  async #ensureFreshUnlessSilent(): Promise<void> {
    await this.#nodes.ensureFresh(this.#nodes.recentlySilent(this.#nameGuardMs).length > 0 ? 0 : this.#statusMaxAgeMs);
  }

  async #allAgents(): Promise<{ readonly name: string; readonly agent: StorageAgent }[]> {
    await this.#ensureFreshUnlessSilent();
    const silent = this.#nodes.unreachable();
    if (silent.length > 0) throw new UnavailableError(`cannot list: storage agent(s) not answering: ${silent.join('; ')}`);
    return this.#nodes.reachable();
  }

  /** A content source's id, parsed; NotFoundError when it cannot be one of ours. */
  #sourceRef(source: { readonly kind: 'snapshot' | 'volume'; readonly id: string }): Omit<ResolvedSource, 'sizeBytes'> {
    if (source.kind === 'volume' && parseAnyVolumeId(source.id)?.kind === 'mirror') {
      throw new InvalidArgumentError(`cloning a replicated volume (${source.id}) is not supported yet (docs/replication.md)`);
    }
    const ref = source.kind === 'snapshot' ? parseSnapshotId(source.id) : parseVolumeId(source.id);
    if (!ref) throw new NotFoundError(`source ${source.kind} ${JSON.stringify(source.id)} does not exist`);
    return { kind: source.kind, ref };
  }

  async #resolveSource(source: Omit<ResolvedSource, 'sizeBytes'>, signal: AbortSignal | undefined): Promise<ResolvedSource> {
    const { ref } = source;
    const id = formatObjectId(ref);
    const agent = await this.#requireAgent(ref.node, id);
    let sizeBytes: number;
    if (source.kind === 'snapshot') {
      const snap = await agent.getSnapshot(ref.id, signal);
      // A copy's snapshot holds the dm-raid header before the data: restoring it is later work.
      if ((await this.#mirrorSourcesOn(agent, [snap], signal)).size > 0) {
        throw new InvalidArgumentError(`restoring snapshot ${id} of a replicated volume is not supported yet (docs/replication.md)`);
      }
      sizeBytes = snap.sizeBytes;
    } else {
      const volume = await agent.getVolume(ref.id, signal);
      if (volume.mirror) throw new InvalidArgumentError(`volume ${id} is a copy of replicated volume ${formatMirrorVolumeId(ref.id)}; cloning it is not supported yet (docs/replication.md)`);
      sizeBytes = volume.sizeBytes;
    }
    return { kind: source.kind, ref, sizeBytes };
  }

  /**
   * The object a CO name maps to, on whichever agent has it. ABORTED when an agent is creating it
   * right now (a retry after a controller restart must not place it a second time). Not found
   * while an agent has been silent for less than the name guard is UNAVAILABLE: an agent killed
   * after its lvcreate and restarting holds the volume, and placing the retry elsewhere would
   * make a second copy (the fault suite crashes the agent exactly there). An agent silent longer
   * is skipped with a warning: refusing every create while a storage node is down for good would
   * be worse, and a create only goes to an agent that answered this poll.
   */
  async #findByName<K extends 'volume' | 'snapshot'>(name: string, kind: K, signal: AbortSignal | undefined): Promise<{ readonly node: string; readonly object: K extends 'volume' ? AgentVolume : AgentSnapshot } | undefined> {
    await this.#ensureFreshUnlessSilent();
    const id = buildAgentId(name, kind);
    const found: { node: string; object: AgentVolume | AgentSnapshot }[] = [];
    const skipped: string[] = [];
    await Promise.all(
      this.#nodes.reachable().map(async ({ name: node, agent }) => {
        try {
          found.push({ node, object: kind === 'volume' ? await agent.getVolume(id, signal) : await agent.getSnapshot(id, signal) });
        } catch (err: unknown) {
          if (err instanceof NotFoundError) return;
          if (err instanceof UnavailableError) skipped.push(`${node}: ${err.message}`);
          else throw err;
        }
      }),
    );
    const silent = [...this.#nodes.unreachable(), ...skipped];
    if (found.length === 0) {
      const recent = [...this.#nodes.recentlySilent(this.#nameGuardMs), ...skipped];
      if (recent.length > 0) {
        throw new UnavailableError(
          `${kind} ${JSON.stringify(name)} is not on the storage agents that answered, but ${recent.join(', ')} did not answer and may hold it from an earlier attempt; ` +
            `creating it elsewhere could make a second copy, so retry. Once an agent has been silent for ${Math.round(this.#nameGuardMs / 1000)} s, creates go ahead without it`,
        );
      }
      if (silent.length > 0) this.#log.warn({ name, kind, silent }, 'name not found on the agents that answered; some have been silent too long to wait for');
    }
    // The copies of a replicated volume share a name on several nodes; other objects never do.
    if (found.length > 1 && !found.some((f) => 'mirror' in f.object && f.object.mirror)) this.#log.error({ name, kind, nodes: found.map((f) => f.node) }, 'one name exists on several storage nodes; using the first');
    found.sort((a, b) => compare(a.node, b.node));
    return found[0] as { node: string; object: K extends 'volume' ? AgentVolume : AgentSnapshot } | undefined;
  }

  /**
   * A create cut off after its lvcreate (a killed controller cancels the agent's call, and an
   * lvcreate interrupted that late may still have made the LV) leaves the LV without its target.
   * The agent's create of the same volume finds the LV and exports it, so a retry converges at
   * once instead of at the agent's next reconcile.
   */
  async #ensureExported(node: string, v: AgentVolume, sizeBytes: number, signal: AbortSignal | undefined): Promise<AgentVolume> {
    const agent = await this.#nodes.agentOf(node);
    return agent.createVolume({ name: v.name, sizeBytes, thick: !v.thin, ...(v.contentSource ? { contentSource: v.contentSource } : {}) }, signal);
  }

  /**
   * Whether the volume found under the name is the one asked for, and the size to ask its agent for.
   * A clone or restore smaller than required may be one whose agent was killed between lvcreate -s
   * and lvextend: the agent's record (the size its create asked for) decides, so it is asked for the
   * size this request makes and finishes the extend, or answers ALREADY_EXISTS.
   */
  #checkCompatible(
    existing: { readonly node: string; readonly object: AgentVolume },
    input: CreateVolumeInput,
    source: Omit<ResolvedSource, 'sizeBytes'> | undefined,
    minimumBytes: number,
  ): number {
    const v = existing.object;
    if (v.mirror) {
      throw new AlreadyExistsError(`volume ${JSON.stringify(input.name)} already exists as a replicated volume with ${v.mirror.record.copies.length} copies (${formatMirrorVolumeId(v.id)}), not with replicas: 1`);
    }
    const problems: string[] = [];
    const maybeGrowing = v.contentSource !== undefined && v.sizeBytes < input.capacityRange.requiredBytes;
    if (!maybeGrowing && !fitsRange(v.sizeBytes, input.capacityRange)) problems.push(`its size ${v.sizeBytes} is outside the requested range`);
    if (v.thin !== input.parameters.thin) problems.push(`it is ${v.thin ? 'thin' : 'thick'}`);
    const hadSource = v.contentSource ? `${v.contentSource.kind}:${formatObjectId({ node: existing.node, id: v.contentSource.id })}` : 'none';
    const wantSource = source ? `${source.kind}:${formatObjectId(source.ref)}` : 'none';
    if (hadSource !== wantSource) problems.push(`its content source is ${hadSource}, not ${wantSource}`);
    if (problems.length > 0) throw new AlreadyExistsError(`volume ${JSON.stringify(input.name)} already exists and differs: ${problems.join('; ')}`);
    if (!maybeGrowing) return v.sizeBytes;
    // The size the first attempt asked for: the clone was made at its source's size, v.sizeBytes.
    return chooseVolumeSize(input.capacityRange, { minimumBytes, sourceBytes: v.sizeBytes, extentSizeBytes: this.#nodes.status(existing.node)?.extentSizeBytes ?? 0 });
  }

  #toControllerVolume(node: string, volume: AgentVolume): ControllerVolume {
    const zone = this.#nodes.status(node)?.labels['zone'] ?? DEFAULT_ZONE;
    return { volumeId: formatObjectId({ node, id: volume.id }), node, zone, volume };
  }

  /** `mirrorSources`: LV ids on this node that are copies of a replicated volume (#mirrorSourcesOn). */
  #toControllerSnapshot(node: string, snapshot: AgentSnapshot, mirrorSources?: ReadonlySet<string>): ControllerSnapshot {
    const source = mirrorSources?.has(snapshot.sourceVolumeId) ? formatMirrorVolumeId(snapshot.sourceVolumeId) : formatObjectId({ node, id: snapshot.sourceVolumeId });
    return { snapshotId: formatObjectId({ node, id: snapshot.id }), sourceVolumeId: source, snapshot };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

