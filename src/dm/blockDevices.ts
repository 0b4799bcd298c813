import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';

export interface BlockSysfsOptions {
  /** Where sysfs is mounted; default /sys. Unit tests use a temp dir. */
  readonly sysRoot?: string;
}

/** What the kernel says about a whole-disk block device such as "sdb" or "dm-0". */
export interface BlockGeometry {
  /** Size in 512-byte sectors (/sys/block/<disk>/size is always in 512-byte units). */
  readonly sectors: number;
  /** "major:minor", as device-mapper tables name devices. */
  readonly majorMinor: string;
}

const DISK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Reads /sys/block/<disk>/size and /dev; undefined if the disk is gone. */
export async function readBlockGeometry(disk: string, opts: BlockSysfsOptions = {}): Promise<BlockGeometry | undefined> {
  const dir = diskDir(disk, opts);
  const [size, dev] = await Promise.all([readOrUndefined(nodePath.join(dir, 'size')), readOrUndefined(nodePath.join(dir, 'dev'))]);
  if (size === undefined || dev === undefined) return undefined;
  const sectors = Number(size.trim());
  const majorMinor = dev.trim();
  if (!Number.isSafeInteger(sectors) || sectors < 0 || !/^[0-9]+:[0-9]+$/.test(majorMinor)) {
    throw new Error(`/sys/block/${disk} has an unexpected size ${JSON.stringify(size)} or dev ${JSON.stringify(dev)}`);
  }
  return { sectors, majorMinor };
}

/** Size in 512-byte sectors of the block device with this "major:minor" (/sys/dev/block/M:m/size); undefined if none. */
export async function readDeviceSectors(majorMinor: string, opts: BlockSysfsOptions = {}): Promise<number | undefined> {
  if (!/^[0-9]+:[0-9]+$/.test(majorMinor)) throw new Error(`${JSON.stringify(majorMinor)} is not major:minor`);
  const text = await readOrUndefined(nodePath.join(opts.sysRoot ?? '/sys', 'dev', 'block', majorMinor, 'size'));
  if (text === undefined) return undefined;
  const sectors = Number(text.trim());
  if (!Number.isSafeInteger(sectors) || sectors < 0) throw new Error(`/sys/dev/block/${majorMinor}/size is ${JSON.stringify(text)}`);
  return sectors;
}

/**
 * Whether the kernel has a device-mapper device of this name: /sys/block/dm-<n>/dm/name, which the
 * kernel fills for every dm device from its creation on (with or without a table). Lets a caller
 * skip `dmsetup table` (a process spawn) when there is surely nothing to compare.
 */
export async function hasDmDevice(name: string, opts: BlockSysfsOptions = {}): Promise<boolean> {
  return (await listDmDeviceNames(opts)).includes(name);
}

/** The names of every device-mapper device the kernel has, from the same sysfs attribute. */
export async function listDmDeviceNames(opts: BlockSysfsOptions = {}): Promise<string[]> {
  const blockDir = nodePath.join(opts.sysRoot ?? '/sys', 'block');
  let entries: string[];
  try {
    entries = await readdir(blockDir);
  } catch (err: unknown) {
    if (codeOf(err) === 'ENOENT') return [];
    throw err;
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!/^dm-[0-9]+$/.test(entry)) continue;
    // A device removed between readdir and read has no name any more.
    const name = (await readOrUndefined(nodePath.join(blockDir, entry, 'dm', 'name')))?.trim();
    if (name !== undefined && name !== '') names.push(name);
  }
  return names;
}

/**
 * Deletes a SCSI disk from the kernel (`echo 1 > /sys/block/<disk>/device/delete`) so no stale
 * device is left at a LUN that may be reused for another volume (docs/field-notes.md 1.6, 1.10). Flush it
 * first. A disk that is already gone counts as deleted: returns false.
 */
export async function deleteScsiDisk(disk: string, opts: BlockSysfsOptions = {}): Promise<boolean> {
  try {
    await writeFile(nodePath.join(diskDir(disk, opts), 'device', 'delete'), '1');
    return true;
  } catch (err: unknown) {
    if (codeOf(err) === 'ENOENT') return false;
    throw err;
  }
}

function diskDir(disk: string, opts: BlockSysfsOptions): string {
  if (!DISK_NAME.test(disk)) throw new Error(`${JSON.stringify(disk)} is not a block device name`);
  return nodePath.join(opts.sysRoot ?? '/sys', 'block', disk);
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'latin1');
  } catch (err: unknown) {
    if (codeOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
