import type { Command, CommandResult, CommandRunner } from '../../src/exec/index.ts';
import { CommandFailedError } from '../../src/exec/index.ts';

/** One element of an argv pattern: an exact string or a RegExp tested against the argument. */
export type ArgMatcher = string | RegExp;

/** What a scripted command answers. Omitted fields default to '' and exit code 0. */
export interface FakeResult {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
}

interface Rule {
  readonly pattern: readonly ArgMatcher[];
  readonly respond: (cmd: Command) => FakeResult;
  /** Remaining uses; Infinity for rules added with `on`. */
  remaining: number;
}

/**
 * A scripted CommandRunner for unit tests at the exec boundary.
 *
 * Rules match argv (`[file, ...args]`) by prefix, in the order they were added; a rule added
 * with `once` is used up after one match, so a sequence of answers to the same command is
 * scripted by adding several `once` rules. Exit codes outside `okExitCodes` throw a
 * CommandFailedError, exactly like ExecaRunner. A command no rule matches throws, so tests
 * never pass by accident on an unscripted call. Every call is recorded in `calls`.
 */
export class FakeRunner implements CommandRunner {
  readonly calls: Command[] = [];
  /** The AbortSignal passed with each call, same index as `calls`. */
  readonly signals: Array<AbortSignal | undefined> = [];
  readonly #rules: Rule[] = [];

  /** Answers every matching command with `result` (or what `result(cmd)` returns). */
  on(pattern: readonly ArgMatcher[], result: FakeResult | ((cmd: Command) => FakeResult)): this {
    return this.#add(pattern, result, Number.POSITIVE_INFINITY);
  }

  /** Answers the next matching command only. */
  once(pattern: readonly ArgMatcher[], result: FakeResult | ((cmd: Command) => FakeResult)): this {
    return this.#add(pattern, result, 1);
  }

  /** The argv of every call so far, `[file, ...args]`. */
  get argvs(): string[][] {
    return this.calls.map((cmd) => [cmd.file, ...cmd.args]);
  }

  /** The argv of the calls whose argv starts with `pattern`. */
  argvsMatching(pattern: readonly ArgMatcher[]): string[][] {
    return this.argvs.filter((argv) => matchesPrefix(argv, pattern));
  }

  async run(cmd: Command, signal?: AbortSignal): Promise<CommandResult> {
    this.calls.push(cmd);
    this.signals.push(signal);
    const argv = [cmd.file, ...cmd.args];
    if (signal?.aborted) {
      throw new CommandFailedError({ file: cmd.file, args: cmd.args, secrets: cmd.secrets, exitCode: undefined, stdout: '', stderr: '', reason: 'was cancelled' });
    }
    const rule = this.#rules.find((r) => r.remaining > 0 && matchesPrefix(argv, r.pattern));
    if (!rule) throw new Error(`FakeRunner: no scripted result for: ${JSON.stringify(argv)}`);
    rule.remaining -= 1;
    const result = rule.respond(cmd);
    const stdout = result.stdout ?? '';
    const stderr = result.stderr ?? '';
    const exitCode = result.exitCode ?? 0;
    if (!(cmd.okExitCodes ?? [0]).includes(exitCode)) {
      throw new CommandFailedError({ file: cmd.file, args: cmd.args, secrets: cmd.secrets, exitCode, stdout, stderr });
    }
    return { stdout, stderr, exitCode };
  }

  #add(pattern: readonly ArgMatcher[], result: FakeResult | ((cmd: Command) => FakeResult), uses: number): this {
    const respond = typeof result === 'function' ? result : () => result;
    this.#rules.push({ pattern, respond, remaining: uses });
    return this;
  }
}

function matchesPrefix(argv: readonly string[], pattern: readonly ArgMatcher[]): boolean {
  if (pattern.length > argv.length) return false;
  return pattern.every((m, i) => {
    const arg = argv[i]!;
    return typeof m === 'string' ? arg === m : m.test(arg);
  });
}
