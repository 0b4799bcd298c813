import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CommandRunner } from '../../src/exec/index.ts';
import { decodeDev } from '../../src/node/volumeStats.ts';

/**
 * What a thin LV and its pool really hold, read from device-mapper by hand (never through the
 * code under test), and what discard limits a block device's queue advertises: the proof that
 * unmaps travel from a worker's dm device over iSCSI down to dm-thin.
 */

/** The VG and LV of a volume id, `<storage node>/<LV name>`, among the cluster's storage nodes. */
export function lvOfVolume(storage: readonly { readonly name: string; readonly vg: string }[], volumeId: string): { readonly vg: string; readonly lv: string } {
  const [node = '', lv = ''] = volumeId.split('/');
  const owner = storage.find((n) => n.name === node);
  if (!owner) throw new Error(`volume ${volumeId} names no storage node of this cluster`);
  return { vg: owner.vg, lv };
}

/** device-mapper's name of an LV: VG and LV names with their dashes doubled, joined by a dash. */
export function lvmDmName(vg: string, lv: string): string {
  return `${vg.replaceAll('-', '--')}-${lv.replaceAll('-', '--')}`;
}

/**
 * Bytes a thin LV has mapped in its pool: `dmsetup status` of a thin target is
 * `<start> <length> thin <mapped sectors> <highest mapped sector>` (kernel
 * Documentation/admin-guide/device-mapper/thin-provisioning.rst, "Status").
 */
export async function thinMappedBytes(runner: CommandRunner, vg: string, lv: string, signal: AbortSignal): Promise<number> {
  const res = await runner.run({ file: 'dmsetup', args: ['status', lvmDmName(vg, lv)], timeoutMs: 30_000 }, signal);
  const fields = res.stdout.trim().split(/\s+/);
  if (fields[2] !== 'thin' || fields[3] === undefined || !/^[0-9]+$/.test(fields[3])) throw new Error(`not a thin status line: ${res.stdout.trim()}`);
  return Number(fields[3]) * 512;
}

/**
 * Bytes the pool has given out: thin-pool status is `<start> <length> thin-pool <transaction id>
 * <used>/<total metadata blocks> <used>/<total data blocks> ...`, data blocks of the size its table
 * line gives (`<start> <length> thin-pool <metadata dev> <data dev> <block size in sectors> ...`).
 */
export async function poolUsedBytes(runner: CommandRunner, vg: string, pool: string, signal: AbortSignal): Promise<number> {
  const dm = `${lvmDmName(vg, pool)}-tpool`;
  const status = (await runner.run({ file: 'dmsetup', args: ['status', dm], timeoutMs: 30_000 }, signal)).stdout.trim().split(/\s+/);
  const table = (await runner.run({ file: 'dmsetup', args: ['table', dm], timeoutMs: 30_000 }, signal)).stdout.trim().split(/\s+/);
  const used = /^([0-9]+)\/[0-9]+$/.exec(status[5] ?? '')?.[1];
  const blockSectors = table[5];
  if (status[2] !== 'thin-pool' || used === undefined || blockSectors === undefined) throw new Error(`not a thin-pool: ${status.join(' ')} / ${table.join(' ')}`);
  return Number(used) * Number(blockSectors) * 512;
}

/** The discard limits of a block device's request queue (sysfs), by its /dev path or a name. */
export interface QueueDiscardLimits {
  readonly device: string;
  readonly discardMaxBytes: number;
  readonly discardGranularity: number;
  readonly writeZeroesMaxBytes: number;
}

export async function queueDiscardLimits(devicePath: string): Promise<QueueDiscardLimits> {
  const name = await sysBlockName(devicePath);
  const read = async (attr: string): Promise<number> => Number((await readFile(`/sys/block/${name}/queue/${attr}`, 'utf8')).trim());
  return {
    device: name,
    discardMaxBytes: await read('discard_max_bytes'),
    discardGranularity: await read('discard_granularity'),
    writeZeroesMaxBytes: await read('write_zeroes_max_bytes'),
  };
}

/** The block device under a dm device that maps one other device (the node plugin's dm-linear): /sys/block/dm-N/slaves. */
export async function soleSlave(dmDevicePath: string): Promise<string> {
  const name = await sysBlockName(dmDevicePath);
  const slaves = await readdir(`/sys/block/${name}/slaves`);
  if (slaves.length !== 1) throw new Error(`${dmDevicePath} (${name}) maps ${slaves.length} devices: ${slaves.join(', ')}`);
  return `/dev/${slaves[0]!}`;
}

/**
 * The kernel's name (sdb, dm-3) of the block device a node stands for, by its device number: the
 * node plugin's /dev/mapper nodes and bind-mounted targets are device files, not udev's symlinks.
 */
async function sysBlockName(devicePath: string): Promise<string> {
  const st = await stat(devicePath, { bigint: true });
  if (!st.isBlockDevice()) throw new Error(`${devicePath} is not a block device`);
  return basename(await realpath(`/sys/dev/block/${decodeDev(st.rdev)}`));
}

/** One LIO backstore attribute, as the kernel shows it. */
export async function backstoreAttribute(backstoreName: string, attribute: string, hbaIndex = 0): Promise<string> {
  return (await readFile(`/sys/kernel/config/target/core/iblock_${hbaIndex}/${backstoreName}/attrib/${attribute}`, 'utf8')).trim();
}
