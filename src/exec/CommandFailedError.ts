import { redactArgs, redactText } from './redactArgs.ts';

/**
 * A program failed. The message carries the redacted command line, the exit code and the
 * tail of stderr: enough for an operator, never a secret (execa's own messages are not used
 * because they embed the full argv).
 */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  readonly file: string;
  readonly args: readonly string[];
  /** undefined when the program did not start or was killed. */
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly stdout: string;
  readonly timedOut: boolean;

  constructor(opts: {
    file: string;
    args: readonly string[];
    secrets?: readonly string[] | undefined;
    exitCode: number | undefined;
    stdout: string;
    stderr: string;
    timedOut?: boolean;
    reason?: string;
  }) {
    const secrets = opts.secrets ?? [];
    const args = redactArgs(opts.args, secrets);
    const stderr = redactText(opts.stderr, secrets);
    const stdout = redactText(opts.stdout, secrets);
    const tail = lastLines(stderr.trim() || stdout.trim(), 5);
    const how = opts.timedOut
      ? 'timed out'
      : opts.exitCode === undefined
        ? (opts.reason ?? 'could not run')
        : `exited with code ${opts.exitCode}`;
    super(`${opts.file} ${args.join(' ')} ${how}${tail ? `: ${tail}` : ''}`);
    this.file = opts.file;
    this.args = args;
    this.exitCode = opts.exitCode;
    this.stderr = stderr;
    this.stdout = stdout;
    this.timedOut = opts.timedOut ?? false;
  }
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' | ');
}
