import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The suite's log directory: everything a log of the e2e run holds, kept as files so that the
 * secrets scan (e2e/scenarios/secretsScan.scenario.ts) can read all of it at the end.
 *
 *   <work root>/logs/<scenario dir>.scenario.log     the scenario's log (runScenario writes it)
 *   <work root>/logs/<scenario dir>-<name>-<n>.log   each process the scenario started, stdout and stderr
 *
 * <scenario dir> is the basename of the scenario's work directory (`<slug>-XXXXXX`, made by
 * runScenario directly under the work root), so every file says which scenario wrote it and a
 * scenario needs nothing but its `workDir` to find the directory.
 */
export function suiteLogDir(workRoot: string): string {
  return join(workRoot, 'logs');
}

/** The work root a scenario's work directory was made in. */
export function workRootOf(workDir: string): string {
  return dirname(workDir);
}

const SCENARIO_LOG_SUFFIX = '.scenario.log';
const SCENARIO_HEADER = '# vbs-e2e scenario: ';

/** Creates the scenario's log with a header naming it; returns its path, for appending lines. */
export function createScenarioLog(workDir: string, scenarioName: string): string {
  const path = join(suiteLogDir(workRootOf(workDir)), `${basename(workDir)}${SCENARIO_LOG_SUFFIX}`);
  const fd = openSync(path, 'wx', 0o644);
  writeSync(fd, `${SCENARIO_HEADER}${scenarioName}\n`);
  closeSync(fd);
  return path;
}

/** A new log file for one process of the scenario: `<scenario dir>-<name>-<n>.log`, n counting restarts from 1. */
function openProcessLog(workDir: string, name: string): { fd: number; path: string } {
  const dir = suiteLogDir(workRootOf(workDir));
  const stem = `${basename(workDir)}-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'process'}`;
  for (let n = 1; ; n++) {
    const path = join(dir, `${stem}-${n}.log`);
    try {
      return { fd: openSync(path, 'wx', 0o644), path };
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Tees a child's output (execa's `all`: stdout and stderr interleaved) into its own file in the
 * suite's log directory, written as it comes (a scenario that times out still leaves its
 * processes' output behind). Returns the file's path.
 */
export function persistOutput(workDir: string, name: string, output: NodeJS.ReadableStream | null | undefined): string {
  const { fd, path } = openProcessLog(workDir, name);
  let open = true;
  const close = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  if (!output) {
    close();
    return path;
  }
  output.on('data', (chunk: Buffer | string) => {
    if (!open) return;
    try {
      writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (err: unknown) {
      console.error(`vbs-e2e: cannot write ${path}: ${String(err)}`);
      close();
    }
  });
  output.once('end', close);
  output.once('close', close);
  return path;
}

/** Writes what a finished process printed (a CLI run) into its own file in the suite's log directory. */
export function writeProcessLog(workDir: string, name: string, text: string): string {
  const { fd, path } = openProcessLog(workDir, name);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return path;
}

export interface SuiteLogFile {
  readonly path: string;
  /** The scenario directory it belongs to (`<slug>-XXXXXX`). */
  readonly scenarioDir: string;
}

export interface SuiteLogs {
  /** One per scenario that started, with the name from its header. */
  readonly scenarios: readonly (SuiteLogFile & { readonly name: string })[];
  /** Every other file: the processes' output. */
  readonly processes: readonly SuiteLogFile[];
}

/** Pure: sorts the names in the log directory into scenario logs and process logs. */
export function classifyLogFiles(dir: string, names: readonly string[], readHeader: (path: string) => string): SuiteLogs {
  const scenarios: (SuiteLogFile & { name: string })[] = [];
  for (const file of names.filter((n) => n.endsWith(SCENARIO_LOG_SUFFIX)).sort()) {
    const path = join(dir, file);
    const header = readHeader(path);
    const name = header.startsWith(SCENARIO_HEADER) ? header.slice(SCENARIO_HEADER.length) : `(no header in ${file})`;
    scenarios.push({ path, scenarioDir: file.slice(0, -SCENARIO_LOG_SUFFIX.length), name });
  }
  const processes: SuiteLogFile[] = [];
  for (const file of names.filter((n) => !n.endsWith(SCENARIO_LOG_SUFFIX)).sort()) {
    const owner = scenarios.find((s) => file.startsWith(`${s.scenarioDir}-`));
    processes.push({ path: join(dir, file), scenarioDir: owner?.scenarioDir ?? '' });
  }
  return { scenarios, processes };
}

/** Every file of the suite's log directory, sorted into scenario and process logs (empty if there is none). */
export function listSuiteLogs(workRoot: string): SuiteLogs {
  const dir = suiteLogDir(workRoot);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { scenarios: [], processes: [] };
    throw err;
  }
  return classifyLogFiles(dir, names, (path) => readFileSync(path, 'utf8').split('\n', 1)[0] ?? '');
}
