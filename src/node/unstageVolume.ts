import { FailedPreconditionError, UnavailableError } from '../errors.ts';
import { parseAnyVolumeId, parseMirrorVolumeId } from '../csi/volumeIds.ts';
import { deleteScsiDisk, dmDevicePath } from '../dm/index.ts';
import { listSessionDisks } from '../iscsi/index.ts';
import type { IscsiTarget } from '../iscsi/index.ts';
import { validateAbsolutePath } from '../mount/index.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { recordTarget, sysfs } from './NodeDeps.ts';
import { buildDmName } from './volumeAccess.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import { findSessionId } from './findVolumeSession.ts';
import { removeReadOnlyDevicesOf } from './readOnlyDevice.ts';
import { legNames } from './mirrorLegs.ts';
import type { StageRecord } from './stageRecord.ts';
import { MAX_COPIES } from '../replication/mirrorRecord.ts';

export interface UnstageRequest {
  readonly volumeId: string;
  readonly stagingPath: string;
}

/**
 * NodeUnstageVolume. Tears down in the order that lets each step succeed (mounts, then the dm
 * device that they hold open, then the disk and the session under it), each step treating
 * "already gone" as done, so a retry or a second call succeeds:
 *  1. refuse while a target path from NodePublish is still mounted;
 *  2. unmount the staging path, only if what is mounted there is this volume's dm device: anything
 *     else (another volume's, another driver's, a host path) is left alone, FAILED_PRECONDITION;
 *  3. remove the read-only dm devices of read-only block targets (NodeUnpublish removes each; one
 *     is left only by a publish that crashed and was never retried), flush and remove the dm device;
 *  4. for this volume's session only (never another volume's: a host logs in to many targets):
 *     flush and delete its SCSI disks, log out, check that the session is really gone, delete the
 *     node record (and the CHAP secret in it);
 *  5. delete the stage record.
 * Success means all of it is gone: a session still there after the logout (iscsiadm found no
 * session to log out of, or the iface it was made through is gone) is UNAVAILABLE, and the node
 * and stage records are kept so the retry can address it again.
 * Without a stage record (lost, or never written) the session is found by the target IQN, which
 * ends with the volume's LV id, on this plugin's iface.
 */
export async function unstageVolume(deps: NodeDeps, req: UnstageRequest, ctx: StepContext): Promise<void> {
  const { log, signal } = ctx;
  validateAbsolutePath(req.stagingPath, 'staging_target_path');
  const record = await deps.records.read(req.volumeId);

  for (const path of record?.publishedPaths ?? []) {
    if (await deps.mounter.findMount(path, signal)) {
      throw new FailedPreconditionError(`volume ${req.volumeId} is still published at ${path}; NodeUnpublishVolume it first`);
    }
  }

  const dmName = record?.dmName ?? buildDmName(deps.initiatorName, req.volumeId);
  await unmountStaging(deps, req, dmName, signal);
  crashPoint('node.unstage.after-unmount');
  // Read-only devices of read-only block targets sit on the volume's device and hold it open.
  await removeReadOnlyDevicesOf(deps, dmName, ctx);

  const dm = await deps.dmsetup.info(dmName, signal);
  if (dm) {
    if (dm.openCount > 0) throw new FailedPreconditionError(`${dmDevicePath(dmName)} of volume ${req.volumeId} is still open ${dm.openCount} time(s); something outside the CO's paths uses it`);
    await deps.mounter.flushBuffers(dmDevicePath(dmName), signal);
    await deps.dmsetup.remove(dmName, signal);
    log.info({ dm: dmName }, 'dm device removed');
    // No device, session still up: the retry must still log out and delete the node record.
    crashPoint('node.unstage.after-dm-remove');
  }

  // A replicated volume: the legs under the raid device (nothing holds them once it is gone).
  const slots = record?.version === 2 ? record.copies.map((c) => c.slot) : parseMirrorVolumeId(req.volumeId) ? [...Array(MAX_COPIES).keys()] : [];
  for (const slot of slots) {
    const names = legNames(dmName, slot);
    for (const leg of [names.data, names.meta]) {
      if (await deps.dmsetup.remove(leg, signal)) log.info({ dm: leg }, 'leg device removed');
    }
  }
  if (slots.length) crashPoint('node.unstage.mirror.after-legs');

  for (const target of await targetsOf(deps, req.volumeId, record ? recordTargets(record) : undefined, signal)) {
    const sid = await findSessionId(deps, target, signal);
    const disks = sid === undefined ? [] : await listSessionDisks(sid, sysfs(deps));
    for (const disk of disks) {
      await deps.mounter.flushBuffers(`/dev/${disk}`, signal);
      await deleteScsiDisk(disk, sysfs(deps));
    }
    const { wasLoggedIn } = await deps.iscsiadm.logout(target, signal);
    const left = await findSessionId(deps, target, signal);
    if (left !== undefined) {
      throw new UnavailableError(
        `iSCSI session ${left} to ${target.targetIqn} is still logged in after the logout (iscsiadm ${wasLoggedIn ? 'logged out' : 'found no session to log out of'}); ` +
          'the node record is kept for the retry; if it persists, log the session out by hand (iscsiadm -m session -r <sid> -u)',
      );
    }
    await deps.iscsiadm.deleteNodeRecord(target, signal);
    log.info({ targetIqn: target.targetIqn, wasLoggedIn, disks }, 'logged out and node record deleted');
  }
  await deps.records.remove(req.volumeId);
}

