import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where the suite's argv samples go: beside the ledger, outside the log dir (they are not a log anyone wrote). */
export function argvSamplesPath(workRoot: string): string {
  return join(workRoot, 'argv-samples.jsonl');
}

/** One process's command line as /proc/<pid>/cmdline showed it. */
export interface ArgvSample {
  readonly pid: number;
  readonly argv: readonly string[];
}

/** /proc/<pid>/cmdline: NUL-separated arguments (a trailing NUL), empty for kernel threads. */
export function parseCmdline(raw: Buffer): string[] {
  const text = raw.toString('utf8');
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

export function readArgvSamples(file: string): ArgvSample[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ArgvSample);
}

/** How many of the samples are iscsiadm runs: the scan must have seen some, or it proved nothing. */
export function countIscsiadm(samples: readonly ArgvSample[]): number {
  return samples.filter((s) => s.argv[0] !== undefined && basename(s.argv[0]) === 'iscsiadm').length;
}

/**
 * Starts e2e/support/argvSamplerMain.ts as its own process (its own event loop, so a busy
 * scenario does not slow the sampling): it polls /proc for the whole run and appends every
 * distinct command line it sees to `file`. Stop it with the returned function.
 */
export function startArgvSampler(projectRoot: string, file: string): { stop(): void; child: ChildProcess } {
  const child = spawn(process.execPath, [join(projectRoot, 'e2e/support/argvSamplerMain.ts'), file], { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    child,
    stop() {
      child.kill('SIGTERM');
    },
  };
}
