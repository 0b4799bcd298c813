import type { Logger } from 'pino';
import { MIN_CHAP_KEY_BYTES, deriveChapCredentials } from '../chap/index.ts';
import type { ChapCredentials } from '../chap/index.ts';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, OperationPendingError, OutOfRangeError, UnavailableError } from '../errors.ts';
import { LUN_ID, buildTargetIqn, buildUnitSerial, normalizeIqn, validatePortal } from '../lio/index.ts';
import type { AclSpec, LioTarget } from '../lio/index.ts';
import { AsyncMutex, KeyedLocks } from '../locks/index.ts';
import { buildAgentId, isSnapshotId, isVolumeId } from '../agentApi/ids.ts';
import type { LogicalVolume, Lvm } from '../lvm/index.ts';
import { findOrphanExports, isExportInSync } from './planReconcile.ts';
import type { DesiredExport } from './planReconcile.ts';
import type { AgentVolumesDomain, ReconcileReport } from './types.ts';
import {
  normalizeInitiatorIqn,
  roundUpToExtent,
  validateContentSource,
  validateMirrorRecord,
  validateMirrorSlot,
  validateName,
  validateSizeBytes,
  validateSnapshotId,
  validateVolumeId,
} from './validateAgentRequest.ts';
import { sumProvisionedBytes, validateThickAdmission, validateThinAdmission } from './validateAdmission.ts';
import { validateThinCapacityPolicy } from './status/index.ts';
import type { ThinCapacityPolicy } from './status/index.ts';
import {
  TAG,
  buildAclTag,
  buildAclTagKey,
  buildMirrorRecordTags,
  buildMirrorTags,
  buildSnapshotTags,
  buildVolumeTags,
  classifyLv,
  parseMirror,
  parseSnapshotRecord,
  parseVolumeRecord,
} from './volumeTags.ts';
import type { SnapshotRecord, VolumeRecord } from './volumeTags.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import { matchExistingVolume } from './matchExistingVolume.ts';
import { ensureThinPoolZeroes, thinPoolNotZeroing } from './thinPoolZeroing.ts';
import { buildTargetName, validateTargetIqnPrefix } from './targetIdentity.ts';
import { settlesWithin } from './settlesWithin.ts';
import { ZeroingJobs } from './zeroing/ZeroingJobs.ts';
import type { DeviceZeroer } from './zeroing/ZeroingJobs.ts';
import type {
  AgentContentSource,
  AgentCredentialsPort,
  AgentExport,
  AgentInitiator,
  AgentMirror,
  AgentPortal,
  AgentSnapshot,
  AgentTarget,
  AgentVolume,
  CreateAgentVolumeRequest,
  ExportAgentVolumeRequest,
  SetMirrorRecordRequest,
  SetMirrorRecordResult,
} from '../agentApi/types.ts';
import { growthLvNameOf } from './thickGrowth.ts';
import { isStorageNodeName } from '../csi/volumeIds.ts';
import { MIRROR_HEADER_BYTES, maxBytesFor, sameRecord } from '../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';

/** The part of Lvm the agent uses (an in-memory fake stands in for it in unit tests). */
export type AgentLvm = Pick<
  Lvm,
  | 'vgName'
  | 'thinPoolName'
  | 'getVolumeGroup'
  | 'readPoolAndVolumes'
  | 'enableThinPoolZeroing'
  | 'findVolume'
  | 'listVolumes'
  | 'createThinVolume'
  | 'createThickVolume'
  | 'createThinSnapshot'
  | 'extendVolume'
  | 'physicalExtentRanges'
  | 'activate'
  | 'removeVolume'
  | 'addTags'
  | 'deleteTags'
>;

/** The part of LioTarget the agent uses. */
export type AgentLio = Pick<LioTarget, 'exportVolume' | 'addAcl' | 'removeAcl' | 'unexportVolume' | 'readExport' | 'listExports'>;

export interface AgentVolumesOptions {
  readonly lvm: AgentLvm;
  readonly lio: AgentLio;
  /** The cluster CHAP key every per-volume, per-initiator secret is derived from. */
  readonly chapKey: Buffer;
  /** Where initiators reach this node's targets. */
  readonly portal: AgentPortal;
  /**
   * The storage node this agent serves (--storage-node-name): a copy of a replicated volume is
   * created here only when its record names this node in the copy's slot. Without it, no copy is.
   */
  readonly storageNode?: string;
  /** Target IQNs are `<prefix>:<id>.<lv key>` (targetIdentity.ts); only targets under it are ours to repair or remove. */
  readonly iqnPrefix: string;
  /** Zeroes thick LVs (their extents may hold deleted volumes' data) before their first export. */
  readonly zeroer: DeviceZeroer;
  /** How long a create or expand waits for its zeroing before it answers ABORTED and lets it go on; default 20 s. */
  readonly zeroingWaitMs?: number;
  /** Default 1 GiB. */
  readonly zeroingChunkBytes?: number;
  readonly overprovisionRatio: number;
  /** Default 90. */
  readonly dataLimitPercent?: number;
  /** Default 80. */
  readonly metadataLimitPercent?: number;
  readonly log: Logger;
  readonly clock?: () => Date;
  /** How long DeleteVolume waits for the target's removal before it answers UNAVAILABLE; default 20 s. */
  readonly unexportDeadlineMs?: number;
}

export const DEFAULT_UNEXPORT_DEADLINE_MS = 20_000;

/** The key reconcile holds, so two reconciles never overlap; ids never look like it. */
const RECONCILE_LOCK = 'reconcile';

/**
 * The storage agent's volumes: thin (or thick) LVs in one VG, each exported by LIO as its own
 * target (LUN 0, one portal) with one ACL per allowed initiator.
 *
 * LVM is the database: every fact lives in LV tags (volumeTags.ts); the target IQN, the unit
 * serial and the CHAP secrets are derived, so reconcile() rebuilds LIO from `lvs` alone after a
 * reboot, with identical IQNs, serials and credentials (docs/field-notes.md 4.1).
 *
 * Concurrency: each call takes a fail-fast lock on the object it changes (the LV id, which is
 * derived from the CO's name for creates) and answers OperationPendingError (ABORTED) while
 * another call holds it; LVM metadata changes, with the capacity check that precedes a create,
 * run one at a time under one VG-wide queue, so a burst of creates cannot overfill the pool.
 * Sources of clones and snapshots are not locked: many clones of one golden image may run
 * together (docs/field-notes.md 6.5); the VG queue orders them against a delete of that source.
 */
export class AgentVolumes implements AgentVolumesDomain, AgentCredentialsPort {
  readonly #lvm: AgentLvm;
  readonly #lio: AgentLio;
  readonly #chapKey: Buffer;
  readonly #portal: AgentPortal;
  readonly #storageNode: string | undefined;
  readonly #iqnPrefix: string;
  readonly #policy: ThinCapacityPolicy;
  readonly #log: Logger;
  readonly #clock: () => Date;
  readonly #unexportDeadlineMs: number;
  readonly #locks = new KeyedLocks();
  readonly #vgQueue = new AsyncMutex();
  readonly #zeroing: ZeroingJobs;
  readonly #zeroingWaitMs: number;
  #extentSizeBytes: number | undefined;

