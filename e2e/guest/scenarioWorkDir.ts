import { lstatSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { parseMountInfo } from '../../src/mount/parseMountInfo.ts';

/**
 * What a passed scenario's work directory costs the rest of the run. The guest's /tmp is a tmpfs, so
 * every loop-file VG, data file and read-back a scenario leaves there stays in the guest's RAM for the
 * whole run (docs/test-bed.md). The logs are not here (e2e/support/suiteLogs.ts), so a passed
 * scenario's directory is removed; a failed or timed-out one is kept (its processes may still run).
 * Never across a mount: a recursive remove would delete what a mount under it shows.
 */
export function mountsUnder(dir: string, mountinfo: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return parseMountInfo(mountinfo)
    .map((m) => m.target)
    .filter((target) => target === dir || target.startsWith(prefix));
}

/** Removes `dir` unless something is mounted in it; says what it did, for the console. */
export function removeWorkDir(dir: string): string {
  const mounts = mountsUnder(dir, readFileSync('/proc/self/mountinfo', 'utf8'));
  if (mounts.length > 0) return `kept ${dir}: still mounted there: ${mounts.join(', ')}`;
  const mib = allocatedBytes(dir) / 2 ** 20;
  rmSync(dir, { recursive: true, force: true });
  return `removed ${dir}: ${mib.toFixed(1)} MiB of guest RAM freed`;
}

/** Bytes the files under `dir` occupy (sparse files count what was written), not crossing into subdirectories' mounts: the caller checked there are none. */
function allocatedBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += lstatSync(path).blocks * 512;
    if (entry.isDirectory()) total += allocatedBytes(path);
  }
  return total;
}

/** The guest's free memory, its /tmp tmpfs use (MiB) and its mount count: the figures that show a leak between scenarios. */
export function guestResourceReport(tmpDir: string): string {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line !== '').length;
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? Number.NaN);
  const fs = statfsSync(tmpDir);
  const usedMiB = ((fs.blocks - fs.bfree) * fs.bsize) / 2 ** 20;
  return `MemAvailable ${Math.round(kib('MemAvailable') / 1024)} MiB of ${Math.round(kib('MemTotal') / 1024)} MiB, Shmem (tmpfs) ${Math.round(kib('Shmem') / 1024)} MiB, ${tmpDir} ${Math.round(usedMiB)} MiB, ${mounts} mounts`;
}
