import type { CsiApi } from '../grpc/csiServiceClients.ts';
import type { CliGlobals } from './parseCliArgs.ts';

/** Where the CLI prints: process.stdout/stderr, or collectors in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** What a command gets: the CSI clients (connected on first use), output, and progress. */
export interface CommandContext {
  readonly globals: CliGlobals;
  csi(): CsiApi;
  /** One result line (or table) on stdout. */
  print(text: string): void;
  /** The result as JSON on stdout (--json). */
  printJson(value: unknown): void;
  /** A progress line on stderr: "label ..." then "label: done in 1.2 s". */
  step<T>(label: string, run: () => Promise<T>): Promise<T>;
  /** A note on stderr. */
  note(text: string): void;
}

/** A failure the operator can act on, with the exit status it deserves (default 1). */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
