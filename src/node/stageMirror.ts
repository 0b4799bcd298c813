import * as nodePath from 'node:path';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../errors.ts';
import type { MirrorPublishContext } from '../csi/publishContext.ts';
import { parseMirrorVolumeId } from '../csi/volumeIds.ts';
import { hasDmDevice, readBlockGeometry } from '../dm/index.ts';
import type { BlockGeometry, LinearMapping, RaidLeg } from '../dm/index.ts';
import { parsePortal, verifyDeviceSerial, waitForSessionDisk } from '../iscsi/index.ts';
import { validateAbsolutePath } from '../mount/index.ts';
import { decideAssembly } from '../replication/assembly.ts';
import type { CopyView } from '../replication/assembly.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { recordTarget, sysfs } from './NodeDeps.ts';
import { copyAgent, HEADER_SECTORS, legNames, readSuperblockState } from './mirrorLegs.ts';
import { Rollback } from './Rollback.ts';
import type { MirrorStageRecord, StagedCopy, StageRecord } from './stageRecord.ts';
import { attach, ensureFilesystemMounted } from './stageVolume.ts';
import { buildDmName, isReadOnlyMode } from './volumeAccess.ts';
import type { AccessMode, VolumeAccess } from './volumeAccess.ts';

export interface MirrorStageRequest {
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly access: VolumeAccess;
  readonly accessMode: AccessMode;
  readonly publishContext: MirrorPublishContext;
}

/** A copy this node reached: its disk (/dev path) and geometry. */
interface AttachedCopy {
  readonly copy: StagedCopy;
  readonly disk: string;
  readonly geometry: BlockGeometry;
}

/**
 * NodeStageVolume of a replicated volume (docs/replication.md). Steps, each a no-op when already
 * done, so a retried call converges:
 *  1. the stage record (version 2, every copy), before any login;
 *  2. per copy, as a single-copy volume does (stageVolume.ts steps 2-4) but with the replicated
 *     session settings (a dead copy must fail fast): CHAP from that copy's agent, node record,
 *     login, disk, serial check. A copy that cannot be reached is not an error yet;
 *  3. the copies' record from every reachable copy's agent, and whether its metadata area holds
 *     a dm-raid superblock; decideAssembly (src/replication/assembly.ts): refused = FAILED_PRECONDITION
 *     with what to do, after undoing everything (nothing was written to any copy);
 *  4. per leg, the dm-linear metadata and data devices over the copy's disk;
 *  5. the raid1 device under the volume's dm name, so everything above (mkfs, mount, publish) is
 *     a single-copy volume's;
 *  6. mount volumes: mkfs only when blank, mount, grow.
 * When the raid device already exists (a retry after it was made) steps 2-5 only confirm it.
 */
