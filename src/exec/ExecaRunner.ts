import { execa } from 'execa';
import type { Logger } from 'pino';
import type { Command, CommandResult, CommandRunner } from './CommandRunner.ts';
import { CommandFailedError } from './CommandFailedError.ts';
import { redactArgs } from './redactArgs.ts';

export interface ExecaRunnerOptions {
  readonly log: Logger;
  /**
   * Prepended to every command, e.g. the nsenter prefix of --host-exec=nsenter (src/config/hostExec.ts)
   * so a containerised role runs the host's lvm (docs/containers.md, docs/field-notes.md 3.1).
   * Configuration, never a global; HostToolsRunner sends only the host-state tools through it.
   */
  readonly prefix?: readonly string[];
}

/** Runs commands with execa: argument arrays only, no shell, LC_ALL=C so output parses the same everywhere. */
export class ExecaRunner implements CommandRunner {
  readonly #log: Logger;
  readonly #prefix: readonly string[];

  constructor(opts: ExecaRunnerOptions) {
    this.#log = opts.log;
    this.#prefix = opts.prefix ?? [];
  }

  async run(cmd: Command, signal?: AbortSignal): Promise<CommandResult> {
    const [file, ...args] = [...this.#prefix, cmd.file, ...cmd.args] as [string, ...string[]];
    const started = performance.now();
    const result = await execa(file, args, {
      reject: false,
      timeout: cmd.timeoutMs,
      ...(signal ? { cancelSignal: signal } : {}),
      ...(cmd.input !== undefined ? { input: cmd.input } : { stdin: 'ignore' as const }),
      env: { LC_ALL: 'C' },
      stripFinalNewline: false,
    });
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    const exitCode = result.exitCode;
    const ms = Math.round(performance.now() - started);
    this.#log.debug({ cmd: [cmd.file, ...redactArgs(cmd.args, cmd.secrets)], exitCode, ms }, 'exec');
    const ok = cmd.okExitCodes ?? [0];
    if (result.timedOut || result.isCanceled || exitCode === undefined || !ok.includes(exitCode)) {
      throw new CommandFailedError({
        file: cmd.file,
        args: cmd.args,
        secrets: cmd.secrets,
        exitCode: result.timedOut || result.isCanceled ? undefined : exitCode,
        stdout,
        stderr,
        timedOut: result.timedOut,
        reason: result.isCanceled ? 'was cancelled' : (result.originalMessage ?? 'could not run'),
      });
    }
    return { stdout, stderr, exitCode };
  }
}
