/**
 * `npm run bench` (issue 7): boots the test-bed VM, runs the bench scenarios in it (each times the
 * driver and, side by side in the same run, its raw baseline), then prints one table of figures
 * and ratios and writes it all as JSON to bench/results/latest.json (git-ignored). The placement
 * simulation (bench/placementSimulation.ts, pure, no VM) runs too and is appended.
 *
 *   VBS_BENCH_ONLY=<substring[|substring…]>   run only the matching bench scenarios
 *   VBS_BENCH_OUT=<file>                      JSON elsewhere than bench/results/latest.json
 * VBS_E2E_ACCEL and VBS_E2E_CONSOLE work as for `npm run e2e`. Only one VM at a time on a small
 * host: `flock /tmp/vbs-vm.lock npm run bench`.
 *
 * Exit code 0 when every selected scenario ran to its end (a missed target is a finding, not a
 * failure), 1 otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { selectScenarios } from '../e2e/scenarios/selectScenarios.ts';
import { TestBed } from '../e2e/vm/TestBed.ts';
import { parseE2eSettings } from '../e2e/vm/settings.ts';
import { parseBenchRecords } from './lib/benchRecord.ts';
import { evaluateComparison } from './lib/comparison.ts';
import type { Comparison } from './lib/comparison.ts';
import { formatComparisonTable } from './lib/formatTable.ts';
import { scenarios } from './scenarios/index.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
const REGISTRY = 'bench/scenarios/index.ts';
const BOOT_ALLOWANCE_MS = 15 * 60_000;

const selected = selectScenarios(scenarios, process.env['VBS_BENCH_ONLY'] || undefined);
if (selected.length === 0) {
  console.error(`VBS_BENCH_ONLY=${process.env['VBS_BENCH_ONLY']} matches no bench scenario; they are:\n  ${scenarios.map((s) => s.name).join('\n  ')}`);
  process.exit(2);
}
const outFile = path.resolve(process.env['VBS_BENCH_OUT'] || path.join(PROJECT_ROOT, 'bench', 'results', 'latest.json'));
const settings = { ...parseE2eSettings(process.env), only: selected.map((s) => s.name).join('|') };
const deadlineMs = Date.now() + BOOT_ALLOWANCE_MS + selected.reduce((sum, s) => sum + s.timeoutMs, 0);
const startedAt = new Date();

console.log(`vbs-csi bench: booting the test-bed VM for ${selected.length} bench scenario(s) (software emulation; about ${Math.round((deadlineMs - Date.now()) / 60_000)} min at most)...`);
const bed = await TestBed.start({ projectRoot: PROJECT_ROOT, settings, deadlineMs, registry: REGISTRY });
console.log(`vbs-csi bench: VM up (${bed.boot.accel}, kernel ${bed.boot.kernelVersion}) in ${(bed.boot.toRunnerMs / 1000).toFixed(0)} s`);

const comparisons: Comparison[] = [];
const runs: { name: string; ok: boolean; durationMs: number; error?: string }[] = [];
try {
  for (const scenario of selected) {
    try {
      const result = await bed.waitForResult(scenario.name, deadlineMs);
      const found = parseBenchRecords(result.log);
      comparisons.push(...found);
      runs.push({ name: scenario.name, ok: result.ok, durationMs: result.durationMs, ...(result.error !== undefined ? { error: result.error } : {}) });
      if (result.ok) console.log(`vbs-csi bench: done in ${(result.durationMs / 1000).toFixed(0)} s, ${found.length} comparison(s): ${scenario.name}`);
      else console.log(bed.describeFailure(`bench scenario failed after ${result.durationMs} ms: ${scenario.name}`, result));
    } catch (err: unknown) {
      runs.push({ name: scenario.name, ok: false, durationMs: 0, error: err instanceof Error ? err.message : String(err) });
      console.log(bed.describeFailure(`no result for ${scenario.name}: ${err instanceof Error ? err.message : String(err)}`));
      break; // the guest is gone or past its deadline: later results will not come either
    }
  }
} finally {
  await bed.stop();
}

const placement = await execa(process.execPath, [path.join(PROJECT_ROOT, 'bench', 'placementSimulation.ts'), '--json'], { reject: false, timeout: 300_000 });
const placementTable = await execa(process.execPath, [path.join(PROJECT_ROOT, 'bench', 'placementSimulation.ts')], { reject: false, timeout: 300_000 });

const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; guest: qemu ${bed.boot.accel}, kernel ${bed.boot.kernelVersion}`;
console.log(`\nvbs-csi bench, ${startedAt.toISOString()}, ${machine}`);
console.log('ratio = subject p50 / baseline p50, both measured in this run, side by side\n');
console.log(comparisons.length > 0 ? formatComparisonTable(comparisons) : '(no comparison was recorded)');
console.log(`\n${placementTable.exitCode === 0 ? placementTable.stdout : `placement simulation failed: ${placementTable.stderr}`}`);

mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      startedAt: startedAt.toISOString(),
      machine,
      accel: bed.boot.accel,
      scenarios: runs,
      comparisons: comparisons.map((c) => {
        const e = evaluateComparison(c);
        return { ...c, subjectSummary: e.subject, baselineSummary: e.baseline, ratio: e.ratio, meetsTarget: e.meetsTarget };
      }),
      placement: placement.exitCode === 0 ? JSON.parse(placement.stdout) : { error: placement.stderr },
    },
    null,
    2,
  )}\n`,
);
console.log(`\nvbs-csi bench: JSON written to ${path.relative(process.cwd(), outFile)}`);
process.exit(runs.length === selected.length && runs.every((r) => r.ok) ? 0 : 1);
