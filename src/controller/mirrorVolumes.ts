import type { Logger } from 'pino';
import type { AgentInitiator, AgentSnapshot, AgentVolume, StorageAgent } from '../agentApi/types.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { DEFAULT_ZONE } from '../csi/nodeIds.ts';
import { buildMirrorPublishContext } from '../csi/publishContext.ts';
import type { MirrorCopyContext } from '../csi/publishContext.ts';
import { isReadOnlyMode, isSingleNodeMode } from '../csi/volumeCapabilities.ts';
import type { Capability } from '../csi/volumeCapabilities.ts';
import { formatMirrorVolumeId } from '../csi/volumeIds.ts';
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
import { crashPoint } from '../faults/crashPoint.ts';
import { chooseMirrorPlacement } from '../placement/index.ts';
import type { PlacementRequest, PlacementReservations, Reservation } from '../placement/index.ts';
import { MIRROR_HEADER_BYTES, initialMirrorRecord, maxBytesFor, newestRecord } from '../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';
import { chooseVolumeSize, fitsRange } from './capacityRange.ts';
import type { CapacityRange } from './capacityRange.ts';
import type { CreateVolumeInput, ControllerSnapshot, ControllerVolume, VolumeHealthEntry } from './ControllerService.ts';
import type { OperatorEvents } from './operatorEvents.ts';
import type { StorageNodes } from './StorageNodes.ts';

/**
 * One slot of a replicated volume's newest record, as its storage node answers: `ok` with its
 * copy, `missing` (the node answers without it), `silent` (the node does not answer) or `removed`
 * (the node was declared removed, so the copy is gone).
 */
export interface MirrorCopyView {
  readonly slot: number;
  readonly node: string;
  readonly zone: string;
  /** In sync in the newest record. */
  readonly inSync: boolean;
  readonly state: 'ok' | 'missing' | 'silent' | 'removed';
  /** Why a copy is not `ok`. */
  readonly detail?: string;
  readonly volume?: AgentVolume;
}

export interface ControllerMirror {
  /** The newest record any answering copy holds. */
  readonly record: MirrorRecord;
  /** The record's copies in slot order. */
  readonly copies: readonly MirrorCopyView[];
}

interface FoundCopy {
  readonly node: string;
  readonly volume: AgentVolume;
}

/** What the storage agents say of one replicated volume's LV id. */
interface LocatedMirror {
  readonly id: string;
  /** The newest record any found copy holds; undefined when no copy was found. */
  readonly record: MirrorRecord | undefined;
  /** Every copy found on an answering agent, in the record or not. */
  readonly found: readonly FoundCopy[];
  /** The record's slots (empty without a record). */
  readonly copies: readonly MirrorCopyView[];
  /** Agents that did not answer, described: without a record, any of them may hold a copy. */
  readonly silent: readonly string[];
  /** Agents that did not answer for less than the name guard (a restart, not a lost node). */
  readonly recentlySilent: readonly string[];
  /** A single-copy volume with this LV id (a replicas: 1 volume of the same name), on this node. */
  readonly singleOn: string | undefined;
}

export interface MirrorVolumesOptions {
  readonly nodes: StorageNodes;
  readonly log: Logger;
  readonly reservations: PlacementReservations;
  readonly statusMaxAgeMs: number;
  readonly nameGuardMs: number;
  readonly events: OperatorEvents | undefined;
  /** ControllerService's poll policy before looking a name up (it polls at once while an agent restarts). */
  readonly ensureFreshUnlessSilent: () => Promise<void>;
}

/**
 * The controller's side of replicated volumes (docs/replication.md): N copies with one LV id on N
 * storage nodes, found again by asking every agent for the id, and the copies' own record (their
 * LV tags) saying which nodes hold them and which are in sync. ControllerService routes `@mirror/`
 * ids here and holds the locks; every method here runs under the lock of its name or id.
 *
 * A node that does not answer is never taken for one without the copy: what cannot be checked
 * there (an ACL, a copy) is UNAVAILABLE, and only a node declared removed counts as gone.
 */
export class MirrorVolumes {
  readonly #o: MirrorVolumesOptions;

  constructor(opts: MirrorVolumesOptions) {
    this.#o = opts;
  }

