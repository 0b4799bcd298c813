import { mkdir } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../errors.ts';
import type { PublishContext } from '../csi/publishContext.ts';
import { dmDevicePath, hasDmDevice, readBlockGeometry } from '../dm/index.ts';
import type { BlockGeometry } from '../dm/index.ts';
import { parsePortal, verifyDeviceSerial, waitForSessionDisk } from '../iscsi/index.ts';
import type { IscsiTarget, SessionSettings } from '../iscsi/index.ts';
import { validateAbsolutePath } from '../mount/index.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { recordTarget, sysfs } from './NodeDeps.ts';
import { Rollback } from './Rollback.ts';
import type { SingleStageRecord, StageRecord } from './stageRecord.ts';
import { buildDmName, isReadOnlyMode } from './volumeAccess.ts';
import type { AccessMode, VolumeAccess } from './volumeAccess.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import { findSessionId } from './findVolumeSession.ts';
import { parseVolumeId } from '../csi/volumeIds.ts';

export interface StageRequest {
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly access: VolumeAccess;
  readonly accessMode: AccessMode;
  readonly publishContext: PublishContext;
}

/**
 * NodeStageVolume. Steps, each a no-op when already done, so a retried call converges:
 *  1. write the stage record (before login: a crash after it still leaves unstage a way back);
 *  2. the iface (if configured), the CHAP credentials from the volume's agent (mutual TLS with
 *     this node's certificate; never from publish_context), then the node record with CHAP, node.startup=manual and the
 *     session settings; login (already logged in = fine, and then a rescan of that session); the
 *     session id from sysfs (iscsiadm only if sysfs does not show it);
 *  3. wait for the LUN's disk under this session in sysfs (not the by-path link: two sessions to
 *     one target share it);
 *  4. verify the disk's unit serial against publish_context before touching it (docs/field-notes.md 1.6);
 *  5. the dm linear device vbs-… over the disk (created, or reloaded if the disk came back as
 *     another sdX); everything above uses /dev/mapper/vbs-…, which dmsetup makes at create;
 *  6. mount volumes: mkfs only if blkid finds the device blank, mount with the capability's
 *     flags, and grow a filesystem smaller than its device (a restore into a larger volume).
 * On failure, what this call did is undone, newest first.
 * No `udevadm settle` anywhere: no step reads anything udev makes. The disk, its serial, size and
 * major:minor come from sysfs, /dev/sdX from devtmpfs, /dev/mapper/vbs-… from dmsetup itself, and blkid
 * probes the device itself (-p, not udev's cache). udev's own probes of the new devices open them
 * shared, which neither mkfs's nor mount's exclusive open conflicts with.
 */
export async function stageVolume(deps: NodeDeps, req: StageRequest, ctx: StepContext): Promise<void> {
  const { log, signal } = ctx;
  validateAbsolutePath(req.stagingPath, 'staging_target_path');
  const pc = req.publishContext;
  const ref = parseVolumeId(req.volumeId);
  if (!ref) throw new InvalidArgumentError(`volume id ${JSON.stringify(req.volumeId)} is not one of this driver's (<storage node>/vbs-vol-…)`);
  const portal = parsePortal(pc.targetPortal);
  if (!portal) throw new InvalidArgumentError(`publish_context targetPortal ${JSON.stringify(pc.targetPortal)} is not ip:port`);
  const readOnly = isReadOnlyMode(req.accessMode);
  const record: SingleStageRecord = {
    version: 1,
    volumeId: req.volumeId,
    stagingPath: req.stagingPath,
    dmName: buildDmName(deps.initiatorName, req.volumeId),
    target: { targetIqn: pc.targetIqn, portal: portal.portal, lun: pc.lun, iface: deps.iface },
    serial: pc.serial,
    access: req.access,
    accessMode: req.accessMode,
    readOnly,
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
    const target = recordTarget(record);
    if (deps.iface !== undefined) await deps.iscsiadm.ensureIface({ name: deps.iface, initiatorName: deps.initiatorName }, signal);
    const sid = await attach(deps, target, { ...ref, agentAddress: pc.agentAddress }, deps.sessionSettings, undo, ctx);
    // Logged in, nothing above the session yet: the retry must reuse the session, not add one.
    crashPoint('node.stage.after-login');
    const disk = await waitForSessionDisk(sid, pc.lun, { deadlineMs: deps.deviceWaitMs, pollMs: deps.pollMs ?? 200, signal, ...sysfs(deps) });
    await verifyDeviceSerial(disk, pc.serial, sysfs(deps));
    const geometry = await readBlockGeometry(nodePath.basename(disk), sysfs(deps));
    if (!geometry || geometry.sectors === 0) throw new UnavailableError(`${disk} vanished or has size 0 right after login; retry`);
    log.info({ disk, serial: pc.serial, sectors: geometry.sectors }, 'LUN attached and its serial verified');

    await ensureDmDevice(deps, record, geometry, undo, ctx);
    if (req.access.kind === 'mount') await ensureFilesystemMounted(deps, record, req.access, undo, ctx);
  } catch (err: unknown) {
    await undo.rollback();
    throw err;
  }
}

