import { access } from 'node:fs/promises';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, OutOfRangeError, UnavailableError } from '../errors.ts';
import { dmDevicePath, readBlockGeometry } from '../dm/index.ts';
import type { BlockGeometry } from '../dm/index.ts';
import { sleep } from '../iscsi/sleep.ts';
import { waitForSessionDisk } from '../iscsi/index.ts';
import { validateAbsolutePath } from '../mount/index.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { recordTarget, sysfs } from './NodeDeps.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import { findSessionId } from './findVolumeSession.ts';
import { growReadOnlyDevicesOf } from './readOnlyDevice.ts';
import { expandMirror } from './expandMirror.ts';

export interface ExpandRequest {
  readonly volumeId: string;
  readonly volumePath: string;
  /** 0 = not given: take whatever size the LUN has after the rescan. */
  readonly requiredBytes: number;
}

/**
 * NodeExpandVolume, online (docs/field-notes.md 1.12, 5.7):
 *  1. rescan this volume's session only;
 *  2. wait until the kernel reports the SCSI disk at the requested size (deadline);
 *  3. reload the dm table with the new length and resume (the pod's device grows in place), then
 *     the read-only devices of read-only block targets over it;
 *  4. mount volumes: resize2fs / xfs_growfs. Block volumes stop after step 3.
 * Returns the device's size. Idempotent: a second call finds nothing to grow.
 */
export async function expandVolume(deps: NodeDeps, req: ExpandRequest, { log, signal }: StepContext): Promise<{ readonly capacityBytes: number }> {
  validateRequiredBytes(req.requiredBytes);
  // The volume before the path's form: an unknown volume is NOT_FOUND whatever path it names (csi-test pkg/sanity node.go).
  const record = await deps.records.read(req.volumeId);
  if (!record) throw new NotFoundError(`volume ${req.volumeId} is not staged on this node`);
  validateAbsolutePath(req.volumePath, 'volume_path');
  try {
    await access(req.volumePath);
  } catch {
    throw new NotFoundError(`volume path ${req.volumePath} does not exist`);
  }
  if (record.version === 2) return expandMirror(deps, record, req.requiredBytes, { log, signal });
  const sid = await findSessionId(deps, recordTarget(record), signal);
  if (sid === undefined) throw new FailedPreconditionError(`volume ${req.volumeId} has no iSCSI session on this node; stage it again`);
  await deps.iscsiadm.rescanSession(sid, signal);
  const disk = await waitForSessionDisk(sid, record.target.lun, { deadlineMs: deps.deviceWaitMs, pollMs: deps.pollMs ?? 200, signal, ...sysfs(deps) });
  const geometry = await waitForSize(deps, disk.slice(disk.lastIndexOf('/') + 1), req.requiredBytes, signal);

  const table = await deps.dmsetup.table(record.dmName, signal);
  if (!table) throw new FailedPreconditionError(`volume ${req.volumeId} has no device ${dmDevicePath(record.dmName)}; stage it again`);
  const mappedSectors = table.reduce((sum, line) => sum + line.sectors, 0);
  if (geometry.sectors > mappedSectors || table[0]?.args[0] !== geometry.majorMinor) {
    await deps.dmsetup.reloadLinear(record.dmName, { sectors: geometry.sectors, device: geometry.majorMinor }, signal);
    log.info({ dm: record.dmName, fromSectors: mappedSectors, toSectors: geometry.sectors }, 'dm device grown');
    // The device grew, the filesystem not yet: the retry finds nothing to reload and grows the filesystem.
    crashPoint('node.expand.after-dm-reload');
  }
  await growReadOnlyDevicesOf(deps, record, geometry.sectors, { log, signal });
  if (record.access.kind === 'mount') {
    await deps.mounter.growFilesystem(dmDevicePath(record.dmName), record.stagingPath, record.access.fsType, signal);
  }
  return { capacityBytes: geometry.sectors * 512 };
}

/**
 * A negative size is malformed; one past 2^53 (2^63 - 1, say) is no size a disk here can reach, so
 * it is refused at once rather than waited for until the deadline.
 */
function validateRequiredBytes(requiredBytes: number): void {
  if (!Number.isInteger(requiredBytes) || requiredBytes < 0) {
    throw new InvalidArgumentError(`capacity_range.required_bytes must be a whole, non-negative number of bytes, got ${requiredBytes}`);
  }
  if (requiredBytes > Number.MAX_SAFE_INTEGER) throw new OutOfRangeError(`capacity_range.required_bytes ${requiredBytes} is past any size a volume of this driver can have`);
}

/** Polls /sys/block/<disk>/size until it reaches requiredBytes (or once, when none is required). */
export async function waitForSize(deps: NodeDeps, disk: string, requiredBytes: number, signal: AbortSignal): Promise<BlockGeometry> {
  const deadline = performance.now() + deps.deviceWaitMs;
  for (;;) {
    const geometry = await readBlockGeometry(disk, sysfs(deps));
    if (!geometry) throw new UnavailableError(`disk ${disk} vanished during the resize; retry`);
    if (geometry.sectors * 512 >= requiredBytes) return geometry;
    if (performance.now() >= deadline) {
      throw new UnavailableError(`the LUN is still ${geometry.sectors * 512} bytes, not ${requiredBytes}, ${deps.deviceWaitMs} ms after the rescan: was ControllerExpandVolume done?`);
    }
    await sleep(deps.pollMs ?? 200, signal);
  }
}
