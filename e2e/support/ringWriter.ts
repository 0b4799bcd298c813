import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface RingWriterProgress {
  /** Blocks written and fsynced so far. */
  readonly written: number;
  /** The slowest write + fsync so far, in ms (a storage outage shows here). */
  readonly maxMs: number;
  /** The first error the writer reported, if any. */
  readonly error: string | undefined;
  readonly exited: boolean;
}

export interface RingWriter {
  progress(): RingWriterProgress;
  /** Asks the writer to finish (a stop file), waits for it, and returns its final figures and exit code. */
  stop(): Promise<RingWriterProgress & { readonly exitCode: number | undefined; readonly output: string }>;
  kill(): void;
}

/** Starts ringWriterMain.ts as its own process writing `file`; `workDir` holds its stop file. */
export function startRingWriter(opts: { readonly projectRoot: string; readonly workDir: string; readonly file: string; readonly slots: number; readonly blockBytes: number }): RingWriter {
  const stopFile = join(opts.workDir, `ring-writer-${process.pid}-${Date.now()}.stop`);
  const child = execa('node', [join(opts.projectRoot, 'e2e/support/ringWriterMain.ts'), opts.file, stopFile, String(opts.slots), String(opts.blockBytes)], {
    cwd: opts.projectRoot,
    reject: false,
    all: true,
    forceKillAfterDelay: 5_000,
  });
  let written = 0;
  let maxMs = 0;
  let error: string | undefined;
  let exited = false;
  let pending = '';
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const msg = JSON.parse(line) as { i?: number; ms?: number; error?: string; done?: number };
      if (msg.i !== undefined) written = msg.i;
      if (msg.ms !== undefined) maxMs = Math.max(maxMs, msg.ms);
      if (msg.done !== undefined) written = msg.done;
      if (msg.error !== undefined) error ??= msg.error;
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const done = child.then((r) => {
    exited = true;
    return r;
  });
  const progress = (): RingWriterProgress => ({ written, maxMs, error, exited });
  return {
    progress,
    async stop() {
      await writeFile(stopFile, '');
      const r = await done;
      return { ...progress(), exitCode: r.exitCode, output: chunks.join('') };
    },
    kill: () => {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
