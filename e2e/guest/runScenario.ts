import { appendFileSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { createScenarioLog } from '../support/suiteLogs.ts';
import type { ClusterInfo } from '../cluster/clusterInfo.ts';
import type { ScenarioResultLine } from '../resultsFile.ts';
import type { Scenario, ScenarioContext } from '../scenarios/Scenario.ts';

export interface RunScenarioOptions {
  readonly projectRoot: string;
  /** Parent of the scenario's fresh work directory; its log goes to the suite's log dir there (e2e/support/suiteLogs.ts). */
  readonly workRoot: string;
  /** Where log lines also go as they happen (the guest console), besides the result. */
  readonly echo: (line: string) => void;
  /** name → path of the Go tools the host built (scripts/build-go-tools.ts); the guest sees them on the shared root */
  readonly goTools: Readonly<Record<string, string>>;
  readonly cluster: ClusterInfo | undefined;
}

/**
 * Runs one scenario, racing it against its deadline: a scenario that ignores its AbortSignal is
 * reported as timed out and left behind, rather than waited on forever. Its log lines, and at the
 * end its error, are also appended to its file in the suite's log dir as they come.
 */
export async function runScenario(scenario: Scenario, opts: RunScenarioOptions): Promise<{ result: ScenarioResultLine; workDir: string }> {
  const log: string[] = [];
  const startedMs = performance.now();
  const elapsed = (): string => `${((performance.now() - startedMs) / 1000).toFixed(3)}s`;
  const controller = new AbortController();
  const workDir = mkdtempSync(path.join(opts.workRoot, `${slug(scenario.name)}-`));
  const logFile = createScenarioLog(workDir, scenario.name);
  const ctx: ScenarioContext = {
    projectRoot: opts.projectRoot,
    workDir,
    signal: controller.signal,
    goTools: opts.goTools,
    cluster: opts.cluster,
    log(message: string): void {
      const line = `+${elapsed()} ${message}`;
      log.push(line);
      appendFileSync(logFile, `${line}\n`);
      opts.echo(`  [${slug(scenario.name)}] ${line}`);
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
    return { result: { name: scenario.name, ok: true, durationMs: Math.round(performance.now() - startedMs), log }, workDir };
  } catch (err: unknown) {
    const error = describeError(err);
    appendFileSync(logFile, `FAILED: ${error}\n`);
    return { result: { name: scenario.name, ok: false, durationMs: Math.round(performance.now() - startedMs), error, log }, workDir };
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

