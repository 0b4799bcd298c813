/**
 * The one channel from the guest back to the host: <out>/results.jsonl on the writable 9p share,
 * one JSON object per line, appended by the guest and polled by the host. The host never trusts
 * qemu's exit status (docs/test-bed.md).
 */

/** The guest runner is about to run this scenario. */
export interface StartedLine {
  readonly started: string;
}

/** A scenario finished (passed, failed or hit its deadline). */
export interface ScenarioResultLine {
  readonly name: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: string;
  readonly log: readonly string[];
}

/** The runner has run every selected scenario. */
export interface DoneLine {
  readonly done: true;
}

/** The guest could not get as far as running scenarios (written by boot.sh), or the runner crashed. */
export interface FatalLine {
  readonly fatal: string;
}

export type ResultsFileLine = StartedLine | ScenarioResultLine | DoneLine | FatalLine;

export const RESULTS_FILE_NAME = 'results.jsonl';
/** In the run directory beside the results: name → path of the Go tools the host built for the selected scenarios. */
export const GO_TOOLS_FILE_NAME = 'go-tools.json';

export function formatResultsLine(line: ResultsFileLine): string {
  return `${JSON.stringify(line)}\n`;
}

/**
 * Pure: file text → lines written so far. A last line without its newline is still being
 * written and is left for the next read; a line that is not one of ours is an error, because a
 * silently ignored verdict would look like a hang.
 */
export function parseResultsFile(text: string): ResultsFileLine[] {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(parseResultsLine);
}

function parseResultsLine(text: string): ResultsFileLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`results file has a line that is not JSON: ${text}`);
  }
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (typeof v['started'] === 'string') return { started: v['started'] };
    if (v['done'] === true) return { done: true };
    if (typeof v['fatal'] === 'string') return { fatal: v['fatal'] };
    if (typeof v['name'] === 'string' && typeof v['ok'] === 'boolean' && typeof v['durationMs'] === 'number') {
      const log = Array.isArray(v['log']) ? v['log'].map(String) : [];
      return {
        name: v['name'],
        ok: v['ok'],
        durationMs: v['durationMs'],
        log,
        ...(typeof v['error'] === 'string' ? { error: v['error'] } : {}),
      };
    }
  }
  throw new Error(`results file has a line of unknown shape: ${text}`);
}

export function isScenarioResult(line: ResultsFileLine): line is ScenarioResultLine {
  return 'name' in line;
}