  constructor(opts: AgentVolumesOptions) {
    if (opts.chapKey.length < MIN_CHAP_KEY_BYTES) throw new InvalidArgumentError(`the CHAP key must be at least ${MIN_CHAP_KEY_BYTES} bytes`);
    const policy: ThinCapacityPolicy = {
      overprovisionRatio: opts.overprovisionRatio,
      dataLimitPercent: opts.dataLimitPercent ?? 90,
      metadataLimitPercent: opts.metadataLimitPercent ?? 80,
    };
    validateThinCapacityPolicy(policy);
    this.#lvm = opts.lvm;
    this.#lio = opts.lio;
    this.#chapKey = Buffer.from(opts.chapKey);
    this.#portal = validatePortal(opts.portal);
    if (opts.storageNode !== undefined && !isStorageNodeName(opts.storageNode)) throw new InvalidArgumentError(`storage node name ${JSON.stringify(opts.storageNode)} is not a lowercase DNS name`);
    this.#storageNode = opts.storageNode;
    this.#iqnPrefix = normalizeIqn(opts.iqnPrefix, 'target IQN prefix');
    validateTargetIqnPrefix(this.#iqnPrefix);
    this.#policy = policy;
    this.#log = opts.log;
    this.#clock = opts.clock ?? (() => new Date());
    this.#unexportDeadlineMs = opts.unexportDeadlineMs ?? DEFAULT_UNEXPORT_DEADLINE_MS;
    this.#zeroing = new ZeroingJobs({ zeroer: opts.zeroer, log: opts.log, ...(opts.zeroingChunkBytes === undefined ? {} : { chunkBytes: opts.zeroingChunkBytes }) });
    this.#zeroingWaitMs = opts.zeroingWaitMs ?? 20_000;
  }

  /**
   * Creates (or finds again) a volume and makes sure it is exported, with no initiator allowed:
   *  1. validate; lock the id, which is derived from the name, so a retry computes the same LV
   *  2. under the VG queue: an LV with that id exists → compatible (same size after rounding,
   *     same source, same provisioning) is returned as it is, one a crash left between lvcreate -s
   *     and lvextend is extended (matchExistingVolume.ts), anything else is AlreadyExistsError;
   *     otherwise admission (thin pool limits or VG free space), then lvcreate with every tag, or
   *     for a content source a thin snapshot of it created active and without the activation-skip
   *     flag, extended when the request is larger than the source
   *  3. a thick LV (tagged `zeroing` by its lvcreate) is zeroed first (#settleZeroing): ABORTED
   *     while that takes longer than zeroingWaitMs, the zeroing going on for the retry to find
   *  4. activate if needed and export (backstore, serial, target, LUN 0, portal; no ACL)
   * A failure after this call created the LV removes the export and the LV again; an LV that
   * existed before the call is never removed (nor one whose zeroing failed: the retry redoes it). A request smaller than its source is
   * OutOfRangeError: a clone cannot shrink (and CSI says the capacity is then unsupported).
   *
   * With `mirror`, the LV is one copy of a replicated volume (docs/replication.md): its record
   * must name this storage node in the copy's slot; the LV is MIRROR_HEADER_BYTES + sizeBytes
   * (whole extents) and the lvcreate writes the mirror tags with the others, so the copy is born
   * complete and the steps are those above: no new one, and 'agent.create-volume.after-lv' is its
   * crash point too. The header must read as zeroes for dm-raid to initialise it: a thin LV does
   * (the pool zeroes what it provisions; admission refuses a pool that does not), a thick one is
   * zeroed from byte 0 like every thick volume (#settleZeroing).
   */
  async createVolume(req: CreateAgentVolumeRequest, signal?: AbortSignal): Promise<AgentVolume> {
    const name = validateName(req.name, 'volume name');
    const sizeBytes = validateSizeBytes(req.sizeBytes);
    const source = validateContentSource(req.contentSource);
    const mirror = validateMirrorSlot(req.mirror);
    const thin = !req.thick;
    if (source && !thin) throw new InvalidArgumentError('a volume made from a snapshot or a volume is a thin snapshot of it and cannot be thick');
    if (source && mirror) throw new InvalidArgumentError('a copy of a replicated volume cannot be made from a snapshot or a volume: not yet supported');
    if (mirror) this.#requireOwnSlot(mirror);
    const id = buildAgentId(name, 'volume');
    return this.#locks.runExclusive(id, async () => {
      const { lv, created } = await this.#vgQueue.runExclusive(() => this.#findOrCreateVolumeLv({ id, name, sizeBytes, thin, source, mirror }, signal), signal);
      // A crash here leaves an LV without its export: the retry must find the LV and export it.
      crashPoint('agent.create-volume.after-lv');
      const record = await this.#settleZeroing(requireVolumeRecord(lv), signal);
      try {
        return this.#toAgentVolume((await this.#ensureExport(record, signal)).record);
      } catch (err: unknown) {
        if (created) await this.#rollbackCreate(id, err, lv);
        throw err;
      }
    });
  }

  /**
   * Grows a volume to at least sizeBytes (rounded up to whole extents) and returns it with its
   * real size; never shrinks (a smaller or equal size returns it unchanged). Thin growth passes
   * the same admission as a create, for the added bytes. LIO's iblock backstore reads the device
   * size on every READ CAPACITY, so the initiator sees the new size after a rescan — any initiator,
   * at any rescan: a thick volume's added extents are therefore zeroed before they join it (#extendThick).
   * Of a copy of a replicated volume, sizeBytes is the data size: the LV grows to its header plus
   * that, and never past what the record's region size allows dm-raid (OutOfRangeError).
   */
  async expandVolume(id: string, sizeBytes: number, signal?: AbortSignal): Promise<AgentVolume> {
    validateVolumeId(id);
    validateSizeBytes(sizeBytes);
    return this.#locks.runExclusive(id, async () => {
      // Zeroing left over from a create (or an expand by an older agent, which tagged the volume) comes first.
      const current = await this.#settleZeroing(await this.#requireVolume(id, signal), signal);
      const headerBytes = current.mirror?.headerBytes ?? 0;
      const target = roundUpToExtent(headerBytes + sizeBytes, await this.#extentSize(signal));
      if (current.mirror) requireWithinRegions(target - headerBytes, current.mirror.record);
      if (target <= current.lv.sizeBytes) return this.#toAgentVolume(current);
      const record = current.thin ? await this.#extendThin(id, target, signal) : await this.#extendThick(current, target, signal);
      // The LV grew but the caller never hears it: the retry finds it big enough already.
      crashPoint('agent.expand-volume.after-lvextend');
      return this.#toAgentVolume(record);
    });
  }

  async #extendThin(id: string, target: number, signal: AbortSignal | undefined): Promise<VolumeRecord> {
    return this.#vgQueue.runExclusive(async () => {
      const current = await this.#requireVolume(id, signal);
      if (target <= current.lv.sizeBytes) return current;
      await this.#admit(true, target - current.lv.sizeBytes, signal);
      return requireVolumeRecord(await this.#lvm.extendVolume(id, target, signal));
    }, signal);
  }

  /**
   * Thick growth, in an order where no initiator can ever read the added extents unzeroed:
   *  1. under the VG queue, an LV of the added size (`vbs-grow-…`, tagged zeroing=0) takes the
   *     extents; one left by an earlier try of the same size is reused, another size replaced;
   *  2. it is zeroed like a new thick volume (ABORTED with the progress past the wait, the job goes on);
   *  3. under the VG queue, its extent ranges are read, it is removed, and lvextend takes exactly
   *     those ranges (lvextend's PV arguments), so the volume grows onto zeroed extents only.
   * A crash after 3's removal leaves the volume at its old size and no growth LV: the retry starts
   * over on whatever extents are free. DeleteVolume removes a growth LV left behind.
   */
  async #extendThick(current: VolumeRecord, target: number, signal: AbortSignal | undefined): Promise<VolumeRecord> {
    const id = current.id;
    const growth = growthLvNameOf(id);
    const addedBytes = target - current.lv.sizeBytes;
    const left = await this.#lvm.findVolume(growth, signal);
    if (left && left.sizeBytes !== addedBytes) await this.#zeroing.cancel(growth); // outside the queue: the job's end takes it
    let lv = await this.#vgQueue.runExclusive(async () => {
      const existing = await this.#lvm.findVolume(growth, signal);
      if (existing?.sizeBytes === addedBytes) return existing;
      if (existing) await this.#lvm.removeVolume(growth, signal);
      await this.#admit(false, addedBytes, signal);
      return this.#lvm.createThickVolume({ lvName: growth, sizeBytes: addedBytes, tags: { [TAG.zeroing]: '0' } }, signal);
    }, signal);
    // Extents held, not zeroed: the retry reuses them (and zeroes them again, from the start).
    crashPoint('agent.expand-volume.after-growth-lv');
    if (lv.tags[TAG.zeroing] !== undefined) {
      if (!lv.isActive) lv = await this.#vgQueue.runExclusive(() => this.#lvm.activate(growth, signal), signal);
      const uuid = lv.uuid;
      const job = this.#zeroing.ensure({ id: growth, lvUuid: uuid, devicePath: lv.devicePath, fromBytes: 0, toBytes: lv.sizeBytes }, (jobSignal) =>
        this.#vgQueue.runExclusive(async () => {
          const now = await this.#lvm.findVolume(growth, jobSignal);
          if (now?.uuid !== uuid) throw new Error(`LV ${growth} was replaced while it was being zeroed`);
          await this.#lvm.deleteTags(growth, [TAG.zeroing], jobSignal);
        }, jobSignal),
      );
      if (!(await settlesWithin(job.done, this.#zeroingWaitMs, signal))) {
        throw new OperationPendingError(id, `the ${addedBytes} bytes volume ${id} grows by are being zeroed before they join it (${job.zeroedBytes()} done); retry, the zeroing goes on meanwhile`);
      }
    }
    return this.#vgQueue.runExclusive(async () => {
      const zeroed = await this.#lvm.findVolume(growth, signal);
      if (zeroed?.uuid !== lv.uuid || zeroed.tags[TAG.zeroing] !== undefined) throw new OperationPendingError(id, `the extents volume ${id} grows onto changed while they were zeroed; retry`);
      const ranges = await this.#lvm.physicalExtentRanges(growth, signal);
      await this.#lvm.removeVolume(growth, signal);
      // Extents zeroed and free again, the volume not grown: the retry starts over.
      crashPoint('agent.expand-volume.after-growth-lv-removed');
      return requireVolumeRecord(await this.#lvm.extendVolume(id, target, signal, { fromExtents: ranges }));
    }, signal);
  }

  /**
   * Deletes a volume; one already gone is success, and so is an id this agent could never have
   * given out. Holding the volume's lock throughout:
   *  1. under the VG queue: FailedPreconditionError while snapshots of it exist (a CSI snapshot
   *     must stay restorable, and KubeVirt's VM restores rely on that, although thin snapshots
   *     would survive)
   *  2. outside the VG queue, remove the export (ends every session; an enabled iblock backstore
   *     holds the LV open, so lvremove would fail before). The kernel may block these configfs writes while it
   *     drains outstanding I/O, and a blocked write cannot be cancelled: past unexportDeadlineMs
   *     the call answers UnavailableError while the removal goes on, and the volume's lock stays
   *     held until it ends (a retry meanwhile is OperationPendingError); no other volume waits
   *  3. under the VG queue: check for snapshots again (one may have been taken during step 2),
   *     then lvremove
   */
  async deleteVolume(id: string, signal?: AbortSignal): Promise<void> {
    if (!isVolumeId(id)) return;
    if (!this.#locks.tryAcquire(id)) throw new OperationPendingError(id);
    let stillUnexporting: Promise<unknown> | undefined;
    try {
      // A zeroing job holds the device open and would remove the tag of a gone LV: stop it first (outside the VG queue it needs to finish).
      await this.#zeroing.cancel(id);
      await this.#zeroing.cancel(growthLvNameOf(id));
      const lv = await this.#vgQueue.runExclusive(() => this.#findDeletableVolume(id, signal), signal);
      // Also when the LV is gone: a crash may have left its target behind.
      const targetIqn = this.#targetIqnOfLv(id, lv);
      const unexport = this.#lio.unexportVolume(targetIqn, id);
      if (!(await settlesWithin(unexport, this.#unexportDeadlineMs))) {
        stillUnexporting = unexport;
        throw new UnavailableError(
          `removing the iSCSI target ${targetIqn} of volume ${id} has not finished after ${this.#unexportDeadlineMs / 1000} s: the kernel is still ` +
            'draining its I/O (an initiator or the backing device that does not answer). The removal goes on and nothing else on this storage node waits for it; ' +
            'retry the delete (it is ABORTED until the removal ends, then goes on)',
        );
      }
      // An LV with no export left: the retry must still remove it.
      crashPoint('agent.delete-volume.after-unexport');
      await this.#vgQueue.runExclusive(async () => {
        const volume = await this.#findDeletableVolume(id, signal);
        if (!volume) return;
        // An expand's unfinished growth (#extendThick) goes first: removed after the volume, a crash between would orphan it.
        if (!volume.isThin && (await this.#lvm.findVolume(growthLvNameOf(id), signal))) await this.#lvm.removeVolume(growthLvNameOf(id), signal);
        await this.#lvm.removeVolume(id, signal);
      }, signal);
    } finally {
      if (stillUnexporting) this.#releaseWhenUnexported(id, stillUnexporting);
      else this.#locks.release(id);
    }
  }

  /** Step 1 and 3 of deleteVolume, under the VG queue: the volume's LV (undefined when gone), unless it must not be removed. */
  async #findDeletableVolume(id: string, signal: AbortSignal | undefined): Promise<LogicalVolume | undefined> {
    const lvs = await this.#lvm.listVolumes({}, signal);
    const lv = lvs.find((l) => l.name === id);
    if (lv && classifyLv(lv) !== 'volume') throw new FailedPreconditionError(`LV ${lv.vgName}/${id} is not a vbs volume (no kind=volume tag); refusing to delete it`);
    const snapshots = lvs.filter((l) => classifyLv(l) === 'snapshot' && (l.tags[TAG.sourceId] === id || l.origin === id)).map((l) => l.name);
    if (snapshots.length > 0) {
      throw new FailedPreconditionError(`volume ${id} still has ${snapshots.length} snapshot(s): ${snapshots.join(', ')}; delete them first`);
    }
    return lv;
  }

  /** A delete answered while its unexport still runs: the volume stays locked until the kernel lets go. */
  #releaseWhenUnexported(id: string, unexport: Promise<unknown>, by: 'delete' | 'reconcile' = 'delete'): void {
    const retry = by === 'delete' ? 'a retried delete' : 'the next reconcile';
    this.#log.warn({ volumeId: id, deadlineMs: this.#unexportDeadlineMs, by }, 'an unexport is blocked in the kernel; the object stays locked until it ends');
    void unexport
      .then(
        () => this.#log.info({ volumeId: id, by }, `the blocked unexport finished; ${retry} goes on`),
        (err: unknown) => this.#log.warn({ volumeId: id, by, err }, `the blocked unexport failed; ${retry} tries again`),
      )
      .finally(() => this.#locks.release(id));
  }

  /**
   * One volume. Not there while a create of that id is in flight is OperationPendingError, not
   * NotFoundError: the controller looks a CSI name up on every agent before placing it, and a
   * "not found" from the agent still running the lvcreate would let a retry place it twice.
   */
  async getVolume(id: string, signal?: AbortSignal): Promise<AgentVolume> {
    validateVolumeId(id);
    const lv = await this.#lvm.findVolume(id, signal);
    const record = lv && parseVolumeRecord(lv);
    if (!record) this.#throwMissing(id, 'volume');
    return this.#toAgentVolume(record);
  }

  /** One snapshot; pending and missing are told apart as for getVolume. */
  async getSnapshot(id: string, signal?: AbortSignal): Promise<AgentSnapshot> {
    validateSnapshotId(id);
    const lv = await this.#lvm.findVolume(id, signal);
    const record = lv && parseSnapshotRecord(lv);
    if (!record) this.#throwMissing(id, 'snapshot');
    return toAgentSnapshot(record);
  }

  #throwMissing(id: string, what: 'volume' | 'snapshot'): never {
    if (this.#locks.isHeld(id)) throw new OperationPendingError(id);
    throw new NotFoundError(`${what} ${id} does not exist on this storage node`);
  }

  /** Every volume, from one `lvs` call. An LV with malformed tags is logged and left out. */
  async listVolumes(signal?: AbortSignal): Promise<AgentVolume[]> {
    const out: AgentVolume[] = [];
    for (const lv of await this.#lvm.listVolumes({}, signal)) {
      const record = this.#tryParse(lv, parseVolumeRecord);
      if (record) out.push(this.#toAgentVolume(record));
    }
    return out;
  }

  /**
   * A parked thin snapshot of a volume: activation-skipped and inactive, never exported, ready at
   * once (an LVM thin snapshot is complete when lvcreate returns), its size the source's size.
   * Idempotent by name: the same source returns the existing snapshot, another source is
   * AlreadyExistsError. Thick volumes cannot be snapshotted (FailedPreconditionError).
   * A copy of a replicated volume is snapshotted whole, header and data at one instant, and the
   * snapshot keeps the copy's mirror tags as they were; its size is the data size.
   */
  async createSnapshot(req: { readonly name: string; readonly sourceVolumeId: string }, signal?: AbortSignal): Promise<AgentSnapshot> {
    const name = validateName(req.name, 'snapshot name');
    const sourceVolumeId = validateVolumeId(req.sourceVolumeId);
    const id = buildAgentId(name, 'snapshot');
    return this.#locks.runExclusive(id, async () => {
      const record = await this.#vgQueue.runExclusive(async () => {
        const existing = await this.#lvm.findVolume(id, signal);
        if (existing) {
          const snap = parseSnapshotRecord(existing);
          if (!snap) throw new FailedPreconditionError(`LV ${existing.vgName}/${id} exists but is not a vbs snapshot`);
          if (snap.name !== name) throw new AlreadyExistsError(`snapshot id ${id} is taken by snapshot ${JSON.stringify(snap.name)}`);
          if (snap.sourceVolumeId !== sourceVolumeId) {
            throw new AlreadyExistsError(`snapshot ${JSON.stringify(name)} already exists for volume ${snap.sourceVolumeId}, not ${sourceVolumeId}`);
          }
          return snap;
        }
        const source = await this.#requireVolume(sourceVolumeId, signal);
        if (!source.thin) throw new FailedPreconditionError(`volume ${sourceVolumeId} is thick; only thin volumes can be snapshotted`);
        await this.#admit(true, source.lv.sizeBytes, signal, { countsTowardRatio: false });
        const lv = await this.#lvm.createThinSnapshot(
          { sourceLv: sourceVolumeId, lvName: id, activate: false, tags: buildSnapshotTags({ name, createdAt: this.#clock(), sourceVolumeId, mirror: source.mirror }) },
          signal,
        );
        const snap = parseSnapshotRecord(lv);
        if (!snap) throw new Error(`snapshot ${id} lost its tags right after lvcreate`);
        return snap;
      }, signal);
      // The snapshot LV exists but the caller never hears it: the retry must return this one, not a second.
      crashPoint('agent.create-snapshot.after-lv');
      return toAgentSnapshot(record);
    });
  }

  /** Deletes a snapshot; one already gone (or an id this agent never gives out) is success. Clones made from it live on. */
  async deleteSnapshot(id: string, signal?: AbortSignal): Promise<void> {
    if (!isSnapshotId(id)) return;
    await this.#locks.runExclusive(id, () =>
      this.#vgQueue.runExclusive(async () => {
        const lv = await this.#lvm.findVolume(id, signal);
        if (!lv) return;
        if (classifyLv(lv) !== 'snapshot') throw new FailedPreconditionError(`LV ${lv.vgName}/${id} is not a vbs snapshot (no kind=snapshot tag); refusing to delete it`);
        await this.#lvm.removeVolume(id, signal);
      }, signal),
    );
  }

  /** Every snapshot (of one volume, if asked), from one `lvs` call. */
  async listSnapshots(filter: { readonly sourceVolumeId?: string }, signal?: AbortSignal): Promise<AgentSnapshot[]> {
    const out: AgentSnapshot[] = [];
    for (const lv of await this.#lvm.listVolumes({}, signal)) {
      const record = this.#tryParse(lv, parseSnapshotRecord);
      if (record && (filter.sourceVolumeId === undefined || record.sourceVolumeId === filter.sourceVolumeId)) out.push(toAgentSnapshot(record));
    }
    return out;
  }

  /**
   * Lets one initiator log in (ControllerPublish):
   *  1. validate and lowercase the initiator IQN; lock the volume
   *  2. make sure the volume is active and exported (a crash may have left it without)
   *  3. the initiator's tag, FIRST, under the VG queue (replacing its flags if they changed)
   *  4. then the LIO ACL with CHAP derived from the cluster key, LUN 0 write-protected if readOnly
   * Tag before ACL: a crash in between leaves a tag whose ACL reconcile adds, never an ACL that
   * no tag accounts for. Returns the target only: the credentials (derived, never stored) go to
   * the initiator's node plugin through chapCredentials, never to the controller.
   */
  async exportVolume(req: ExportAgentVolumeRequest, signal?: AbortSignal): Promise<{ readonly target: AgentTarget }> {
    const id = validateVolumeId(req.volumeId);
    const initiator: AgentInitiator = { iqn: normalizeInitiatorIqn(req.initiatorIqn), readOnly: req.readOnly, mutualChap: req.mutualChap };
    return this.#locks.runExclusive(id, async () => {
      // No new initiator while any part of the LV may still hold old data.
      const settled = await this.#settleZeroing(await this.#requireVolume(id, signal), signal);
      const { record } = await this.#ensureExport(settled, signal);
      const tag = buildAclTag(initiator);
      if (record.lv.tags[tag.key] !== tag.value) await this.#vgQueue.runExclusive(() => this.#lvm.addTags(id, { [tag.key]: tag.value }, signal), signal);
      // A tag without its ACL: reconcile or the retry adds the ACL.
      crashPoint('agent.export-volume.after-tag');
      const chap = this.#deriveChap(record, initiator);
      await this.#lio.addAcl(this.#targetIqnOf(record), buildAclSpec(initiator.iqn, chap), { readOnly: initiator.readOnly });
      return { target: this.#target(record) };
    });
  }

  /**
   * The CHAP credentials of one initiator on one volume, for that initiator's node plugin
   * (AgentCredentials; the handler has checked the caller is that node). Only while the volume's
   * tags hold an ACL for the initiator: a worker learns the secrets of what is published to it,
   * nothing else (docs/security.md). Derived as exportVolume derives them (mutual when the ACL
   * is), so they match the ACL reconcile keeps in LIO. Reads only: no lock.
   */
  async chapCredentials(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<AgentExport> {
    const id = validateVolumeId(req.volumeId);
    const iqn = normalizeInitiatorIqn(req.initiatorIqn);
    const record = await this.#requireVolume(id, signal);
    const initiator = requirePublishedTo(record, iqn);
    return { target: this.#target(record), chap: this.#deriveChap(record, initiator) };
  }

  /**
   * A copy's slot, header and record, for the node its volume is published to (the same check
   * as chapCredentials: the node that assembles the mirror has every copy published to it).
   * FailedPreconditionError for a single-copy volume. Reads only: no lock.
   */
  async mirrorRecord(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<AgentMirror> {
    const id = validateVolumeId(req.volumeId);
    const iqn = normalizeInitiatorIqn(req.initiatorIqn);
    const record = await this.#requireVolume(id, signal);
    requirePublishedTo(record, iqn);
    return requireCopy(record);
  }

  /**
   * A compare-and-set of a copy's record by the node that runs the mirror (docs/replication.md):
   *  1. validate; lock the volume (the per-volume lock every change takes: ABORTED while another
   *     call on it runs, so two setters never interleave and an unexport's fence is either
   *     before this call, which then finds no ACL, or after it)
   *  2. the volume is published to the initiator (as chapCredentials) and is a copy
   *  3. the stored record equals `record`: a retry, applied. Otherwise applied only when the
   *     stored generation is at most expectedGeneration (below it: this copy was away while the
   *     writer moved on, and catches up; without that a returning copy would keep its old record
   *     for good), record.generation is expectedGeneration + 1, and the record
   *     keeps the copies (the same node in each slot) and the region size: a node only moves
   *     in-sync flags; who holds a copy is the controller's to change. Anything else: not
   *     applied, and the answer carries the stored record, so the caller sees who won
   *  4. the record's tags replaced by one lvchange (Lvm.addTags: --deltag/--addtag pairs, one
   *     VG metadata commit), so no reader ever sees half a record
   * 2 to 4 run under the VG queue, reading the LV afresh (`lvs`, not the remembered report), so
   * the compare sees every change of the tags before it, the agent's own and any by hand.
   * A crash after 4 loses only the answer: the retry finds its record stored and is applied.
   */
  async setMirrorRecord(req: SetMirrorRecordRequest, signal?: AbortSignal): Promise<SetMirrorRecordResult> {
    const id = validateVolumeId(req.volumeId);
    const iqn = normalizeInitiatorIqn(req.initiatorIqn);
    if (!Number.isSafeInteger(req.expectedGeneration) || req.expectedGeneration < 1) {
      throw new InvalidArgumentError(`expected generation ${req.expectedGeneration} is not a positive whole number`);
    }
    const wanted = validateMirrorRecord(req.record, 'the new mirror record');
    return this.#locks.runExclusive(id, () =>
      this.#vgQueue.runExclusive(async () => {
        // Compared with what lvm holds now, not the remembered report: this is the compare of a compare-and-set.
        const lv = await this.#lvm.findVolume(id, signal, { maxAgeMs: 0 });
        const record = lv && parseVolumeRecord(lv);
        if (!record) throw new NotFoundError(`volume ${id} does not exist on this storage node`);
        requirePublishedTo(record, iqn);
        const current = requireCopy(record);
        const stored = current.record;
        if (sameRecord(stored, wanted)) return { applied: true, current };
        const applies = stored.generation <= req.expectedGeneration && wanted.generation === req.expectedGeneration + 1 && sameCopies(stored, wanted);
        if (!applies) return { applied: false, current };
        const after = parseMirror(await this.#lvm.addTags(id, buildMirrorRecordTags(wanted), signal));
        if (!after || !sameRecord(after.record, wanted)) throw new Error(`volume ${id}'s mirror tags do not hold the record just written`);
        this.#log.info({ volumeId: id, initiatorIqn: iqn, fromGeneration: stored.generation, toGeneration: wanted.generation, inSync: wanted.copies.map((c) => c.inSync) }, 'mirror record changed');
        return { applied: true, current: after };
      }, signal),
    );
  }

  /** A copy is created only on the storage node its record names for its slot. */
  #requireOwnSlot(mirror: { readonly slot: number; readonly record: MirrorRecord }): void {
    if (this.#storageNode === undefined) throw new FailedPreconditionError('this agent was started without its storage node name, so it cannot hold a copy of a replicated volume');
    const named = mirror.record.copies[mirror.slot]?.node;
    if (named !== this.#storageNode) {
      throw new InvalidArgumentError(`mirror slot ${mirror.slot} belongs to storage node ${JSON.stringify(named)}, not to this one (${this.#storageNode})`);
    }
  }

  /**
   * Revokes one initiator (ControllerUnpublish, the fence): its tag FIRST, then its ACL, whose
   * removal ends its sessions at once (docs/field-notes.md 4.8). A crash in between leaves an ACL without
   * a tag, which the next reconcile removes. Already revoked, or a volume already gone, is
   * success; the ACL is removed even then.
   */
  async unexportVolume(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<void> {
    const id = validateVolumeId(req.volumeId);
    const iqn = normalizeInitiatorIqn(req.initiatorIqn);
    await this.#locks.runExclusive(id, async () => {
      const key = buildAclTagKey(iqn);
      const lv = await this.#lvm.findVolume(id, signal);
      if (lv?.tags[key] !== undefined) await this.#vgQueue.runExclusive(() => this.#lvm.deleteTags(id, [key], signal), signal);
      // An ACL without its tag, so the initiator is not yet fenced: the retry (or reconcile) removes it.
      crashPoint('agent.unexport-volume.after-tag');
      await this.#lio.removeAcl(this.#targetIqnOfLv(id, lv), iqn);
    });
  }

  /**
   * Makes LIO match the LV tags, touching only targets under our IQN prefix (other software may
   * use LIO on this host):
   *  1. one `lvs` and one configfs read of every target
   *  2. each volume whose export is not exactly as its tags say (isExportInSync): take its lock
   *     (skip it if busy: the next run gets it), re-read it, activate it if inactive (after a
   *     reboot, `lvchange -ay -K`), ensure the export, add the missing ACLs with derived CHAP and
   *     remove the ACLs no tag allows; every step compares before it writes, and volumes already
   *     in sync are not touched at all, so live sessions survive an agent restart
   *  3. targets under our prefix that no volume wants: under the lock of the id they are named
   *     after, and only if that LV still is not a volume, remove target and backstore
   * Before 2, the thin pool's zeroing is turned on if it is off (thinPoolZeroing.ts); a failure is
   * reported as the object `<vg>/<pool>`, which the agent does not become ready with.
   * Per-object failures are collected in the report, not thrown.
   */
  async reconcile(signal?: AbortSignal): Promise<ReconcileReport> {
    return this.#locks.runExclusive(RECONCILE_LOCK, async () => {
      const repaired: string[] = [];
      const removed: string[] = [];
      const failed: { object: string; error: string }[] = [];
      // `fn` may hand back work still running (a blocked unexport): the object stays locked until it ends.
      const attempt = async (object: string, fn: () => Promise<{ readonly stillRunning: Promise<unknown> } | void>): Promise<void> => {
        signal?.throwIfAborted();
        if (!this.#locks.tryAcquire(object)) {
          this.#log.debug({ object }, 'reconcile: busy, left for the next run');
          return;
        }
        let stillRunning: Promise<unknown> | undefined;
        try {
          stillRunning = (await fn())?.stillRunning;
          if (stillRunning) {
            failed.push({ object, error: `removing its target has not finished after ${this.#unexportDeadlineMs / 1000} s (the kernel is draining its I/O); reconcile goes on without it` });
          }
        } catch (err: unknown) {
          if (signal?.aborted) throw err;
          this.#log.warn({ object, err }, 'reconcile: could not repair');
          failed.push({ object, error: err instanceof Error ? err.message : String(err) });
        } finally {
          if (stillRunning) this.#releaseWhenUnexported(object, stillRunning, 'reconcile');
          else this.#locks.release(object);
        }
      };

      // Never from a remembered report: reconcile is how changes made behind the agent's back are found.
      const lvs = await this.#lvm.listVolumes({ maxAgeMs: 0 }, signal);
      // A failure here stops no repair (fences converge through reconcile); admission refuses thin growth meanwhile.
      await ensureThinPoolZeroes(this.#lvm, this.#log, signal).catch((err: unknown) => {
        if (signal?.aborted) throw err;
        failed.push({ object: this.#poolObject(), error: err instanceof Error ? err.message : String(err) });
      });
      const exports = await this.#lio.listExports({ includeSecrets: true });
      const byIqn = new Map(exports.map((e) => [e.targetIqn, e]));
      const wanted = new Set<string>();
      for (const lv of lvs) {
        let record: VolumeRecord | undefined;
        try {
          record = parseVolumeRecord(lv);
        } catch (err: unknown) {
          failed.push({ object: lv.name, error: (err as Error).message });
          continue;
        }
        if (!record) continue;
        // Never exported before its zeroing is done: its create (or expand) retry finishes it.
        if (record.zeroingFromBytes === 0) continue;
        const desired = this.#desiredExport(record);
        wanted.add(desired.targetIqn);
        if (lv.isActive && isExportInSync(desired, byIqn.get(desired.targetIqn), this.#portal)) continue;
        await attempt(record.id, async () => {
          if (await this.#repairExport(record.id, signal)) repaired.push(record.id);
        });
      }

      const { orphans, unrecognized } = findOrphanExports(exports, wanted, this.#iqnPrefix, this.#lvm.vgName);
      for (const iqn of unrecognized) this.#log.warn({ targetIqn: iqn }, 'reconcile: a target under our IQN prefix that this agent did not make; left alone');
      for (const orphan of orphans) {
        await attempt(orphan.objectId, async () => {
          // The volume may have been created since the listing above; a target of an LV since
          // removed (or of one created again under the same id) no longer matches its IQN.
          const lv = await this.#lvm.findVolume(orphan.objectId, signal);
          const record = lv && this.#tryParse(lv, parseVolumeRecord);
          if (record && record.zeroingFromBytes !== 0 && this.#targetIqnOf(record) === orphan.targetIqn) return;
          // The backstore is named after the id: while an LV of that id is a volume, it may be its current export's.
          const unexport = this.#lio.unexportVolume(orphan.targetIqn, orphan.objectId, { keepBackstore: record !== undefined });
          // Like DeleteVolume: a removal the kernel blocks must not stall reconcile (and readiness) for every other volume.
          if (!(await settlesWithin(unexport, this.#unexportDeadlineMs))) return { stillRunning: unexport };
          if ((await unexport).changes.length > 0) removed.push(orphan.targetIqn);
        });
      }
      if (repaired.length > 0 || removed.length > 0 || failed.length > 0) this.#log.info({ repaired, removed, failed }, 'reconcile: LIO changed to match the LV tags');
      return { repaired, removed, failed };
    });
  }

  /** Step 2 of reconcile for one volume, holding its lock; true if anything changed. */
  async #repairExport(id: string, signal: AbortSignal | undefined): Promise<boolean> {
    const lv = await this.#lvm.findVolume(id, signal, { maxAgeMs: 0 });
    const record = lv && parseVolumeRecord(lv);
    if (!record) return false; // deleted since the listing
    if (record.zeroingFromBytes === 0) return false; // zeroed before its first export, by its create's retry
    const wasActive = record.lv.isActive;
    const current = await this.#ensureExport(record, signal);
    let changed = !wasActive || current.changes > 0;
    const targetIqn = this.#targetIqnOf(current.record);
    const allowed = new Set(current.record.initiators.map((i) => i.iqn));
    for (const acl of (await this.#lio.readExport(targetIqn))?.acls ?? []) {
      if (allowed.has(acl.initiatorIqn)) continue;
      this.#log.info({ volumeId: id, initiatorIqn: acl.initiatorIqn }, 'reconcile: removing an ACL no tag allows');
      if (await this.#lio.removeAcl(targetIqn, acl.initiatorIqn)) changed = true;
    }
    return changed;
  }

  /** Step 2 of createVolume, holding the id's lock and the VG queue. */
  async #findOrCreateVolumeLv(
    req: {
      readonly id: string;
      readonly name: string;
      readonly sizeBytes: number;
      readonly thin: boolean;
      readonly source: AgentContentSource | undefined;
      readonly mirror: { readonly slot: number; readonly record: MirrorRecord } | undefined;
    },
    signal: AbortSignal | undefined,
  ): Promise<{ readonly lv: LogicalVolume; readonly created: boolean }> {
    const { id, name, thin, source, mirror } = req;
    // A copy's LV is its header and its data; the data gets what rounding adds.
    const headerBytes = mirror ? MIRROR_HEADER_BYTES : 0;
    const sizeBytes = roundUpToExtent(headerBytes + req.sizeBytes, await this.#extentSize(signal));
    if (mirror) requireWithinRegions(sizeBytes - headerBytes, mirror.record);
    const existing = await this.#lvm.findVolume(id, signal);
    if (existing) {
      const record = requireVolumeRecord(existing);
      if (matchExistingVolume(record, { name, sizeBytes: sizeBytes - headerBytes, thin, source, mirror }) === 'same') return { lv: existing, created: false };
      // A crash between lvcreate -s and lvextend: finish the extend. Never removed on failure: it existed before this call.
      await this.#admit(true, sizeBytes - record.lv.sizeBytes, signal);
      this.#log.info({ volumeId: id, fromBytes: record.lv.sizeBytes, toBytes: sizeBytes }, 'finishing the extend of a clone an earlier create left at its source size');
      return { lv: await this.#lvm.extendVolume(id, sizeBytes, signal), created: false };
    }
    const tags = {
      ...buildVolumeTags({ name, createdAt: this.#clock(), thin, contentSource: source, sizeBytes }),
      ...(mirror ? buildMirrorTags({ slot: mirror.slot, headerBytes, record: mirror.record }) : {}),
    };
    if (!source) {
      await this.#admit(thin, sizeBytes, signal);
      const lv = thin ? await this.#lvm.createThinVolume({ lvName: id, sizeBytes, tags }, signal) : await this.#lvm.createThickVolume({ lvName: id, sizeBytes, tags }, signal);
      return { lv, created: true };
    }
    const from = await this.#lvm.findVolume(source.id, signal);
    if (!from || classifyLv(from) !== source.kind) throw new NotFoundError(`${source.kind} ${source.id} does not exist on this storage node`);
    if (!from.isThin) throw new FailedPreconditionError(`${source.kind} ${source.id} is thick; only thin volumes and snapshots can be cloned`);
    // Its LV starts with a copy's dm-raid header: a plain clone of it would show that as data.
    if (parseMirror(from)) {
      throw new InvalidArgumentError(`${source.kind} ${source.id} is ${source.kind === 'snapshot' ? 'a snapshot of ' : ''}a copy of a replicated volume; restoring or cloning one is not supported yet`);
    }
    if (sizeBytes < from.sizeBytes) {
      throw new OutOfRangeError(`volume ${JSON.stringify(name)} of ${sizeBytes} bytes (after rounding) would be smaller than its source ${source.id} of ${from.sizeBytes} bytes; request at least that`);
    }
    await this.#admit(true, sizeBytes, signal);
    // Active and without the activation-skip flag: it is exported now and must come back after a reboot (docs/field-notes.md 3.5).
    const lv = await this.#lvm.createThinSnapshot({ sourceLv: source.id, lvName: id, activate: true, tags }, signal);
    if (lv.sizeBytes >= sizeBytes) return { lv, created: true };
    // The LV has its source's size; its requested-size tag lets the retry finish the extend.
    crashPoint('agent.create-volume.after-clone-lv');
    try {
      return { lv: await this.#lvm.extendVolume(id, sizeBytes, signal), created: true };
    } catch (err: unknown) {
      // Still inside the VG queue and not yet exported: remove it here.
      await this.#lvm.removeVolume(id).catch((cleanupErr: unknown) => this.#log.warn({ volumeId: id, err: cleanupErr }, 'could not remove a clone whose extend failed'));
      throw err;
    }
  }

  /**
   * Undoes a create that failed after its lvcreate: the export (half-built ones included), then
   * the LV. Runs without the caller's signal, so a cancelled call still cleans up. A rollback
   * failure is logged; the caller sees the original error, and a retry converges (the LV is found
   * again and exported).
   */
  async #rollbackCreate(id: string, cause: unknown, lv: LogicalVolume): Promise<void> {
    this.#log.warn({ volumeId: id, err: cause }, 'create failed after lvcreate; removing what it created');
    try {
      await this.#lio.unexportVolume(this.#targetIqnOfLv(id, lv), id);
      await this.#vgQueue.runExclusive(() => this.#lvm.removeVolume(id));
    } catch (err: unknown) {
      this.#log.error({ volumeId: id, err }, 'rollback of a failed create did not finish; a retry or DeleteVolume will converge');
    }
  }

  /**
   * Activates the LV if needed (under the VG queue), then ensures its export with an ACL for every
   * initiator its tags allow. The ACLs go in before the TPG is enabled: a target rebuilt after a
   * reboot must not take an initiator's reconnect before its ACL exists (docs/field-notes.md 4.2). ACLs no
   * tag allows are left alone here; reconcile removes them.
   */
  async #ensureExport(record: VolumeRecord, signal: AbortSignal | undefined): Promise<{ readonly record: VolumeRecord; readonly changes: number }> {
    if (record.zeroingFromBytes === 0) throw new OperationPendingError(record.id, `volume ${record.id} is not zeroed yet; its CreateVolume retry zeroes it before the first export`);
    let current = record;
    if (!current.lv.isActive) {
      const lv = await this.#vgQueue.runExclusive(() => this.#lvm.activate(record.id, signal), signal);
      current = requireVolumeRecord(lv);
      this.#log.info({ volumeId: record.id }, 'activated an inactive volume');
    }
    const desired = this.#desiredExport(current);
    const report = await this.#lio.exportVolume({
      backstoreName: current.id,
      devicePath: desired.devicePath,
      serial: desired.serial,
      targetIqn: desired.targetIqn,
      portal: this.#portal,
      thin: desired.thin,
      acls: current.initiators.map((initiator) => ({ ...buildAclSpec(initiator.iqn, this.#deriveChap(current, initiator)), readOnly: initiator.readOnly })),
    });
    return { record: current, changes: report.changes.length };
  }

  /**
   * Makes sure no byte of the LV holds old data before anyone reads it: with a `zeroing` tag, a
   * background job (ZeroingJobs; the LV activated first if needed) zeroes from the tag's offset to the end, and
   * under the VG queue removes the tag if it is still this LV's. The call waits for it up to
   * zeroingWaitMs, then answers ABORTED with the progress, and the job goes on: a CO's
   * CreateVolume deadline (csi-provisioner --timeout) is far shorter than zeroing a large
   * volume, and a call that held out would be cancelled and start over, never finishing. A retry
   * finds the job (or, after an agent restart, starts it again from the tag's offset).
   */
  async #settleZeroing(record: VolumeRecord, signal: AbortSignal | undefined): Promise<VolumeRecord> {
    const fromBytes = record.zeroingFromBytes;
    if (fromBytes === undefined) return record;
    let lv = record.lv;
    if (!lv.isActive) lv = await this.#vgQueue.runExclusive(() => this.#lvm.activate(record.id, signal), signal);
    const id = record.id;
    const uuid = lv.uuid;
    const job = this.#zeroing.ensure({ id, lvUuid: uuid, devicePath: lv.devicePath, fromBytes, toBytes: lv.sizeBytes }, (jobSignal) =>
      this.#vgQueue.runExclusive(async () => {
        const now = await this.#lvm.findVolume(id, jobSignal);
        if (now?.uuid !== uuid) throw new Error(`LV ${id} was replaced while it was being zeroed`);
        if (now.tags[TAG.zeroing] === String(fromBytes)) await this.#lvm.deleteTags(id, [TAG.zeroing], jobSignal);
      }, jobSignal),
    );
    if (!(await settlesWithin(job.done, this.#zeroingWaitMs, signal))) {
      const total = lv.sizeBytes - fromBytes;
      throw new OperationPendingError(id, `volume ${id} is being zeroed before it is handed out (${job.zeroedBytes()} of ${total} bytes done); retry, the zeroing goes on meanwhile`);
    }
    const after = await this.#requireVolume(id, signal);
    if (after.zeroingFromBytes !== undefined) throw new OperationPendingError(id, `volume ${id} is still tagged for zeroing; retry`);
    return after;
  }

  async #requireVolume(id: string, signal: AbortSignal | undefined): Promise<VolumeRecord> {
    const lv = await this.#lvm.findVolume(id, signal);
    const record = lv && parseVolumeRecord(lv);
    if (!record) throw new NotFoundError(`volume ${id} does not exist on this storage node`);
    return record;
  }

  /** Thin: pool state, fill limits and (unless told otherwise) the over-provisioning ratio. Thick: VG free space. */
  async #admit(thin: boolean, bytes: number, signal: AbortSignal | undefined, opts: { readonly countsTowardRatio: boolean } = { countsTowardRatio: true }): Promise<void> {
    if (!thin) {
      // Afresh: thick LVs take the VG's free extents, which the pool's autoextend also takes.
      validateThickAdmission(await this.#lvm.getVolumeGroup(signal, { maxAgeMs: 0 }), bytes);
      return;
    }
    // From the remembered report when the agent keeps one: it holds every LV this agent made, so
    // the over-provisioning sum is exact; the pool's fill level may be as old as the report.
    const { pool, volumes } = await this.#lvm.readPoolAndVolumes(signal);
    // Until reconcile has turned it back on, a pool that does not zero hands out old blocks.
    if (!pool.isZeroing) throw new FailedPreconditionError(thinPoolNotZeroing(pool));
    validateThinAdmission(pool, sumProvisionedBytes(volumes, this.#lvm.thinPoolName), bytes, this.#policy, opts);
  }

  async #extentSize(signal: AbortSignal | undefined): Promise<number> {
    this.#extentSizeBytes ??= (await this.#lvm.getVolumeGroup(signal)).extentSizeBytes;
    return this.#extentSizeBytes;
  }

  #desiredExport(record: VolumeRecord): DesiredExport {
    return {
      volumeId: record.id,
      targetIqn: this.#targetIqnOf(record),
      devicePath: record.lv.devicePath,
      serial: buildUnitSerial(record.lv.uuid),
      thin: record.thin,
      acls: record.initiators.map((initiator) => ({ initiatorIqn: initiator.iqn, readOnly: initiator.readOnly, chap: this.#deriveChap(record, initiator) })),
    };
  }

  /** Over the LV's uuid too (targetIdentity.ts), so a volume created again under the same name gets new secrets. */
  #deriveChap(record: VolumeRecord, initiator: AgentInitiator): ChapCredentials {
    return deriveChapCredentials(this.#chapKey, record.id, initiator.iqn, {
      mutual: initiator.mutualChap,
      ...(record.identity === 'lv-uuid' ? { lvUuid: record.lv.uuid } : {}),
    });
  }

  /** How reconcile reports the thin pool in its failures: `<vg>/<pool>`. */
  #poolObject(): string {
    return `${this.#lvm.vgName}/${this.#lvm.thinPoolName}`;
  }

  #targetIqnOf(record: VolumeRecord): string {
    return buildTargetIqn(this.#iqnPrefix, buildTargetName({ id: record.id, identity: record.identity, lvUuid: record.lv.uuid }));
  }

  /** The IQN of the LV's target even when its other tags are malformed; without the LV, the form volumes had before identity tags. */
  #targetIqnOfLv(id: string, lv: LogicalVolume | undefined): string {
    const identity = lv?.tags[TAG.identity] === 'lv-uuid' ? 'lv-uuid' : 'volume-id';
    return buildTargetIqn(this.#iqnPrefix, buildTargetName({ id, identity, lvUuid: lv?.uuid ?? id }));
  }

  /** The serial is derived from the LV's uuid: stable across reboots and reconciles, new for every LV ever created. */
  #target(record: VolumeRecord): AgentTarget {
    return { iqn: this.#targetIqnOf(record), portal: { ...this.#portal }, lun: LUN_ID, serial: buildUnitSerial(record.lv.uuid) };
  }

  #toAgentVolume(record: VolumeRecord): AgentVolume {
    return {
      id: record.id,
      name: record.name,
      sizeBytes: record.sizeBytes,
      thin: record.thin,
      contentSource: record.contentSource,
      createdAt: record.createdAt,
      target: this.#target(record),
      initiators: record.initiators,
      ...(record.mirror ? { mirror: record.mirror } : {}),
    };
  }

  #tryParse<T>(lv: LogicalVolume, parse: (lv: LogicalVolume) => T | undefined): T | undefined {
    try {
      return parse(lv);
    } catch (err: unknown) {
      this.#log.warn({ lv: lv.name, err }, 'skipping an LV with malformed vbs tags');
      return undefined;
    }
  }
}

function requireVolumeRecord(lv: LogicalVolume): VolumeRecord {
  const record = parseVolumeRecord(lv);
  if (!record) throw new FailedPreconditionError(`LV ${lv.vgName}/${lv.name} exists but is not a vbs volume (no kind=volume tag)`);
  return record;
}

/** The initiator's entry in the volume's tags; FailedPreconditionError when it has none (not published to it). */
function requirePublishedTo(record: VolumeRecord, iqn: string): AgentInitiator {
  const initiator = record.initiators.find((i) => i.iqn === iqn);
  if (!initiator) {
    throw new FailedPreconditionError(`volume ${record.id} is not published to ${iqn}: ControllerPublishVolume must export it to this node first (a VolumeAttachment for this node)`);
  }
  return initiator;
}

function requireCopy(record: VolumeRecord): AgentMirror {
  if (!record.mirror) throw new FailedPreconditionError(`volume ${record.id} is not a copy of a replicated volume (it has no mirror tags)`);
  return record.mirror;
}

/** The same nodes in the same slots and the same region size: what a node may not change. */
function sameCopies(a: MirrorRecord, b: MirrorRecord): boolean {
  return a.regionBytes === b.regionBytes && a.copies.length === b.copies.length && a.copies.every((c, i) => c.node === b.copies[i]?.node);
}

/** dm-raid refuses more than MAX_REGIONS regions (mirrorRecord.ts): the data may not outgrow the record's region size. */
function requireWithinRegions(dataBytes: number, record: MirrorRecord): void {
  const max = maxBytesFor(record.regionBytes);
  if (dataBytes > max) {
    throw new OutOfRangeError(`${dataBytes} bytes of data exceed the ${max} bytes a replicated volume with ${record.regionBytes}-byte regions can hold (dm-raid's region limit)`);
  }
}

function buildAclSpec(initiatorIqn: string, chap: ChapCredentials): AclSpec {
  return { initiatorIqn, chap };
}

/** Of a copy, sizeBytes is the data size (SnapshotRecord). */
function toAgentSnapshot(s: SnapshotRecord): AgentSnapshot {
  return { id: s.id, name: s.name, sourceVolumeId: s.sourceVolumeId, sizeBytes: s.sizeBytes, createdAt: s.createdAt, readyToUse: true };
}