/** Same volume staged again: fine if it is the same stage; a different path or capability is ALREADY_EXISTS (spec). */
function checkCompatible(existing: StageRecord, wanted: SingleStageRecord): void {
  if (existing.version !== 1) throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged as a replicated volume; unstage it first`);
  if (existing.stagingPath !== wanted.stagingPath) {
    throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged at ${existing.stagingPath}, not ${wanted.stagingPath}`);
  }
  if (JSON.stringify(existing.access) !== JSON.stringify(wanted.access) || existing.readOnly !== wanted.readOnly) {
    throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged with another volume capability`);
  }
  if (existing.target.targetIqn !== wanted.target.targetIqn || existing.target.lun !== wanted.target.lun || existing.serial !== wanted.serial) {
    throw new AlreadyExistsError(`volume ${wanted.volumeId} is already staged from ${existing.target.targetIqn} lun ${existing.target.lun}; unstage it first`);
  }
}

/**
 * Step 2 (after the iface): CHAP credentials from the volume's agent (this node's certificate; the agent
 * answers only while the volume is published here), node record, login; returns the session id.
 * Also how a replicated volume attaches each copy (stageMirror.ts), with its session settings.
 */
export async function attach(
  deps: NodeDeps,
  target: IscsiTarget,
  agent: { readonly node: string; readonly id: string; readonly agentAddress: string },
  settings: SessionSettings,
  undo: Rollback,
  { signal }: StepContext,
): Promise<number> {
  const { chap, targetIqn } = await deps.chap.fetch({ volumeId: agent.id, storageNode: agent.node, agentAddress: agent.agentAddress, initiatorIqn: deps.initiatorName }, signal);
  if (targetIqn !== target.targetIqn) {
    throw new FailedPreconditionError(`the agent of ${agent.node} says volume ${agent.id} is exported as ${targetIqn}, but publish_context names ${target.targetIqn}; publish the volume again`);
  }
  const nodeRecord = await deps.iscsiadm.ensureNodeRecord({ target, chap, settings }, signal);
  if (nodeRecord.created) undo.push('node record', () => deps.iscsiadm.deleteNodeRecord(target));
  const login = await deps.iscsiadm.login(target, signal);
  if (!login.alreadyLoggedIn) undo.push('login', () => deps.iscsiadm.logout(target));
  const sid = await findSessionId(deps, target, signal);
  if (sid === undefined) throw new UnavailableError(`logged in to ${target.targetIqn} but neither sysfs nor iscsiadm shows a session for it; retry`);
  // A session that existed before may predate the LUN (or its resize): look again (docs/field-notes.md 1.5).
  if (login.alreadyLoggedIn) await deps.iscsiadm.rescanSession(sid, signal);
  return sid;
}

/** Step 5: the dm device over the disk; an existing one pointing elsewhere gets the disk swapped in. */
async function ensureDmDevice(deps: NodeDeps, record: StageRecord, disk: BlockGeometry, undo: Rollback, { log, signal }: StepContext): Promise<void> {
  const name = record.dmName;
  const mapping = { sectors: disk.sectors, device: disk.majorMinor };
  // sysfs says whether a device of that name exists; only then is there a table to compare.
  const table = (await hasDmDevice(name, sysfs(deps))) ? await deps.dmsetup.table(name, signal) : undefined;
  if (!table) {
    await deps.dmsetup.createLinear(name, mapping, { uuid: `VBS-CSI-${name}`, readOnly: record.readOnly }, signal);
    undo.push('dm device', () => deps.dmsetup.remove(name));
    log.info({ dm: name, over: disk.majorMinor }, 'dm device created');
    return;
  }
  const [line] = table;
  const matches = table.length === 1 && line?.targetType === 'linear' && line.args[0] === disk.majorMinor && line.sectors === disk.sectors;
  if (matches) return;
  // The session was re-established and the LUN came back as another disk (or grew): swap the
  // table under the device, unseen by whoever has it open.
  await deps.dmsetup.reloadLinear(name, mapping, signal);
  log.info({ dm: name, over: disk.majorMinor, was: line?.args[0] }, 'dm device reloaded onto the current disk');
}

/** Step 6: mkfs when blank, mount, grow when the device outgrew the filesystem (a replicated volume's too). */
export async function ensureFilesystemMounted(
  deps: NodeDeps,
  record: StageRecord,
  access: Extract<VolumeAccess, { kind: 'mount' }>,
  undo: Rollback,
  { log, signal }: StepContext,
): Promise<void> {
  const device = dmDevicePath(record.dmName);
  const mounted = await deps.mounter.findMount(record.stagingPath, signal);
  const mountOpts = { fsType: access.fsType, options: access.mountFlags, readOnly: record.readOnly };
  if (mounted) {
    // Same device and ro/rw: done. Anything else (a zombie mount, a read-only remount after I/O
    // errors) is FAILED_PRECONDITION from mount(), never silently handed to a pod (docs/field-notes.md 1.8).
    await deps.mounter.mount(device, record.stagingPath, mountOpts, signal);
    return;
  }
  let formatted = false;
  if (record.readOnly) {
    const probe = await deps.mounter.probeFilesystem(device, signal);
    if (probe.kind !== 'filesystem') throw new FailedPreconditionError(`volume ${record.volumeId} is staged read-only but holds no filesystem (${probe.kind}); it cannot be formatted read-only`);
  } else {
    formatted = (await deps.mounter.formatIfBlank(device, access.fsType, {}, signal)).formatted;
    if (formatted) log.info({ device, fsType: access.fsType }, 'formatted a blank volume');
    // Formatted but not mounted: the retry must find the filesystem and not format again.
    crashPoint('node.stage.after-mkfs');
  }
  await mkdir(record.stagingPath, { recursive: true });
  await deps.mounter.mount(device, record.stagingPath, mountOpts, signal);
  undo.push('staging mount', () => deps.mounter.unmount(record.stagingPath));
  if (!formatted && !record.readOnly) {
    // A volume restored or cloned larger than its source carries the smaller filesystem (field
    // notes 2.5); growing is a no-op when the sizes already match.
    await deps.mounter.growFilesystem(device, record.stagingPath, access.fsType, signal);
  }
}
