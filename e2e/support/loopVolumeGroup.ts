import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../../src/exec/index.ts';

export interface LoopVolumeGroup {
  readonly vgName: string;
  readonly thinPoolName: string;
  readonly loopDevice: string;
  /** Removes the VG (and every LV in it) and detaches the loop device; each step tolerates "already gone". */
  destroy(log: (message: string) => void): Promise<void>;
}

/**
 * A storage node's disk for scenarios: a sparse file on a loop device, one PV, one VG and a thin
 * pool, as an operator would prepare it. Built by hand with lvm, not through src/lvm, so the
 * code under test does not set up its own preconditions.
 */
export async function createLoopVolumeGroup(opts: {
  readonly runner: CommandRunner;
  readonly dir: string;
  readonly vgName: string;
  readonly fileMiB: number;
  readonly poolMiB: number;
  readonly thinPoolName?: string;
  /** The pool's zeroing of new blocks (lvcreate -Z); default lvm's own (on). */
  readonly zeroNewBlocks?: boolean;
  readonly signal: AbortSignal;
}): Promise<LoopVolumeGroup> {
  const { runner, signal, vgName } = opts;
  const thinPoolName = opts.thinPoolName ?? 'pool';
  const sh = (file: string, args: readonly string[]) => runner.run({ file, args, timeoutMs: 60_000 }, signal);
  const image = join(opts.dir, `${vgName}.img`);
  await writeFile(image, '');
  await truncate(image, opts.fileMiB * 1024 * 1024);
  const loopDevice = (await sh('losetup', ['-f', '--show', image])).stdout.trim();
  const destroy = async (log: (message: string) => void) => {
    const note = (step: string) => (err: unknown) => log(`${step}: ${err instanceof Error ? err.message : String(err)}`);
    await sh('lvm', ['vgremove', '-y', '-f', vgName]).catch(note('vgremove'));
    await sh('lvm', ['pvremove', '-y', loopDevice]).catch(note('pvremove'));
    await sh('losetup', ['-d', loopDevice]).catch(note('losetup -d'));
  };
  try {
    await sh('lvm', ['pvcreate', '-y', loopDevice]);
    await sh('lvm', ['vgcreate', '-y', vgName, loopDevice]);
    const zero = opts.zeroNewBlocks === undefined ? [] : ['-Z', opts.zeroNewBlocks ? 'y' : 'n'];
    await sh('lvm', ['lvcreate', '-y', '--type', 'thin-pool', ...zero, '-L', `${opts.poolMiB}M`, '-n', thinPoolName, vgName]);
  } catch (err: unknown) {
    await destroy(() => {});
    throw err;
  }
  return { vgName, thinPoolName, loopDevice, destroy };
}
