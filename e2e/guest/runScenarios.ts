/**
 * Runs inside the guest (started by boot.sh): every selected scenario in registry order, each
 * against its own deadline, appending its verdict to <out>/results.jsonl as it goes.
 *
 *   node e2e/guest/runScenarios.ts --out /e2e-out [--only SUBSTRING]   (or env VBS_E2E_ONLY)
 *
 * The registry is e2e/scenarios/index.ts unless <out>/registry.txt names another module (a
 * project-relative path exporting `scenarios`): `npm run bench` runs bench/scenarios/index.ts so.
 *
 * Exits 0 whether scenarios pass or fail (the verdicts are in the file); non-zero only when the
 * runner itself breaks, which boot.sh reports as a fatal line.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GO_TOOLS_FILE_NAME, RESULTS_FILE_NAME, formatResultsLine } from '../resultsFile.ts';
import type { ResultsFileLine } from '../resultsFile.ts';
import type { Scenario } from '../scenarios/Scenario.ts';
import { scenarios as e2eScenarios } from '../scenarios/index.ts';
import { selectScenarios } from '../scenarios/selectScenarios.ts';
import { ledgerPath, SecretLedger, useSuiteLedger } from '../support/secretLedger.ts';
import { suiteLogDir } from '../support/suiteLogs.ts';
import { argvSamplesPath, startArgvSampler } from '../support/argvSampler.ts';
import { runScenario } from './runScenario.ts';
import { CLUSTER_FILE_NAME, parseClusterInfo } from '../cluster/clusterInfo.ts';
import { guestResourceReport, removeWorkDir } from './scenarioWorkDir.ts';

const WORK_ROOT = '/tmp/vbs-e2e';
const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' } } });
  if (values.out === undefined) throw new Error('usage: runScenarios.ts --out DIR [--only SUBSTRING]');
  const resultsPath = path.join(values.out, RESULTS_FILE_NAME);
  const append = (line: ResultsFileLine): void => appendFileSync(resultsPath, formatResultsLine(line));

  const scenarios = await loadRegistry(values.out);
  const goTools = loadGoTools(values.out);
  const clusterFile = path.join(values.out, CLUSTER_FILE_NAME);
  const cluster = existsSync(clusterFile) ? parseClusterInfo(readFileSync(clusterFile, 'utf8')) : undefined;
  const only = values.only ?? (process.env['VBS_E2E_ONLY'] || undefined);
  const selected = selectScenarios(scenarios, only);
  console.log(`vbs-e2e: runner: ${selected.length} of ${scenarios.length} scenarios selected${only ? ` by ${JSON.stringify(only)}` : ''}`);
  mkdirSync(suiteLogDir(WORK_ROOT), { recursive: true });
  // Every secret the scenarios make or see, for the secrets scan at the end (not in the log dir).
  const ledger = new SecretLedger(ledgerPath(WORK_ROOT));
  useSuiteLedger(ledger);
  // Every command line of the run, for the secrets scan: no secret may be in any argv.
  const sampler = startArgvSampler(PROJECT_ROOT, argvSamplesPath(WORK_ROOT));

  for (const scenario of selected) {
    append({ started: scenario.name });
    ledger.beginScenario(scenario.name);
    console.log(`vbs-e2e: scenario start: ${scenario.name} (${guestResourceReport(WORK_ROOT)})`);
    const { result, workDir } = await runScenario(scenario, { projectRoot: PROJECT_ROOT, workRoot: WORK_ROOT, echo: (line) => console.log(line), goTools, cluster });
    append(result);
    console.log(`vbs-e2e: scenario ${result.ok ? 'PASS' : 'FAIL'} (${result.durationMs} ms): ${scenario.name}`);
    if (result.ok) console.log(`vbs-e2e: ${removeWorkDir(workDir)}`);
  }
  sampler.stop();
  append({ done: true });
}

/** The e2e registry, or the one <out>/registry.txt names (see the header). */
async function loadRegistry(outDir: string): Promise<readonly Scenario[]> {
  const file = path.join(outDir, 'registry.txt');
  if (!existsSync(file)) return e2eScenarios;
  const relative = readFileSync(file, 'utf8').trim();
  if (!/^[a-z0-9_/-]+\.ts$/i.test(relative) || relative.split('/').includes('..')) throw new Error(`registry.txt must name a project-relative .ts module, got ${JSON.stringify(relative)}`);
  const module = (await import(path.join(PROJECT_ROOT, relative))) as { scenarios?: unknown };
  if (!Array.isArray(module.scenarios)) throw new Error(`${relative} exports no \`scenarios\` array`);
  console.log(`vbs-e2e: runner: scenario registry ${relative}`);
  return module.scenarios as Scenario[];
}

/** The Go tools the host built for this run (TestBed writes <out>/go-tools.json), or none. */
function loadGoTools(outDir: string): Readonly<Record<string, string>> {
  const file = path.join(outDir, GO_TOOLS_FILE_NAME);
  if (!existsSync(file)) return {};
  const tools = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (typeof tools !== 'object' || tools === null || Object.values(tools).some((p) => typeof p !== 'string' || !path.isAbsolute(p))) {
    throw new Error(`${file} must map tool names to absolute paths, got ${JSON.stringify(tools)}`);
  }
  return tools as Record<string, string>;
}

// A scenario left behind at its deadline may reject later; that must not end the whole run.
process.on('unhandledRejection', (reason: unknown) => {
  console.error('vbs-e2e: unhandled rejection (a scenario left something running):', reason);
});

try {
  await main();
  // A timed-out scenario may still hold handles (timers, child processes): do not wait for them.
  process.exit(0);
} catch (err: unknown) {
  console.error('vbs-e2e: runner crashed:', err);
  process.exit(1);
}
