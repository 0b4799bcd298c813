import { appendFileSync, writeFileSync } from 'node:fs';

export interface ConsoleLine {
  /** Milliseconds since the console was opened (≈ since qemu started). */
  readonly atMs: number;
  readonly text: string;
}

/**
 * The guest's serial console as it arrives: appended raw to a file (kept in the run directory
 * for post-mortems) and split into lines in memory for marker checks and failure reports.
 */
export class GuestConsole {
  readonly filePath: string;
  readonly #lines: ConsoleLine[] = [];
  readonly #openedMs = performance.now();
  readonly #echo: ((text: string) => void) | undefined;
  #partial = '';

  constructor(filePath: string, echo?: (text: string) => void) {
    this.filePath = filePath;
    this.#echo = echo;
    writeFileSync(filePath, '');
  }

  /** Adds raw output (qemu's stdout, or its stderr with a prefix). */
  write(chunk: string): void {
    appendFileSync(this.filePath, chunk);
    this.#echo?.(chunk);
    const pieces = (this.#partial + chunk).split('\n');
    this.#partial = pieces.pop() ?? '';
    const atMs = this.elapsedMs();
    for (const piece of pieces) this.#lines.push({ atMs, text: cleanLine(piece) });
  }

  /** Milliseconds since the console was opened. */
  elapsedMs(): number {
    return Math.round(performance.now() - this.#openedMs);
  }

  /** The first complete line that matches, if any. */
  find(pattern: RegExp): ConsoleLine | undefined {
    return this.#lines.find((line) => pattern.test(line.text));
  }

  /** Up to `count` lines from the first complete line that matches (empty when none does). */
  linesFrom(pattern: RegExp, count: number): string[] {
    const start = this.#lines.findIndex((line) => pattern.test(line.text));
    return start < 0 ? [] : this.#lines.slice(start, start + count).map((line) => line.text);
  }

  /** The last `count` lines, including a trailing partial one. */
  tail(count: number): string[] {
    const lines = this.#lines.slice(-count).map((line) => line.text);
    if (this.#partial !== '') lines.push(cleanLine(this.#partial));
    return lines.slice(-count);
  }
}

/**
 * Drops carriage returns and terminal control sequences: SeaBIOS clears the screen with escape
 * codes that end up on the same line as init's first marker.
 */
function cleanLine(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[c78]|\r/g, '');
}
