import { execa } from 'execa';
import type { ScenarioContext } from '../scenarios/Scenario.ts';
import { persistOutput } from './suiteLogs.ts';

export type DriverRole = 'controller' | 'node' | 'agent' | 'all-in-one';

export interface DriverProcess {
  readonly name: string;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<{ readonly exitCode: number | undefined; readonly signal: string | undefined }>;
  hasExited(): boolean;
  /** Everything the process printed so far (JSON log lines). */
  output(): string;
}

/**
 * Starts `node src/main.ts <role> <args>` as its own process, as a pod would run it. Its output is
 * kept in memory and written to its own file in the suite's log dir (e2e/support/suiteLogs.ts).
 */
export function startDriverProcess(opts: {
  readonly ctx: ScenarioContext;
  readonly role: DriverRole;
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}): DriverProcess {
  const child = execa('node', ['src/main.ts', opts.role, ...opts.args], {
    cwd: opts.ctx.projectRoot,
    env: { VBS_LOG_LEVEL: 'debug', ...opts.env },
    reject: false,
    all: true,
    forceKillAfterDelay: 10_000,
  });
  return superviseChild(opts.ctx, opts.name, child);
}

/** What superviseChild needs of an execa child started with `{ reject: false, all: true }`. */
export interface ChildToSupervise extends PromiseLike<{ readonly exitCode?: number | undefined; readonly signal?: string | undefined }> {
  readonly all?: NodeJS.ReadableStream | null | undefined;
  kill(signal: 'SIGTERM' | 'SIGKILL'): boolean;
}

/**
 * A started program (a driver process, `podman run`) as a DriverProcess: its output kept in memory
 * and in its own file in the suite's log dir, its exit awaited, and kill a no-op once it has exited.
 */
export function superviseChild(ctx: ScenarioContext, name: string, child: ChildToSupervise): DriverProcess {
  persistOutput(ctx.workDir, name, child.all);
  const chunks: string[] = [];
  child.all?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  let done = false;
  const exited = Promise.resolve(child).then((r) => {
    done = true;
    return { exitCode: r.exitCode, signal: r.signal };
  });
  return {
    name,
    kill: (signal) => {
      if (!done) child.kill(signal);
    },
    exited,
    hasExited: () => done,
    output: () => chunks.join(''),
  };
}