export async function stageMirror(deps: NodeDeps, req: MirrorStageRequest, ctx: StepContext): Promise<void> {
  const { log, signal } = ctx;
  validateAbsolutePath(req.stagingPath, 'staging_target_path');
  const ref = parseMirrorVolumeId(req.volumeId);
  if (!ref) throw new InvalidArgumentError(`volume id ${JSON.stringify(req.volumeId)} is not a replicated volume's (@mirror/vbs-vol-…), but publish_context names copies`);
  const record: MirrorStageRecord = {
    version: 2,
    volumeId: req.volumeId,
    lvId: ref.id,
    stagingPath: req.stagingPath,
    dmName: buildDmName(deps.initiatorName, req.volumeId),
    copies: req.publishContext.copies.map((c, slot) => {
      const portal = parsePortal(c.targetPortal);
      if (!portal) throw new InvalidArgumentError(`publish_context copy${slot}.targetPortal ${JSON.stringify(c.targetPortal)} is not ip:port`);
      return { slot, node: c.node, agentAddress: c.agentAddress, target: { targetIqn: c.targetIqn, portal: portal.portal, lun: c.lun, iface: deps.iface }, serial: c.serial };
    }),
    access: req.access,
    accessMode: req.accessMode,
    readOnly: isReadOnlyMode(req.accessMode),
    publishedPaths: [],
  };

  const existing = await deps.records.read(req.volumeId);
  if (existing) checkCompatible(existing, record);
  const undo = new Rollback(log);
  try {
    if (!existing) {
      await deps.records.write(record);
      undo.push('stage record', () => deps.records.remove(req.volumeId));
    }
    if (deps.iface !== undefined) await deps.iscsiadm.ensureIface({ name: deps.iface, initiatorName: deps.initiatorName }, signal);
    const attached: AttachedCopy[] = [];
    const failures: string[] = [];
    for (const copy of record.copies) {
      try {
        attached.push(await attachCopy(deps, record, copy, undo, ctx));
      } catch (err: unknown) {
        signal.throwIfAborted();
        const message = err instanceof Error ? err.message : String(err);
        failures.push(`copy ${copy.slot} on ${copy.node}: ${message}`);
        log.warn({ slot: copy.slot, node: copy.node, err: message }, 'copy of a replicated volume not reachable');
      }
    }
    crashPoint('node.stage.mirror.after-login');

    if (!(await hasDmDevice(record.dmName, sysfs(deps)))) {
      const views = await viewCopies(deps, record, attached, ctx);
      const decision = decideAssembly(views);
      if (decision.kind === 'refuse') {
        throw new FailedPreconditionError(failures.length ? `${decision.message} (${failures.join('; ')})` : decision.message);
      }
      log.info({ generation: decision.record.generation, legs: decision.legs, missing: decision.missing, stale: decision.stale, rebuild: decision.rebuild, nosync: decision.nosync }, 'assembling the replicated volume');
      const legs: RaidLeg[] = [];
      for (const copy of record.copies) {
        const a = attached.find((x) => x.copy.slot === copy.slot);
        legs.push(a && decision.legs.includes(copy.slot) ? await ensureLegs(deps, record, a, undo, ctx) : undefined);
      }
      crashPoint('node.stage.mirror.after-legs');
      const sectors = Math.min(...attached.filter((a) => decision.legs.includes(a.copy.slot)).map((a) => a.geometry.sectors - HEADER_SECTORS));
      const table = { sectors, regionSectors: decision.record.regionBytes / 512, legs, rebuild: decision.rebuild, nosync: decision.nosync };
      await deps.dmsetup.createRaid1(record.dmName, table, { uuid: `VBS-CSI-${record.dmName}`, readOnly: record.readOnly }, signal);
      undo.push('raid device', () => deps.dmsetup.remove(record.dmName));
      log.info({ dm: record.dmName, sectors, legs: decision.legs.length, of: record.copies.length }, 'raid1 device created');
      crashPoint('node.stage.mirror.after-raid');
    }
    if (req.access.kind === 'mount') await ensureFilesystemMounted(deps, record, req.access, undo, ctx);
  } catch (err: unknown) {
    await undo.rollback();
    throw err;
  }
}

/** Same volume staged again: fine if it is the same stage; otherwise ALREADY_EXISTS (spec). */
function checkCompatible(existing: StageRecord, wanted: MirrorStageRecord): void {
  if (existing.version !== 2) throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged as a single-copy volume; unstage it first`);
  if (existing.stagingPath !== wanted.stagingPath) {
    throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged at ${existing.stagingPath}, not ${wanted.stagingPath}`);
  }
  if (JSON.stringify(existing.access) !== JSON.stringify(wanted.access) || existing.readOnly !== wanted.readOnly) {
    throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged with another volume capability`);
  }
  const same =
    existing.copies.length === wanted.copies.length &&
    existing.copies.every((c, i) => {
      const w = wanted.copies[i]!;
      return c.node === w.node && c.target.targetIqn === w.target.targetIqn && c.target.lun === w.target.lun && c.serial === w.serial;
    });
  if (!same) throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged from other copies (${existing.copies.map((c) => c.node).join(', ')}); unstage it first`);
}

