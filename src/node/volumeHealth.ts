import { NotFoundError } from '../errors.ts';
import type { _csi_v1_VolumeHealth_VolumeHealthEntry } from '../generated/csi/v1/VolumeHealth.ts';
import { findVolumeSession } from './findVolumeSession.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { recordTarget } from './NodeDeps.ts';

export type HealthEntry = Required<_csi_v1_VolumeHealth_VolumeHealthEntry> & { readonly status: 'DEGRADED' | 'INACCESSIBLE' };

/**
 * NodeGetVolumeHealth (CSI 1.13 replaced VolumeCondition in NodeGetVolumeStats with it): what this
 * node sees of a staged volume. An empty list = healthy.
 * - no iSCSI session, or one not LOGGED_IN (target down; I/O queues until replacement_timeout,
 *   then fails): INACCESSIBLE;
 * - the dm device missing: INACCESSIBLE; suspended: DEGRADED (I/O waits);
 * - the staging filesystem mounted read-only although the volume is read-write (ext4 errors=
 *   remount-ro after an I/O error, docs/field-notes.md 1.8): DEGRADED, writes fail until it is restaged.
 */
export async function volumeHealth(deps: NodeDeps, volumeId: string, signal: AbortSignal): Promise<HealthEntry[]> {
  const record = await deps.records.read(volumeId);
  if (!record) throw new NotFoundError(`volume ${volumeId} is not staged on this node`);
  const entries: HealthEntry[] = [];
  const session = await findVolumeSession(deps, recordTarget(record), signal);
  if (!session) {
    entries.push({ status: 'INACCESSIBLE', reason: 'IscsiSessionMissing', message: `no iSCSI session to ${record.target.targetIqn}` });
  } else if (session.sessionState !== undefined && session.sessionState !== 'LOGGED_IN') {
    entries.push({
      status: 'INACCESSIBLE',
      reason: 'IscsiSessionDown',
      message: `iSCSI session ${session.sid} to ${record.target.targetIqn} is ${session.sessionState} (connection ${session.connectionState ?? 'unknown'}); I/O waits for the storage node`,
    });
  }
  const dm = await deps.dmsetup.info(record.dmName, signal);
  if (!dm) entries.push({ status: 'INACCESSIBLE', reason: 'DeviceMissing', message: `/dev/mapper/${record.dmName} does not exist` });
  else if (dm.isSuspended) entries.push({ status: 'DEGRADED', reason: 'DeviceSuspended', message: `/dev/mapper/${record.dmName} is suspended; I/O waits` });
  if (record.access.kind === 'mount') {
    const mount = await deps.mounter.findMount(record.stagingPath, signal);
    if (!mount) entries.push({ status: 'INACCESSIBLE', reason: 'FilesystemNotMounted', message: `nothing is mounted at ${record.stagingPath}` });
    else if (mount.isReadOnly && !record.readOnly) {
      entries.push({ status: 'DEGRADED', reason: 'FilesystemReadOnly', message: `the ${record.access.fsType} filesystem at ${record.stagingPath} went read-only (an I/O error?); writes fail until the volume is restaged` });
    }
  }
  return entries;
}