  /**
   * CreateVolume with replicas >= 2:
   *  1. find copies of the name's LV id on every agent; one found: its record names every copy,
   *     and a create cut short (record generation 1, all in sync) is completed on exactly those
   *     nodes, so a retry converges; an incompatible one is ALREADY_EXISTS
   *  2. else place N distinct nodes, reserve each copy's bytes (data + header) and create copy i
   *     on node i with the first record; a copy that fails removes the copies this call made
   */
  async create(input: CreateVolumeInput, minimumBytes: number, log: Logger, signal: AbortSignal | undefined): Promise<ControllerVolume> {
    const replicas = input.parameters.replicas;
    if (input.source) {
      throw new InvalidArgumentError(
        `replicas=${replicas} with a content source (${input.source.kind} ${input.source.id}) is not supported yet: clone or restore into a replicas: 1 StorageClass (docs/replication.md)`,
      );
    }
    const multiNode = input.capabilities.find((c) => !isSingleNodeMode(c.mode));
    if (multiNode) {
      // Two workers' raid1 over the same copies would each write the copies' metadata (the kernel
      // does not stop a second assembly: docs/replication-kernel.md, e).
      throw new InvalidArgumentError(
        `replicas=${replicas} with access mode ${multiNode.mode} is not supported yet: a replicated volume is assembled on one worker at a time, so live migration with replicas waits for its handoff (docs/replication.md); use a single-node access mode or replicas: 1`,
      );
    }
    const id = buildAgentId(input.name, 'volume');
    const located = await this.#locate(id, signal);
    if (located.singleOn !== undefined) {
      throw new AlreadyExistsError(`volume ${JSON.stringify(input.name)} already exists as a single-copy volume (replicas: 1) on ${located.singleOn}, not with ${replicas} copies`);
    }
    if (located.record) return this.#complete(input, located, located.record, log, signal);
    if (located.recentlySilent.length > 0) {
      throw new UnavailableError(
        `volume ${JSON.stringify(input.name)} has no copy on the storage agents that answered, but ${located.recentlySilent.join(', ')} did not answer and may hold one from an earlier attempt; ` +
          `creating it elsewhere could make a second set of copies, so retry. Once an agent has been silent for ${Math.round(this.#o.nameGuardMs / 1000)} s, creates go ahead without it`,
      );
    }
    return this.#createNew(input, id, minimumBytes, log, signal);
  }

