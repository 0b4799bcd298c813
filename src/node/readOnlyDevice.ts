import { FailedPreconditionError } from '../errors.ts';
import { dmDevicePath, hasDmDevice, listDmDeviceNames } from '../dm/index.ts';
import { crashPoint } from '../faults/crashPoint.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { sysfs } from './NodeDeps.ts';
import type { StageRecord } from './stageRecord.ts';
import { buildReadOnlyDmName, readOnlyDmPrefix } from './volumeAccess.ts';

/*
 * Read-only block targets. Linux ignores MS_RDONLY of a bind mount for what is written through a
 * device node (the flag guards the mount's files, and opening a device node for writing is not a
 * write to that file), so a read-only bind of /dev/mapper/vbs-… lets a pod write the volume. A
 * read-only publish of a read-write staged volume therefore binds its own device: a linear dm
 * device over the volume's, created with `dmsetup create --readonly`, which the block layer
 * refuses to write (EPERM) whoever opens it. Its name derives from the volume's dm name and the
 * target path (buildReadOnlyDmName), so unpublish and unstage find it without any record.
 */

/** The read-only device for one target path, created if missing; returns its /dev path. */
export async function ensureReadOnlyDevice(
  deps: NodeDeps,
  record: StageRecord,
  targetPath: string,
  { log, signal }: StepContext,
): Promise<{ readonly device: string; readonly created: boolean }> {
  const name = buildReadOnlyDmName(record.dmName, targetPath);
  const existing = (await hasDmDevice(name, sysfs(deps))) ? await deps.dmsetup.info(name, signal) : undefined;
  if (existing) {
    if (!existing.isReadOnly) throw new FailedPreconditionError(`${dmDevicePath(name)} for the read-only target ${targetPath} is writable; remove it (dmsetup remove ${name}) and publish again`);
    return { device: dmDevicePath(name), created: false };
  }
  const [volume, table] = await Promise.all([deps.dmsetup.info(record.dmName, signal), deps.dmsetup.table(record.dmName, signal)]);
  if (!volume || !table) throw new FailedPreconditionError(`volume ${record.volumeId} has no device ${dmDevicePath(record.dmName)}; stage it again`);
  const sectors = table.reduce((sum, line) => sum + line.sectors, 0);
  await deps.dmsetup.createLinear(name, { sectors, device: `${volume.major}:${volume.minor}` }, { uuid: `VBS-CSI-${name}`, readOnly: true }, signal);
  log.info({ dm: name, over: record.dmName, targetPath }, 'read-only dm device created');
  // Device made, not yet bound: the retry finds and binds it; an unpublish or unstage removes it.
  crashPoint('node.publish.after-readonly-device');
  return { device: dmDevicePath(name), created: true };
}

/**
 * NodeExpandVolume: every read-only device of the volume grows with it, or a read-only block
 * target (a VM's read-only disk) would keep its old size. Reloaded read-only again (Dmsetup.reloadLinear).
 */
export async function growReadOnlyDevicesOf(deps: NodeDeps, record: StageRecord, sectors: number, { log, signal }: StepContext): Promise<void> {
  const prefix = readOnlyDmPrefix(record.dmName);
  const names = (await listDmDeviceNames(sysfs(deps))).filter((n) => n.startsWith(prefix));
  if (names.length === 0) return;
  const volume = await deps.dmsetup.info(record.dmName, signal);
  if (!volume) throw new FailedPreconditionError(`volume ${record.volumeId} has no device ${dmDevicePath(record.dmName)}; stage it again`);
  for (const name of names) {
    const table = await deps.dmsetup.table(name, signal);
    if (!table) continue; // removed meanwhile by an unpublish
    const mapped = table.reduce((sum, line) => sum + line.sectors, 0);
    if (mapped >= sectors) continue;
    await deps.dmsetup.reloadLinear(name, { sectors, device: `${volume.major}:${volume.minor}` }, signal, { readOnly: true });
    log.info({ dm: name, fromSectors: mapped, toSectors: sectors }, 'read-only dm device grown');
  }
}

/**
 * Removes a read-only device; one that does not exist is done. Still open (something holds the
 * device node beyond the CO's target): FAILED_PRECONDITION, it stays.
 */
export async function removeReadOnlyDevice(deps: NodeDeps, name: string, { log, signal }: StepContext): Promise<void> {
  if (!(await hasDmDevice(name, sysfs(deps)))) return;
  const info = await deps.dmsetup.info(name, signal);
  if (!info) return;
  if (info.openCount > 0) throw new FailedPreconditionError(`read-only device ${dmDevicePath(name)} is still open ${info.openCount} time(s); something outside the CO's paths uses it`);
  await deps.dmsetup.remove(name, signal);
  log.info({ dm: name }, 'read-only dm device removed');
}

/** NodeUnstage: every read-only device of the volume that NodeUnpublish did not remove (a publish that crashed and was never retried). */
export async function removeReadOnlyDevicesOf(deps: NodeDeps, volumeDmName: string, ctx: StepContext): Promise<void> {
  const prefix = readOnlyDmPrefix(volumeDmName);
  for (const name of (await listDmDeviceNames(sysfs(deps))).filter((n) => n.startsWith(prefix))) await removeReadOnlyDevice(deps, name, ctx);
}
