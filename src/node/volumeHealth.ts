import { NotFoundError } from '../errors.ts';
import type { _csi_v1_VolumeHealth_VolumeHealthEntry } from '../generated/csi/v1/VolumeHealth.ts';
import { findVolumeSession } from './findVolumeSession.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { recordTarget } from './NodeDeps.ts';
import type { MirrorStageRecord, SingleStageRecord, StageRecord } from './stageRecord.ts';

export type HealthEntry = Required<_csi_v1_VolumeHealth_VolumeHealthEntry> & { readonly status: 'DEGRADED' | 'INACCESSIBLE' };

/**
 * NodeGetVolumeHealth (CSI 1.13 replaced VolumeCondition in NodeGetVolumeStats with it): what this
 * node sees of a staged volume. An empty list = healthy.
 * - no iSCSI session, or one not LOGGED_IN (target down; I/O queues until replacement_timeout,
 *   then fails): INACCESSIBLE;
 * - the dm device missing: INACCESSIBLE; suspended: DEGRADED (I/O waits);
 * - the staging filesystem mounted read-only although the volume is read-write (ext4 errors=
 *   remount-ro after an I/O error, docs/field-notes.md 1.8): DEGRADED, writes fail until it is restaged;
 * - a replicated volume: a failed, missing or resynchronising copy, or a copy's session down: DEGRADED
 *   naming the copy (mirrorHealth).
 */
export async function volumeHealth(deps: NodeDeps, volumeId: string, signal: AbortSignal): Promise<HealthEntry[]> {
  const record = await deps.records.read(volumeId);
  if (!record) throw new NotFoundError(`volume ${volumeId} is not staged on this node`);
  const copies = record.version === 2 ? await mirrorHealth(deps, record, signal) : await sessionHealth(deps, record, signal);
  return [...copies, ...(await deviceAndMountHealth(deps, record, signal))];
}

/** A single-copy volume's one session. */
async function sessionHealth(deps: NodeDeps, record: SingleStageRecord, signal: AbortSignal): Promise<HealthEntry[]> {
  const session = await findVolumeSession(deps, recordTarget(record), signal);
  if (!session) return [{ status: 'INACCESSIBLE', reason: 'IscsiSessionMissing', message: `no iSCSI session to ${record.target.targetIqn}` }];
  if (session.sessionState !== undefined && session.sessionState !== 'LOGGED_IN') {
    return [
      {
        status: 'INACCESSIBLE',
        reason: 'IscsiSessionDown',
        message: `iSCSI session ${session.sid} to ${record.target.targetIqn} is ${session.sessionState} (connection ${session.connectionState ?? 'unknown'}); I/O waits for the storage node`,
      },
    ];
  }
  return [];
}

/** The dm device (linear or raid) and the staging mount: the same for both kinds of volume. */
async function deviceAndMountHealth(deps: NodeDeps, record: StageRecord, signal: AbortSignal): Promise<HealthEntry[]> {
  const entries: HealthEntry[] = [];
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

/**
 * A replicated volume's copies: each leg's health in the raid status (D failed, - not assembled,
 * a resynchronising) and each copy's session. Any of them is DEGRADED, not INACCESSIBLE: I/O goes
 * on over the other copies. Each message names the copy, its slot and its storage node.
 */
async function mirrorHealth(deps: NodeDeps, record: MirrorStageRecord, signal: AbortSignal): Promise<HealthEntry[]> {
  const entries: HealthEntry[] = [];
  const status = await deps.dmsetup.raidStatus(record.dmName, signal);
  for (const copy of record.copies) {
    const name = `copy ${copy.slot} on ${copy.node}`;
    const leg = status?.health[copy.slot];
    if (leg === 'D') entries.push({ status: 'DEGRADED', reason: 'CopyFailed', message: `${name} failed: the mirror runs without it until it answers again (then only the regions written meanwhile are resynchronised)` });
    else if (leg === '-') entries.push({ status: 'DEGRADED', reason: 'CopyMissing', message: `${name} was not reachable when the volume was staged: the mirror runs without it` });
    else if (leg === 'a') {
      const pct = status && status.totalSectors > 0 ? Math.floor((100 * status.syncedSectors) / status.totalSectors) : 0;
      entries.push({ status: 'DEGRADED', reason: 'CopyResyncing', message: `${name} is being resynchronised (${status?.syncAction} ${pct}%)` });
    }
    if (leg === 'A' || leg === 'a') {
      const session = await findVolumeSession(deps, recordTarget(copy), signal);
      if (!session || (session.sessionState !== undefined && session.sessionState !== 'LOGGED_IN')) {
        entries.push({ status: 'DEGRADED', reason: 'IscsiSessionDown', message: `the iSCSI session to ${name} (${copy.target.targetIqn}) is ${session?.sessionState ?? 'missing'}; I/O to it waits, then it is failed and the mirror goes on without it` });
      }
    }
  }
  return entries;
}