/** Step 2 for one copy: login, its disk, the serial check; throws when the copy cannot be used. */
async function attachCopy(deps: NodeDeps, record: MirrorStageRecord, copy: StagedCopy, undo: Rollback, ctx: StepContext): Promise<AttachedCopy> {
  const sid = await attach(deps, recordTarget(copy), copyAgent(record, copy), deps.mirrorSessionSettings, undo, ctx);
  const disk = await waitForSessionDisk(sid, copy.target.lun, { deadlineMs: deps.deviceWaitMs, pollMs: deps.pollMs ?? 200, signal: ctx.signal, ...sysfs(deps) });
  await verifyDeviceSerial(disk, copy.serial, sysfs(deps));
  const geometry = await readBlockGeometry(nodePath.basename(disk), sysfs(deps));
  if (!geometry || geometry.sectors <= HEADER_SECTORS) {
    throw new UnavailableError(`${disk} has ${geometry?.sectors ?? 0} sectors, not more than the ${HEADER_SECTORS} of its header; retry`);
  }
  ctx.log.info({ slot: copy.slot, node: copy.node, disk, sectors: geometry.sectors }, 'copy attached and its serial verified');
  return { copy, disk, geometry };
}

/** Step 3: what each copy says (its record, from its agent) and holds (a dm-raid superblock or not). */
async function viewCopies(deps: NodeDeps, record: MirrorStageRecord, attached: readonly AttachedCopy[], { log, signal }: StepContext): Promise<CopyView[]> {
  return Promise.all(
    record.copies.map(async (copy): Promise<CopyView> => {
      const a = attached.find((x) => x.copy.slot === copy.slot);
      if (!a) return { slot: copy.slot, node: copy.node, reachable: false };
      let mirror;
      try {
        mirror = await deps.mirrorRecords.read({ volumeId: record.lvId, storageNode: copy.node, agentAddress: copy.agentAddress, initiatorIqn: deps.initiatorName }, signal);
      } catch (err: unknown) {
        signal.throwIfAborted();
        log.warn({ slot: copy.slot, node: copy.node, err: err instanceof Error ? err.message : String(err) }, 'the copy agent did not give its record');
      }
      if (mirror && mirror.slot !== copy.slot) {
        log.warn({ slot: copy.slot, node: copy.node, agentSlot: mirror.slot }, 'the copy agent says this copy is another slot; not using it');
        return { slot: copy.slot, node: copy.node, reachable: false };
      }
      return { slot: copy.slot, node: copy.node, reachable: true, record: mirror?.record, superblock: await readSuperblockState(a.disk) };
    }),
  );
}

/** Step 4: the metadata and data linear devices of one leg (created, or reloaded onto the current disk). */
async function ensureLegs(deps: NodeDeps, record: MirrorStageRecord, a: AttachedCopy, undo: Rollback, ctx: StepContext): Promise<RaidLeg> {
  const names = legNames(record.dmName, a.copy.slot);
  const meta = await ensureLinear(deps, names.meta, { sectors: HEADER_SECTORS, device: a.geometry.majorMinor, offsetSector: 0 }, undo, ctx);
  const data = await ensureLinear(deps, names.data, { sectors: a.geometry.sectors - HEADER_SECTORS, device: a.geometry.majorMinor, offsetSector: HEADER_SECTORS }, undo, ctx);
  return { meta, data };
}

/** One linear device; returns its major:minor (what the raid table names). */
export async function ensureLinear(deps: NodeDeps, name: string, mapping: Required<LinearMapping>, undo: Rollback | undefined, { signal }: StepContext): Promise<string> {
  const table = (await hasDmDevice(name, sysfs(deps))) ? await deps.dmsetup.table(name, signal) : undefined;
  if (!table) {
    await deps.dmsetup.createLinear(name, mapping, { uuid: `VBS-CSI-${name}` }, signal);
    undo?.push(`dm device ${name}`, () => deps.dmsetup.remove(name));
  } else {
    const [line] = table;
    const matches = table.length === 1 && line?.targetType === 'linear' && line.args[0] === mapping.device && line.args[1] === String(mapping.offsetSector) && line.sectors === mapping.sectors;
    if (!matches) await deps.dmsetup.reloadLinear(name, mapping, signal);
  }
  const info = await deps.dmsetup.info(name, signal);
  if (!info) throw new UnavailableError(`dm device ${name} vanished right after it was made; retry`);
  return `${info.major}:${info.minor}`;
}
