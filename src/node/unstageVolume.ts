import { FailedPreconditionError } from '../errors.ts';
import { parseVolumeId } from '../csi/volumeIds.ts';
import { deleteScsiDisk, dmDevicePath } from '../dm/index.ts';
import type { IscsiTarget } from '../iscsi/index.ts';
import { validateAbsolutePath } from '../mount/index.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { recordTarget, sysfs } from './NodeDeps.ts';
import { buildDmName } from './volumeAccess.ts';
import { crashPoint } from '../faults/crashPoint.ts';

export interface UnstageRequest {
  readonly volumeId: string;
  readonly stagingPath: string;
}

/**
 * NodeUnstageVolume. Tears down in the order that lets each step succeed (field notes 1.10), each
 * step treating "already gone" as done, so a retry or a second call succeeds:
 *  1. refuse while a target path from NodePublish is still mounted;
 *  2. unmount the staging path, only if what is mounted there is this volume's dm device: anything
 *     else (another volume's, another driver's, a host path) is left alone, FAILED_PRECONDITION;
 *  3. flush and remove the dm device;
 *  4. for this volume's session only (never another volume's, field notes 1.4): flush and delete
 *     its SCSI disk, log out, delete the node record (and the CHAP secret in it);
 *  5. delete the stage record.
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
  // findmnt names a dm device /dev/mapper/<name>, exactly as stage mounted it.
  const staged = await deps.mounter.findMount(req.stagingPath, signal);
  if (staged && staged.source !== dmDevicePath(dmName)) {
    throw new FailedPreconditionError(`${req.stagingPath} is mounted from ${staged.source}, not from volume ${req.volumeId}'s device ${dmDevicePath(dmName)}; leaving it alone`);
  }
  await deps.mounter.unmount(req.stagingPath, signal);
  crashPoint('node.unstage.after-unmount');

  const dm = await deps.dmsetup.info(dmName, signal);
  if (dm) {
    if (dm.openCount > 0) throw new FailedPreconditionError(`${dmDevicePath(dmName)} of volume ${req.volumeId} is still open ${dm.openCount} time(s); something outside the CO's paths uses it`);
    await deps.mounter.flushBuffers(dmDevicePath(dmName), signal);
    await deps.dmsetup.remove(dmName, signal);
    log.info({ dm: dmName }, 'dm device removed');
    // No device, session still up: the retry must still log out and delete the node record.
    crashPoint('node.unstage.after-dm-remove');
  }

  for (const target of await targetsOf(deps, req.volumeId, record ? [recordTarget(record)] : undefined, signal)) {
    const session = await deps.iscsiadm.findSession(target, signal);
    for (const disk of session?.disks ?? []) {
      await deps.mounter.flushBuffers(`/dev/${disk.device}`, signal);
      await deleteScsiDisk(disk.device, sysfs(deps));
    }
    const { wasLoggedIn } = await deps.iscsiadm.logout(target, signal);
    await deps.iscsiadm.deleteNodeRecord(target, signal);
    log.info({ targetIqn: target.targetIqn, wasLoggedIn, disks: session?.disks.map((d) => d.device) ?? [] }, 'logged out and node record deleted');
  }
  await deps.records.remove(req.volumeId);
}

/** The record's target, or every session of this iface whose target names the volume's LV. */
async function targetsOf(deps: NodeDeps, volumeId: string, fromRecord: IscsiTarget[] | undefined, signal: AbortSignal): Promise<IscsiTarget[]> {
  if (fromRecord) return fromRecord;
  const ref = parseVolumeId(volumeId);
  if (!ref) return [];
  const iface = deps.iface ?? 'default';
  const sessions = await deps.iscsiadm.listSessionDetails(signal);
  return sessions
    .filter((s) => s.targetIqn.endsWith(`:${ref.id}`) && (s.ifaceName ?? 'default') === iface)
    .map((s) => ({ targetIqn: s.targetIqn, portal: s.portal, ...(s.tpgt !== undefined ? { tpgt: s.tpgt } : {}), ...(deps.iface !== undefined ? { iface: deps.iface } : {}) }));
}
