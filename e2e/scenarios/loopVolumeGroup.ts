import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../../src/exec/index.ts';

export interface LoopVolumeGroup {
  readonly loop: string;
  /** vgremove (LVs included) and losetup -d; what is already gone is skipped, other failures are logged. */
  remove(): Promise<void>;
}

/**
 * A storage node's disk for a scenario: a sparse image file in the work dir → loop device → PV →
 * VG with one thin pool. Build it inside the scenario's try, and call remove() in its finally.
 */
export async function createLoopVolumeGroup(
  runner: CommandRunner,
  opts: { readonly workDir: string; readonly vgName: string; readonly poolName: string; readonly imageMiB: number; readonly poolMiB: number; readonly log: (msg: string) => void },
  signal: AbortSignal,
): Promise<LoopVolumeGroup> {
  const sh = (file: string, args: readonly string[]) => runner.run({ file, args, timeoutMs: 60_000 }, signal);
  const image = join(opts.workDir, `${opts.vgName}.img`);
  await writeFile(image, '');
  await truncate(image, opts.imageMiB * 1024 * 1024);
  const loop = (await sh('losetup', ['-f', '--show', image])).stdout.trim();
  const remove = async (): Promise<void> => {
    await sh('lvm', ['vgremove', '-y', opts.vgName]).catch((err: unknown) => opts.log(`vgremove ${opts.vgName}: ${String(err)}`));
    await sh('losetup', ['-d', loop]).catch((err: unknown) => opts.log(`losetup -d ${loop}: ${String(err)}`));
  };
  try {
    await sh('lvm', ['pvcreate', '-y', loop]);
    await sh('lvm', ['vgcreate', '-y', opts.vgName, loop]);
    await sh('lvm', ['lvcreate', '-y', '--type', 'thin-pool', '-L', `${opts.poolMiB}M`, '-n', opts.poolName, opts.vgName]);
  } catch (err: unknown) {
    await remove();
    throw err;
  }
  opts.log(`VG ${opts.vgName} with a ${opts.poolMiB} MiB thin pool ${opts.poolName} on ${loop}`);
  return { loop, remove };
}
