/** One external program run, described as data so it can be faked, logged (redacted) and timed. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  /** Values that must never appear in logs or error messages (CHAP passwords, keys). */
  readonly secrets?: readonly string[];
  readonly timeoutMs: number;
  /** Written to the program's stdin. */
  readonly input?: string;
  /** Exit codes that count as success for this call; default [0]. */
  readonly okExitCodes?: readonly number[];
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * The only way the driver runs programs. Implementations throw CommandFailedError when the
 * exit code is not in okExitCodes, the program could not start, or the timeout/signal hit.
 */
export interface CommandRunner {
  run(cmd: Command, signal?: AbortSignal): Promise<CommandResult>;
}
