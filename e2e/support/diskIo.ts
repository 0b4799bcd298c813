import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandFailedError } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import type { ScenarioContext } from '../scenarios/Scenario.ts';

/** Writes one MiB at MiB offset `seekMiB` of a block device (or a published block target) with O_DIRECT, past every cache. */
export async function ddWrite(runner: CommandRunner, ctx: ScenarioContext, device: string, data: Uint8Array, seekMiB: number, signal: AbortSignal): Promise<void> {
  const file = join(ctx.workDir, `chunk-${seekMiB}.bin`);
  await writeFile(file, data);
  await runner.run({ file: 'dd', args: [`if=${file}`, `of=${device}`, 'bs=1M', 'count=1', `seek=${seekMiB}`, 'oflag=direct', 'conv=fsync,notrunc'], timeoutMs: 60_000 }, signal);
}

/** Reads one MiB at MiB offset `skipMiB` with O_DIRECT. */
export async function ddRead(runner: CommandRunner, ctx: ScenarioContext, device: string, skipMiB: number, signal: AbortSignal): Promise<Buffer> {
  const file = join(ctx.workDir, `read-${skipMiB}.bin`);
  try {
    await runner.run({ file: 'dd', args: [`if=${device}`, `of=${file}`, 'bs=1M', 'count=1', `skip=${skipMiB}`, 'iflag=direct'], timeoutMs: 60_000 }, signal);
  } catch (err: unknown) {
    if (err instanceof CommandFailedError) throw new Error(`reading ${device}: ${err.message}`);
    throw err;
  }
  return readFile(file);
}

/** Writes a file and fsyncs it before returning, as a careful application does. */
export async function writeFileSynced(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
