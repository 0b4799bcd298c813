import { readFile, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { FailedPreconditionError } from '../errors.ts';

/** Splits a Linux dev_t (glibc's encoding, as stat(2) returns it) into major and minor (gnu_dev_major/gnu_dev_minor). */
export function splitDevT(rdev: bigint): { readonly major: number; readonly minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/**
 * The size in bytes of the block device at `device` (a /dev path or a link to one), what
 * `blockdev --getsize64` reports, read without a process: stat(2) for its major:minor, then
 * /sys/dev/block/<major>:<minor>/size (always in 512-byte sectors). Undefined when the path or the
 * device does not exist (a stale node in /dev for a device the kernel removed included); a path
 * that is not a block device is a FailedPreconditionError.
 */
export async function readBlockDeviceSizeBytes(device: string, opts: { readonly sysRoot?: string } = {}): Promise<number | undefined> {
  let rdev: bigint;
  try {
    const st = await stat(device, { bigint: true });
    if (!st.isBlockDevice()) throw new FailedPreconditionError(`${device} is not a block device`);
    rdev = st.rdev;
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const { major, minor } = splitDevT(rdev);
  let text: string;
  try {
    text = await readFile(nodePath.join(opts.sysRoot ?? '/sys', 'dev', 'block', `${major}:${minor}`, 'size'), 'latin1');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const sectors = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(sectors * 512)) throw new Error(`/sys/dev/block/${major}:${minor}/size is ${JSON.stringify(text)}`);
  return sectors * 512;
}
