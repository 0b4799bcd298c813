import { readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export type MeasuredRole = 'controller' | 'node';

export interface RoleProcess {
  readonly pid: number;
  hasExited(): boolean;
  /** Throws unless the pid runs the project's node binary itself (not a wrapper whose memory would be measured instead). */
  checkExecutable(): Promise<void>;
  /** The last lines the process printed (its JSON log), for an error message. */
  outputTail(): string;
  /** SIGTERM (the role's graceful shutdown), SIGKILL after killAfterMs; resolves once it is gone. */
  stop(killAfterMs?: number): Promise<{ readonly exitCode: number | undefined; readonly signal: string | undefined }>;
}

const TAIL_LINES = 40;

/**
 * Starts `node_modules/.bin/node src/main.ts <role> <args>` in the project root, as its own
 * process exactly as a pod runs it (the project's Node 24, not the host's). Its output is read
 * as it comes (a full pipe would stall it) and only the tail is kept.
 */
export function startRoleProcess(projectRoot: string, role: MeasuredRole, args: readonly string[]): RoleProcess {
  const binary = join(projectRoot, 'node_modules/.bin/node');
  const child = execa(binary, ['src/main.ts', role, ...args], {
    cwd: projectRoot,
    reject: false,
    all: true,
    buffer: false,
    stdin: 'ignore',
  });
  if (child.pid === undefined) throw new Error(`could not start the ${role} process`);
  const tail: string[] = [];
  let partial = '';
  child.all?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines);
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  });
  let done = false;
  const exited = child.then((r) => {
    done = true;
    return { exitCode: r.exitCode, signal: r.signal };
  });
  return {
    pid: child.pid,
    hasExited: () => done,
    async checkExecutable() {
      const [running, expected] = await Promise.all([readlink(`/proc/${child.pid}/exe`), realpath(binary)]);
      if (running !== expected) throw new Error(`pid ${child.pid} runs ${running}, not ${expected}`);
    },
    outputTail: () => [...tail, partial].join('\n').trim(),
    async stop(killAfterMs = 10_000) {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
