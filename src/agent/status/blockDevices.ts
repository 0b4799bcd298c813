import { access, readFile, realpath as fsRealpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { PhysicalVolume } from '../../lvm/index.ts';
import { parseBlockStat } from './ioLoad.ts';
import type { BlockStat } from './ioLoad.ts';

/** A block device whose counters the sampler reads. */
export interface BlockDevice {
  /** The kernel's name (`loop0`, `sdb1`, `dm-3`, `cciss!c0d0`): what DeviceIoLoad.device shows. */
  readonly name: string;
  /** The PV path lvm gave, for messages. */
  readonly pvPath: string;
  /** `<sysfs>/class/block/<name>/stat`: covers whole disks, partitions, loop and dm devices alike. */
  readonly statPath: string;
}

export interface BlockDeviceOptions {
  /** Where sysfs is mounted; default '/sys'. Tests point it at a temp dir. */
  readonly sysfsRoot?: string;
  /** Resolves symlinks (/dev/mapper/x → /dev/dm-3, /dev/vg/… → /dev/dm-N); default fs.realpath. */
  readonly realpath?: (path: string) => Promise<string>;
}

/** The source of the VG's PVs: Lvm.listPhysicalVolumes. */
export interface PhysicalVolumeSource {
  listPhysicalVolumes(signal?: AbortSignal): Promise<PhysicalVolume[]>;
}

export interface ResolvedBlockDevices {
  readonly devices: BlockDevice[];
  /** One sentence per PV that has no readable counters (missing, not a /dev node, no stat file). */
  readonly problems: string[];
}

/**
 * The kernel name of a device node path that symlinks are already resolved in: the part after
 * /dev/, with '/' turned into '!' as sysfs does (/dev/cciss/c0d0 → cciss!c0d0). undefined for
 * anything that is not a device node under /dev, or could climb out of the sysfs directory.
 */
export function buildKernelName(resolvedPath: string): string | undefined {
  const match = /^\/dev\/(.+)$/.exec(resolvedPath);
  if (!match) return undefined;
  const name = match[1]!.replaceAll('/', '!');
  if (!/^[A-Za-z0-9!._:+-]+$/.test(name) || name === '.' || name === '..') return undefined;
  return name;
}

/**
 * Maps PV paths to the stat files of their kernel devices, in order and without duplicates:
 * realpath (so /dev/mapper and /dev/disk/by-* links land on dm-N, sdX), the kernel name, and a
 * check that the stat file is there. PVs that cannot be mapped are reported, not thrown, so one
 * bad PV never hides the load of the others.
 */
export async function resolveBlockDevices(pvPaths: readonly string[], opts: BlockDeviceOptions = {}): Promise<ResolvedBlockDevices> {
  const sysfsRoot = opts.sysfsRoot ?? '/sys';
  const realpath = opts.realpath ?? fsRealpath;
  const devices: BlockDevice[] = [];
  const problems: string[] = [];
  for (const pvPath of pvPaths) {
    let resolved: string;
    try {
      resolved = await realpath(pvPath);
    } catch (err: unknown) {
      problems.push(`PV ${pvPath} cannot be resolved: ${(err as Error).message}`);
      continue;
    }
    const name = buildKernelName(resolved);
    if (!name) {
      problems.push(`PV ${pvPath} resolves to ${resolved}, which is not a device under /dev`);
      continue;
    }
    if (devices.some((d) => d.name === name)) continue;
    const statPath = join(sysfsRoot, 'class', 'block', name, 'stat');
    try {
      await access(statPath);
    } catch {
      problems.push(`PV ${pvPath} (${name}) has no ${statPath}`);
      continue;
    }
    devices.push({ name, pvPath, statPath });
  }
  return { devices, problems };
}

/** The VG's PVs as block devices: Lvm.listPhysicalVolumes, then resolveBlockDevices. Missing PVs are problems. */
export async function listVgBlockDevices(lvm: PhysicalVolumeSource, opts: BlockDeviceOptions = {}, signal?: AbortSignal): Promise<ResolvedBlockDevices> {
  const pvs = await lvm.listPhysicalVolumes(signal);
  const paths = pvs.flatMap((pv) => (pv.devicePath === undefined ? [] : [pv.devicePath]));
  const resolved = await resolveBlockDevices(paths, opts);
  const missing = pvs.filter((pv) => pv.isMissing).map((pv) => `a PV of ${pv.vgName ?? 'the VG'} (${pv.sizeBytes} bytes) is missing`);
  return { devices: resolved.devices, problems: [...missing, ...resolved.problems] };
}

/** Reads and parses one device's counters. */
export async function readBlockStat(device: BlockDevice): Promise<BlockStat> {
  return parseBlockStat(await readFile(device.statPath, 'utf8'));
}