  async #createNew(input: CreateVolumeInput, id: string, minimumBytes: number, log: Logger, signal: AbortSignal | undefined): Promise<ControllerVolume> {
    const { nodes, reservations } = this.#o;
    const replicas = input.parameters.replicas;
    const excluded = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      await nodes.ensureFresh(attempt === 1 ? this.#o.statusMaxAgeMs : 0);
      const candidates = nodes.candidates().filter((c) => !excluded.has(c.name));
      const probeSize = chooseVolumeSize(input.capacityRange, { minimumBytes, extentSizeBytes: 1 });
      const request: PlacementRequest = {
        // Each copy's LV is the dm-raid header and the data.
        sizeBytes: probeSize + MIRROR_HEADER_BYTES,
        thin: input.parameters.thin,
        requiredLabels: input.parameters.requiredLabels,
        ...(input.requisiteZones ? { requisiteZones: input.requisiteZones } : {}),
        ...(input.preferredZones ? { preferredZones: input.preferredZones } : {}),
      };
      const takenAt = new Map(candidates.map((c) => [c.name, c.statusTakenAtMs]));
      const decision = chooseMirrorPlacement(candidates, request, replicas, (node, thin) => reservations.reservedBytes(node, thin, takenAt.get(node) ?? 0));
      log.debug({ name: input.name, placement: decision.explanation }, 'placement');
      // Every copy has the same data size: whole extents of the coarsest node.
      const extent = Math.max(0, ...decision.nodes.map((n) => nodes.status(n)?.extentSizeBytes ?? 0));
      const sizeBytes = chooseVolumeSize(input.capacityRange, { minimumBytes, extentSizeBytes: extent });
      const record = initialMirrorRecord(decision.nodes, sizeBytes);
      // Reserve before any await: a concurrent create placed in between would not see these bytes.
      const held: Reservation[] = decision.nodes.map((n) => reservations.reserve(n, sizeBytes + MIRROR_HEADER_BYTES, input.parameters.thin));
      const made: string[] = [];
      let current = '';
      try {
        for (const [slot, node] of decision.nodes.entries()) {
          current = node;
          const agent = await nodes.agentOf(node);
          await agent.createVolume({ name: input.name, sizeBytes, thick: !input.parameters.thin, mirror: { slot, record } }, signal);
          made.push(node);
          // A crash here leaves some copies whose tags name all: the CO's retry completes the set.
          crashPoint('controller.mirror.after-copy');
        }
      } catch (err: unknown) {
        for (const r of held) reservations.release(r);
        await this.#rollback(input.name, id, made, log);
        if (err instanceof ResourceExhaustedError && attempt === 1) {
          log.info({ node: current, err: err.message }, 'the agent refused a copy for lack of space; placing the copies again on fresh figures');
          excluded.add(current);
          continue;
        }
        throw err;
      }
      // Settled together: a rollback deletes every copy, and then none of them may keep counting.
      for (const r of held) reservations.settle(r);
      log.info({ name: input.name, volumeId: formatMirrorVolumeId(id), sizeBytes, nodes: decision.nodes }, 'replicated volume created');
      return this.#viewOrThrow(await this.#locate(id, signal), formatMirrorVolumeId(id));
    }
  }

  /**
   * Removes the copies this call made, so a failed create leaves nothing. Without the caller's
   * signal: the CO giving up is exactly when the leftovers must go. A copy that cannot be removed
   * stays with a record naming every node: the CO's retry completes the set, or DeleteVolume
   * removes it.
   */
  async #rollback(name: string, id: string, made: readonly string[], log: Logger): Promise<void> {
    for (const node of made) {
      try {
        await (await this.#o.nodes.agentOf(node)).deleteVolume(id);
      } catch (err: unknown) {
        log.error({ name, node, err: (err as Error).message }, 'could not remove a copy of a failed create; a retry of the create completes it, DeleteVolume removes it');
      }
    }
  }

  /** A name whose copies exist: the same volume (compatible), completed when its create was cut short. */
  async #complete(input: CreateVolumeInput, located: LocatedMirror, record: MirrorRecord, log: Logger, signal: AbortSignal | undefined): Promise<ControllerVolume> {
    const volumeId = formatMirrorVolumeId(located.id);
    const problems: string[] = [];
    if (record.copies.length !== input.parameters.replicas) problems.push(`it has ${record.copies.length} copies, not ${input.parameters.replicas}`);
    const sizes = located.found.map((f) => f.volume.sizeBytes);
    const size = Math.min(...sizes);
    if (!fitsRange(size, input.capacityRange)) problems.push(`its size ${size} is outside the requested range`);
    const thin = located.found[0]!.volume.thin;
    if (thin !== input.parameters.thin) problems.push(`it is ${thin ? 'thin' : 'thick'}`);
    if (problems.length > 0) throw new AlreadyExistsError(`volume ${JSON.stringify(input.name)} already exists and differs: ${problems.join('; ')}`);
    // Only the first record is a create cut short: a later generation was written by a node that
    // ran the mirror, and a blank copy made now would be taken for one holding its data.
    const fresh = record.generation === 1 && record.copies.every((c) => c.inSync);
    if (!fresh) return this.#viewOrThrow(located, volumeId);
    for (const copy of located.copies) {
      if (copy.state === 'silent') {
        throw new UnavailableError(`copy ${copy.slot} of volume ${JSON.stringify(input.name)} belongs on storage node ${copy.node}, which does not answer (${copy.detail}); retry`);
      }
      if (copy.state === 'removed') {
        throw new FailedPreconditionError(
          `copy ${copy.slot} of volume ${JSON.stringify(input.name)} belongs on storage node ${copy.node}, declared removed before the volume was complete; delete the volume (DeleteVolume ${volumeId}) and create it again`,
        );
      }
      const agent = await this.#o.nodes.agentOf(copy.node);
      // A copy found is created again with its own slot and record: the agent finds the LV and
      // exports it (a create killed after its lvcreate); a missing one is made with the record.
      const own = copy.volume?.mirror;
      const mirror = own ? { slot: own.slot, record: own.record } : { slot: copy.slot, record };
      await agent.createVolume({ name: input.name, sizeBytes: copy.volume?.sizeBytes ?? size, thick: !input.parameters.thin, mirror }, signal);
      if (copy.state === 'missing') {
        log.info({ name: input.name, volumeId, slot: copy.slot, node: copy.node }, 'copy of a replicated volume created by a retry');
        crashPoint('controller.mirror.after-copy');
      }
    }
    return this.#viewOrThrow(await this.#locate(located.id, signal), volumeId);
  }

  /**
   * DeleteVolume: every copy on every agent that has it. No copy found is success only when every
   * agent answered (a silent one may hold a copy). A copy published anywhere is FAILED_PRECONDITION;
   * a node of the record that does not answer is UNAVAILABLE before anything is deleted (its ACLs
   * cannot be checked); a node declared removed counts as gone.
   */
  async delete(volumeId: string, id: string, signal: AbortSignal | undefined): Promise<void> {
    const located = await this.#locate(id, signal);
    if (!located.record) {
      if (located.silent.length > 0) {
        throw new UnavailableError(
          `volume ${volumeId} has no copy on the storage agents that answered, but ${located.silent.join('; ')} did not answer and may hold one; retry, or declare a node gone for good with \`vbs-csi nodes remove\` (docs/storage-node-removal.md)`,
        );
      }
      return;
    }
    const published = located.found.filter((f) => f.volume.initiators.length > 0);
    if (published.length > 0) {
      const to = [...new Set(published.flatMap((f) => f.volume.initiators.map((i) => i.iqn)))];
      throw new FailedPreconditionError(`volume ${volumeId} is still published to ${to.join(', ')}; ControllerUnpublishVolume it first`);
    }
    const silent = located.copies.filter((c) => c.state === 'silent');
    if (silent.length > 0) throw new UnavailableError(`cannot delete volume ${volumeId}: ${describeCopies(silent)}; ${RETRY_OR_REMOVE}`);
    // Also where the LV is gone: the agent removes a target a crash may have left behind.
    const nodes = [...new Set([...located.copies.filter((c) => c.state === 'missing').map((c) => c.node), ...located.found.map((f) => f.node)])];
    for (const node of nodes) await (await this.#o.nodes.agentOf(node)).deleteVolume(id, signal);
  }

  /**
   * ControllerPublishVolume: every copy exported to the node's initiator, by the rules of a single
   * copy on each; publish_context lists the copies in slot order. Every copy of the newest record
   * must answer: publishing with some missing (degraded) is later work (docs/replication.md), so a
   * silent one is UNAVAILABLE and a lost one FAILED_PRECONDITION.
   */
  async publish(volumeId: string, id: string, iqn: string, capability: Capability, readonlyFlag: boolean, signal: AbortSignal | undefined): Promise<Record<string, string>> {
    const located = await this.#locate(id, signal);
    const copies = this.#requireEveryCopy(located, volumeId, 'published');
    const readOnly = readonlyFlag || isReadOnlyMode(capability.mode);
    for (const { volume } of copies) {
      const mine = volume.initiators.find((i) => i.iqn === iqn);
      if (mine && mine.readOnly !== readOnly) {
        throw new AlreadyExistsError(`volume ${volumeId} is already published to ${iqn} ${mine.readOnly ? 'read-only' : 'read-write'}; unpublish it before publishing it ${readOnly ? 'read-only' : 'read-write'}`);
      }
    }
    const others = [...new Set(copies.flatMap(({ volume }) => volume.initiators.filter((i) => i.iqn !== iqn).map((i) => i.iqn)))];
    // One worker at a time whatever the access mode: two workers' raid1 over the same copies
    // would each write the copies' metadata (docs/replication.md).
    if (others.length > 0) {
      throw new FailedPreconditionError(`volume ${volumeId} is published to ${others.join(', ')}; a replicated volume is published to one node at a time (docs/replication.md)`);
    }
    const contexts: MirrorCopyContext[] = [];
    for (const { node, volume } of copies) {
      const agent = await this.#o.nodes.agentOf(node);
      // Per copy, as for a single copy: an ACL made before keeps its CHAP mode.
      const mutualChap = volume.initiators.find((i) => i.iqn === iqn)?.mutualChap ?? true;
      const { target } = await agent.exportVolume({ volumeId: id, initiatorIqn: iqn, readOnly, mutualChap }, signal);
      const agentAddress = this.#o.nodes.addressOf(node);
      if (agentAddress === undefined) throw new UnavailableError(`storage node ${node} has no discovered agent address to give the node plugin; retry`);
      const host = target.portal.ip.includes(':') ? `[${target.portal.ip}]` : target.portal.ip;
      contexts.push({ targetPortal: `${host}:${target.portal.port}`, targetIqn: target.iqn, lun: target.lun, serial: target.serial, agentAddress, node });
    }
    return buildMirrorPublishContext({ copies: contexts });
  }

  /**
   * ControllerUnpublishVolume: removes the initiator's ACL (or every ACL) from every copy found, so
   * each copy's sessions end. A node of the record that does not answer, or an unexport that
   * fails, is UNAVAILABLE after the others are fenced (with the FenceNotApplied event): that
   * worker may still reach the copy there. No copy found: success when every agent answered.
   */
  async unpublish(volumeId: string, id: string, iqn: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const who = iqn ?? 'every initiator';
    let located: LocatedMirror;
    try {
      located = await this.#locate(id, signal);
    } catch (err: unknown) {
      this.#fenceNotApplied(volumeId, who, 'the storage nodes', err, signal);
      throw err;
    }
    if (!located.record) {
      if (located.silent.length === 0) return;
      const err = new UnavailableError(`volume ${volumeId} has no copy on the storage agents that answered, but ${located.silent.join('; ')} did not answer and may hold one with an ACL; ${RETRY_OR_REMOVE}`);
      this.#fenceNotApplied(volumeId, who, located.silent.join(', '), err, signal);
      throw err;
    }
    const failures: { node: string; err: unknown }[] = [];
    for (const { node, volume } of located.found) {
      try {
        const agent = await this.#o.nodes.agentOf(node);
        for (const i of iqn ? [iqn] : volume.initiators.map((x) => x.iqn)) await agent.unexportVolume({ volumeId: id, initiatorIqn: i }, signal);
      } catch (err: unknown) {
        failures.push({ node, err });
      }
    }
    for (const c of located.copies.filter((x) => x.state === 'silent')) {
      failures.push({ node: c.node, err: new UnavailableError(`copy ${c.slot} of volume ${volumeId} on storage node ${c.node} does not answer (${c.detail}); ${RETRY_OR_REMOVE}`) });
    }
    if (failures.length === 0) return;
    for (const f of failures) this.#fenceNotApplied(volumeId, who, f.node, f.err, signal);
    throw failures[0]!.err;
  }

  #fenceNotApplied(volumeId: string, nodeId: string, storageNode: string, err: unknown, signal: AbortSignal | undefined): void {
    // A cancelled try or a busy lock (ABORTED, another call is on it) is not a failed fence.
    if (signal?.aborted || err instanceof OperationPendingError) return;
    this.#o.events?.fenceNotApplied({ volumeId, nodeId, storageNode, error: err instanceof Error ? err.message : String(err) });
  }

  /**
   * ControllerExpandVolume: every copy grows to the same data size (whole extents of the coarsest
   * node), never beyond what the record's region size allows; the node plugin then grows the raid
   * device. Every copy must answer: one left small would cap the mirror.
   */
  async expand(volumeId: string, id: string, range: CapacityRange, signal: AbortSignal | undefined): Promise<AgentVolume> {
    const located = await this.#locate(id, signal);
    const copies = this.#requireEveryCopy(located, volumeId, 'expanded');
    const record = located.record!;
    const current = Math.min(...copies.map((c) => c.volume.sizeBytes));
    const view = (): ControllerVolume => this.#viewOrThrow(located, volumeId);
    if (current >= range.requiredBytes) {
      if (range.limitBytes > 0 && current > range.limitBytes) {
        throw new OutOfRangeError(`volume ${volumeId} is already ${current} bytes, above limit_bytes ${range.limitBytes}; volumes never shrink`);
      }
      if (copies.every((c) => c.volume.sizeBytes === current)) return view().volume;
    }
    const extent = Math.max(0, ...copies.map((c) => this.#o.nodes.status(c.node)?.extentSizeBytes ?? 0));
    const sizeBytes = current >= range.requiredBytes ? Math.max(...copies.map((c) => c.volume.sizeBytes)) : chooseVolumeSize(range, { minimumBytes: 0, extentSizeBytes: extent });
    const max = maxBytesFor(record.regionBytes);
    if (sizeBytes > max) {
      throw new OutOfRangeError(`volume ${volumeId} can grow to at most ${max} bytes: its mirror's region size (${record.regionBytes} bytes) allows ${max / record.regionBytes} regions`);
    }
    const sizes: number[] = [];
    for (const c of copies) {
      const v = c.volume.sizeBytes >= sizeBytes ? c.volume : await (await this.#o.nodes.agentOf(c.node)).expandVolume(id, sizeBytes, signal);
      sizes.push(v.sizeBytes);
    }
    return { ...view().volume, sizeBytes: Math.min(...sizes) };
  }

  /** ControllerGetVolume: the volume while any copy answers; UNAVAILABLE when none does and one may. */
  async get(volumeId: string, id: string, signal: AbortSignal | undefined): Promise<ControllerVolume> {
    return this.#viewOrThrow(await this.#locate(id, signal), volumeId);
  }

  /**
   * The health entries of a replicated volume: DEGRADED per kind of trouble (a copy out of sync in
   * the newest record, one whose node does not answer, one lost; a copy's thin pool over its
   * limits), INACCESSIBLE when no in-sync copy answers. One entry per (status, reason), as CSI asks.
   */
  async health(volumeId: string, id: string, signal: AbortSignal | undefined): Promise<VolumeHealthEntry[]> {
    const located = await this.#locate(id, signal);
    if (!located.record) {
      if (located.silent.length > 0) return [{ status: 'INACCESSIBLE', reason: 'StorageNodeUnreachable', message: `no copy of ${volumeId} answers; not answering: ${located.silent.join('; ')}` }];
      throw new NotFoundError(`volume ${volumeId} does not exist: no storage node holds a copy`);
    }
    return mirrorHealth(located.record, located.copies, (node) => this.#o.nodes.status(node)?.thinPoolHealth ?? 'ok');
  }

  /**
   * CreateSnapshot of a replicated volume: on one copy that is in sync in the newest record and
   * answers (the first in slot order); its id is that node's snapshot id. Restoring it is later work.
   */
  async snapshot(name: string, volumeId: string, id: string, signal: AbortSignal | undefined): Promise<ControllerSnapshot> {
    const located = await this.#locate(id, signal);
    if (!located.record) {
      if (located.silent.length > 0) throw new UnavailableError(`volume ${volumeId} has no copy on the storage agents that answered; not answering: ${located.silent.join('; ')}; retry`);
      throw new NotFoundError(`volume ${volumeId} does not exist: no storage node holds a copy`);
    }
    const source = located.copies.find((c) => c.state === 'ok' && c.inSync);
    if (!source) {
      throw new UnavailableError(`no copy of volume ${volumeId} that is in sync (record generation ${located.record.generation}) answers: ${describeCopies(located.copies.filter((c) => c.inSync))}; retry`);
    }
    const agent = await this.#o.nodes.agentOf(source.node);
    const snapshot: AgentSnapshot = await agent.createSnapshot({ name, sourceVolumeId: id }, signal);
    return { snapshotId: `${source.node}/${snapshot.id}`, sourceVolumeId: volumeId, snapshot };
  }

  /** The copies of the newest record, every one answering with its copy; else UNAVAILABLE (silent) or FAILED_PRECONDITION (lost). */
  #requireEveryCopy(located: LocatedMirror, volumeId: string, what: string): { readonly node: string; readonly volume: AgentVolume }[] {
    if (!located.record) {
      if (located.silent.length > 0) throw new UnavailableError(`volume ${volumeId} has no copy on the storage agents that answered; not answering: ${located.silent.join('; ')}; retry`);
      throw new NotFoundError(`volume ${volumeId} does not exist: no storage node holds a copy`);
    }
    const silent = located.copies.filter((c) => c.state === 'silent');
    if (silent.length > 0) {
      // Today every copy takes part: degraded publish and expansion are later work (docs/replication.md).
      throw new UnavailableError(`volume ${volumeId} is ${what} with every copy, and ${describeCopies(silent)}; retry once it answers`);
    }
    const lost = located.copies.filter((c) => c.state !== 'ok');
    if (lost.length > 0) {
      throw new FailedPreconditionError(`volume ${volumeId} is ${what} with every copy, and ${describeCopies(lost)}; replacing a lost copy is not supported yet (docs/replication.md)`);
    }
    return located.copies.map((c) => ({ node: c.node, volume: c.volume! }));
  }

  /** The volume as ControllerService answers it; UNAVAILABLE or NOT_FOUND when no copy answers. */
  #viewOrThrow(located: LocatedMirror, volumeId: string): ControllerVolume {
    const view = located.record ? mirrorControllerVolume(located.id, located.record, located.copies) : undefined;
    if (view) return view;
    const silent = [...located.silent, ...located.copies.filter((c) => c.state === 'silent').map((c) => `${c.node}: ${c.detail}`)];
    if (silent.length > 0) throw new UnavailableError(`no copy of volume ${volumeId} answers; not answering: ${silent.join('; ')}; retry`);
    throw new NotFoundError(`volume ${volumeId} does not exist: no storage node holds a copy`);
  }

  /**
   * Asks every answering agent for the LV id, takes the newest record among the copies found, and
   * asks the record's nodes that were not among them (a node failing its polls may still answer
   * a call; a removed one is gone). OperationPendingError (an agent creating it now) propagates.
   */
  async #locate(id: string, signal: AbortSignal | undefined): Promise<LocatedMirror> {
    const { nodes } = this.#o;
    await this.#o.ensureFreshUnlessSilent();
    const found: FoundCopy[] = [];
    const answered = new Set<string>();
    const skipped: string[] = [];
    let singleOn: string | undefined;
    await Promise.all(
      nodes.reachable().map(async ({ name: node, agent }) => {
        try {
          const volume = await agent.getVolume(id, signal);
          answered.add(node);
          if (volume.mirror) found.push({ node, volume });
          else singleOn = node;
        } catch (err: unknown) {
          if (err instanceof NotFoundError) answered.add(node);
          else if (err instanceof UnavailableError) skipped.push(`${node}: ${err.message}`);
          else throw err;
        }
      }),
    );
    found.sort((a, b) => compare(a.node, b.node));
    const silent = [...nodes.unreachable(), ...skipped];
    const recentlySilent = [...nodes.recentlySilent(this.#o.nameGuardMs), ...skipped];
    const newest = newestRecord(found.map((f) => f.volume.mirror!.record));
    if (newest && 'conflict' in newest) {
      throw new FailedPreconditionError(`the copies of ${formatMirrorVolumeId(id)} disagree (${newest.conflict}) on ${found.map((f) => f.node).join(', ')}; an operator must check them (docs/replication.md)`);
    }
    const record = newest?.record;
    const copies: MirrorCopyView[] = [];
    for (const [slot, c] of (record?.copies ?? []).entries()) {
      const base = { slot, node: c.node, zone: this.#zoneOf(c.node), inSync: c.inSync };
      const here = found.find((f) => f.node === c.node);
      if (here) copies.push({ ...base, state: 'ok', volume: here.volume });
      else if (answered.has(c.node)) copies.push({ ...base, state: 'missing', detail: 'its storage node answers without it' });
      else copies.push({ ...base, ...(await this.#askNode(c.node, id, signal)) });
    }
    for (const c of copies) if (c.state === 'ok' && !found.some((f) => f.node === c.node)) found.push({ node: c.node, volume: c.volume! });
    return { id, record, found, copies, silent, recentlySilent, singleOn };
  }

  /** A record's node that was not among the answering agents. */
  async #askNode(node: string, id: string, signal: AbortSignal | undefined): Promise<Pick<MirrorCopyView, 'state' | 'detail' | 'volume'>> {
    let agent: StorageAgent;
    try {
      agent = await this.#o.nodes.agentOf(node);
    } catch (err: unknown) {
      if (err instanceof NotFoundError) return { state: 'removed', detail: err.message };
      if (err instanceof UnavailableError) return { state: 'silent', detail: err.message };
      throw err;
    }
    try {
      const volume = await agent.getVolume(id, signal);
      return volume.mirror ? { state: 'ok', volume } : { state: 'missing', detail: 'its storage node holds a single-copy volume of that id' };
    } catch (err: unknown) {
      if (err instanceof NotFoundError) return { state: 'missing', detail: 'its storage node answers without it' };
      if (err instanceof UnavailableError) return { state: 'silent', detail: err.message };
      throw err;
    }
  }

  /** A node's zone from its last status, also while it does not answer (its copy's zone does not move). */
  #zoneOf(node: string): string {
    return this.#o.nodes.candidates().find((c) => c.name === node)?.zone ?? DEFAULT_ZONE;
  }

  /**
   * ListVolumes' entries of replicated volumes from the agents' lists (every agent answered):
   * one per LV id, not per copy.
   */
  listed(lists: readonly { readonly node: string; readonly volumes: readonly AgentVolume[] }[]): ControllerVolume[] {
    const byId = new Map<string, FoundCopy[]>();
    for (const { node, volumes } of lists) {
      for (const volume of volumes) if (volume.mirror) byId.set(volume.id, [...(byId.get(volume.id) ?? []), { node, volume }]);
    }
    const answered = new Set(lists.map((l) => l.node));
    const out: ControllerVolume[] = [];
    for (const [id, copiesFound] of byId) {
      const newest = newestRecord(copiesFound.map((f) => f.volume.mirror!.record));
      if (!newest || 'conflict' in newest) {
        this.#o.log.error({ volumeId: formatMirrorVolumeId(id), nodes: copiesFound.map((f) => f.node), conflict: newest && 'conflict' in newest ? newest.conflict : undefined }, 'the copies of a replicated volume disagree; listed by its first copy');
      }
      const record = newest && 'record' in newest ? newest.record : copiesFound[0]!.volume.mirror!.record;
      const copies: MirrorCopyView[] = record.copies.map((c, slot) => {
        const here = copiesFound.find((f) => f.node === c.node);
        const base = { slot, node: c.node, zone: this.#zoneOf(c.node), inSync: c.inSync };
        if (here) return { ...base, state: 'ok', volume: here.volume };
        return answered.has(c.node) ? { ...base, state: 'missing', detail: 'its storage node answers without it' } : { ...base, state: 'removed', detail: 'its storage node is not among the answering ones' };
      });
      const view = mirrorControllerVolume(id, record, copies);
      if (view) out.push(view);
    }
    return out;
  }
}

const RETRY_OR_REMOVE = 'retry once it answers, or, if it is gone for good, declare it with `vbs-csi nodes remove` (docs/storage-node-removal.md)';

function describeCopies(copies: readonly MirrorCopyView[]): string {
  if (copies.length === 0) return 'no copy is in sync';
  return copies.map((c) => `copy ${c.slot} on ${c.node} ${c.state === 'silent' ? 'does not answer' : c.state === 'removed' ? 'is on a node declared removed' : c.state === 'missing' ? 'is missing' : 'answers'}${c.detail ? ` (${c.detail})` : ''}`).join('; ');
}

/**
 * One replicated volume as ControllerService answers it: `volume` is a copy that answers (an
 * in-sync one first) with the smallest size of the answering copies (what the mirror can hold)
 * and the initiators of every answering copy; undefined when no copy answers.
 */
export function mirrorControllerVolume(id: string, record: MirrorRecord, copies: readonly MirrorCopyView[]): ControllerVolume | undefined {
  const answering = copies.filter((c) => c.volume !== undefined);
  const rep = answering.find((c) => c.inSync) ?? answering[0];
  if (!rep?.volume) return undefined;
  const initiators = new Map<string, AgentInitiator>();
  for (const c of answering) for (const i of c.volume!.initiators) if (!initiators.has(i.iqn)) initiators.set(i.iqn, i);
  const sizeBytes = Math.min(...answering.map((c) => c.volume!.sizeBytes));
  return {
    volumeId: formatMirrorVolumeId(id),
    node: rep.node,
    zone: rep.zone,
    volume: { ...rep.volume, sizeBytes, initiators: [...initiators.values()] },
    mirror: { record, copies },
  };
}

/** Health entries of a replicated volume (see MirrorVolumes.health); pure. */
export function mirrorHealth(record: MirrorRecord, copies: readonly MirrorCopyView[], thinPoolHealth: (node: string) => string): VolumeHealthEntry[] {
  const out: VolumeHealthEntry[] = [];
  const add = (status: VolumeHealthEntry['status'], reason: string, list: readonly string[]) => {
    if (list.length > 0) out.push({ status, reason, message: list.join('; ') });
  };
  if (!copies.some((c) => c.inSync && c.state === 'ok')) {
    add('INACCESSIBLE', 'NoCopyInSyncAnswers', [`no copy in sync in record generation ${record.generation} answers: ${describeCopies(copies.filter((c) => c.inSync))}`]);
  }
  add('DEGRADED', 'CopyOutOfSync', copies.filter((c) => !c.inSync).map((c) => `copy ${c.slot} on ${c.node} is out of sync (record generation ${record.generation}); the node plugin resynchronises it while attached`));
  add('DEGRADED', 'StorageNodeUnreachable', copies.filter((c) => c.state === 'silent').map((c) => `copy ${c.slot} on ${c.node} does not answer: ${c.detail}`));
  add('DEGRADED', 'CopyLost', copies.filter((c) => c.state === 'missing' || c.state === 'removed').map((c) => `copy ${c.slot} on ${c.node}: ${c.detail}`));
  add('DEGRADED', 'ThinPoolUnhealthy', copies.filter((c) => c.state === 'ok' && thinPoolHealth(c.node) !== 'ok').map((c) => `storage node ${c.node}: thin pool ${thinPoolHealth(c.node)}`));
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