/**
 * Step 2: unmounts the staging path until no mount of this volume's device is left there (a
 * crashed stage can leave the same mount twice, stacked), so what remains is checked, not assumed.
 */
async function unmountStaging(deps: NodeDeps, req: UnstageRequest, dmName: string, signal: AbortSignal): Promise<void> {
  for (let i = 0; i < 8; i++) {
    // findmnt names a dm device /dev/mapper/<name>, exactly as stage mounted it.
    const staged = await deps.mounter.findMount(req.stagingPath, signal);
    if (!staged) return;
    if (staged.source !== dmDevicePath(dmName)) {
      throw new FailedPreconditionError(`${req.stagingPath} is mounted from ${staged.source}, not from volume ${req.volumeId}'s device ${dmDevicePath(dmName)}; leaving it alone`);
    }
    await deps.mounter.unmount(req.stagingPath, signal);
  }
  throw new FailedPreconditionError(`${req.stagingPath} is still mounted after unmounting it 8 times`);
}

/**
 * The record's target; without one, every target on this iface whose IQN ends with the volume's
 * LV id that has a session or a node record left (a stage rolled back with its stage record gone
 * but its node record not deleted, or a lost state dir: the record holds the CHAP secret).
 */
async function targetsOf(deps: NodeDeps, volumeId: string, fromRecord: IscsiTarget[] | undefined, signal: AbortSignal): Promise<IscsiTarget[]> {
  if (fromRecord) return fromRecord;
  const ref = parseAnyVolumeId(volumeId);
  if (!ref) return [];
  const iface = deps.iface ?? 'default';
  const [sessions, records] = await Promise.all([deps.iscsiadm.listSessionDetails(signal), deps.iscsiadm.listNodeRecords(signal)]);
  const found = [
    ...sessions.filter((s) => (s.ifaceName ?? 'default') === iface),
    // `iscsiadm -m node` does not say which iface a record is under: deleting it under ours is a no-op when it is not.
    ...records,
  ].filter((t) => t.targetIqn.endsWith(`:${ref.id}`));
  const targets = new Map<string, IscsiTarget>();
  for (const t of found) {
    const key = `${t.targetIqn} ${t.portal.ip}:${t.portal.port},${t.tpgt ?? 1}`;
    if (!targets.has(key)) targets.set(key, { targetIqn: t.targetIqn, portal: t.portal, ...(t.tpgt !== undefined ? { tpgt: t.tpgt } : {}), ...(deps.iface !== undefined ? { iface: deps.iface } : {}) });
  }
  return [...targets.values()];
}

/** The targets a stage record logged in to: one, or one per copy of a replicated volume. */
function recordTargets(record: StageRecord): IscsiTarget[] {
  return record.version === 1 ? [recordTarget(record)] : record.copies.map((c) => recordTarget(c));
}
