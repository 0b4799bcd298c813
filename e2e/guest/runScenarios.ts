/**
 * Runs inside the guest (started by boot.sh): every selected scenario in registry order, each
 * against its own deadline, appending its verdict to <out>/results.jsonl as it goes.
 *
 *   node e2e/guest/runScenarios.ts --out /e2e-out [--only SUBSTRING]   (or env VBS_E2E_ONLY)
 *
 * Exits 0 whether scenarios pass or fail (the verdicts are in the file); non-zero only when the
 * runner itself breaks, which boot.sh reports as a fatal line.
 */
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RESULTS_FILE_NAME, formatResultsLine } from '../resultsFile.ts';
import type { ResultsFileLine, ScenarioResultLine } from '../resultsFile.ts';
import type { Scenario } from '../scenarios/Scenario.ts';
import { scenarios } from '../scenarios/index.ts';
import { selectScenarios } from '../scenarios/selectScenarios.ts';

const WORK_ROOT = '/tmp/vbs-e2e';
const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' } } });
  if (values.out === undefined) throw new Error('usage: runScenarios.ts --out DIR [--only SUBSTRING]');
  const resultsPath = path.join(values.out, RESULTS_FILE_NAME);
  const append = (line: ResultsFileLine): void => appendFileSync(resultsPath, formatResultsLine(line));

  const only = values.only ?? (process.env['VBS_E2E_ONLY'] || undefined);
  const selected = selectScenarios(scenarios, only);
  console.log(`vbs-e2e: runner: ${selected.length} of ${scenarios.length} scenarios selected${only ? ` by ${JSON.stringify(only)}` : ''}`);
  mkdirSync(WORK_ROOT, { recursive: true });

  for (const scenario of selected) {
    append({ started: scenario.name });
    console.log(`vbs-e2e: scenario start: ${scenario.name}`);
    const result = await runOne(scenario);
    append(result);
    console.log(`vbs-e2e: scenario ${result.ok ? 'PASS' : 'FAIL'} (${result.durationMs} ms): ${scenario.name}`);
  }
  append({ done: true });
}

/**
 * Runs one scenario, racing it against its deadline: a scenario that ignores its AbortSignal is
 * reported as timed out and left behind, rather than waited on forever.
 */
async function runOne(scenario: Scenario): Promise<ScenarioResultLine> {
  const log: string[] = [];
  const startedMs = performance.now();
  const elapsed = (): string => `${((performance.now() - startedMs) / 1000).toFixed(3)}s`;
  const controller = new AbortController();
  const ctx = {
    projectRoot: PROJECT_ROOT,
    workDir: mkdtempSync(path.join(WORK_ROOT, `${slug(scenario.name)}-`)),
    signal: controller.signal,
    log(message: string): void {
      const line = `+${elapsed()} ${message}`;
      log.push(line);
      console.log(`  [${slug(scenario.name)}] ${line}`);
    },
  };

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`scenario timed out after ${scenario.timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, scenario.timeoutMs);
  });
  try {
    await Promise.race([scenario.run(ctx), deadline]);
    return { name: scenario.name, ok: true, durationMs: Math.round(performance.now() - startedMs), log };
  } catch (err: unknown) {
    return { name: scenario.name, ok: false, durationMs: Math.round(performance.now() - startedMs), error: describeError(err), log };
  } finally {
    clearTimeout(timer);
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const text = err.stack ?? `${err.name}: ${err.message}`;
  return err.cause === undefined ? text : `${text}\ncaused by: ${describeError(err.cause)}`;
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
}

try {
  await main();
  // A timed-out scenario may still hold handles (timers, child processes): do not wait for them.
  process.exit(0);
} catch (err: unknown) {
  console.error('vbs-e2e: runner crashed:', err);
  process.exit(1);
}
