import * as nodePath from 'node:path';
import { FailedPreconditionError } from '../errors.ts';
import { dmDevicePath, raid1TableOf } from '../dm/index.ts';
import { waitForSessionDisk } from '../iscsi/index.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import { findSessionId } from './findVolumeSession.ts';
import { HEADER_SECTORS, legNames } from './mirrorLegs.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { recordTarget, sysfs } from './NodeDeps.ts';
import { growReadOnlyDevicesOf } from './readOnlyDevice.ts';
import { ensureLinear } from './stageMirror.ts';
import type { MirrorStageRecord } from './stageRecord.ts';
import { waitForSize } from './expandVolume.ts';

/**
 * NodeExpandVolume of a replicated volume: ControllerExpandVolume grew every copy's LV (the data
 * after the header). Here, for every leg in the raid table: rescan its session, wait for its disk
 * to reach the header plus the requested size, reload its data linear device to the new length;
 * then reload the raid table with the smallest data leg's size (dm-raid grows the array and its
 * bitmap, and synchronises the new regions: dm-raid.rst 1.15.0); then the read-only devices over
 * it and the filesystem. A leg missing from the raid table is left alone: it is sized when it is
 * assembled again. Idempotent: a second call finds nothing to grow.
 */
export async function expandMirror(deps: NodeDeps, record: MirrorStageRecord, requiredBytes: number, ctx: StepContext): Promise<{ readonly capacityBytes: number }> {
  const { log, signal } = ctx;
  const [line, ...rest] = (await deps.dmsetup.table(record.dmName, signal)) ?? [];
  if (!line || rest.length > 0) throw new FailedPreconditionError(`volume ${record.volumeId} has no raid device ${dmDevicePath(record.dmName)}; stage it again`);
  const table = raid1TableOf(line);
  const dataSectors: number[] = [];
  for (const copy of record.copies) {
    if (!table.legs[copy.slot]) continue;
    const sid = await findSessionId(deps, recordTarget(copy), signal);
    if (sid === undefined) throw new FailedPreconditionError(`copy ${copy.slot} on ${copy.node} of volume ${record.volumeId} has no iSCSI session; the volume grows once it is back (or restaged)`);
    await deps.iscsiadm.rescanSession(sid, signal);
    const disk = await waitForSessionDisk(sid, copy.target.lun, { deadlineMs: deps.deviceWaitMs, pollMs: deps.pollMs ?? 200, signal, ...sysfs(deps) });
    const geometry = await waitForSize(deps, nodePath.basename(disk), requiredBytes === 0 ? 0 : requiredBytes + HEADER_SECTORS * 512, signal);
    const sectors = geometry.sectors - HEADER_SECTORS;
    await ensureLinear(deps, legNames(record.dmName, copy.slot).data, { sectors, device: geometry.majorMinor, offsetSector: HEADER_SECTORS }, undefined, ctx);
    dataSectors.push(sectors);
  }
  const sectors = Math.min(...dataSectors);
  if (sectors > table.sectors) {
    // rebuild and nosync are for the assembly that wrote them only: a reload must not restart a
    // full rebuild, nor skip the resync of the grown part.
    await deps.dmsetup.reloadRaid1(record.dmName, { sectors, regionSectors: table.regionSectors, legs: table.legs }, signal, { readOnly: record.readOnly });
    log.info({ dm: record.dmName, fromSectors: table.sectors, toSectors: sectors }, 'raid device grown');
    crashPoint('node.expand.mirror.after-raid-reload');
  }
  const size = Math.max(sectors, table.sectors);
  await growReadOnlyDevicesOf(deps, record, size, ctx);
  if (record.access.kind === 'mount') {
    await deps.mounter.growFilesystem(dmDevicePath(record.dmName), record.stagingPath, record.access.fsType, signal);
  }
  return { capacityBytes: size * 512 };
}
