/**
 * Placement simulation (issue 7): 10 storage nodes, 1000 volumes arriving one by one with skewed
 * sizes and I/O, placed by our policy, by capacity only and round-robin, on the same workload.
 * Pure and deterministic: runs on any host, no VM.
 *
 *   node bench/placementSimulation.ts [--seed N] [--spread COUNT] [--json]
 *
 * --seed picks the run the table shows; --spread (default 20, 0 = off) repeats the comparison over
 * that many consecutive seeds from it and reports the spread of the ratio. The model and its
 * assumptions are in bench/placement/cluster.ts and workload.ts.
 */
import { parseArgs } from 'node:util';
import { formatPlacementReport, placementReportJson } from './placement/report.ts';
import { runPlacementBenchmark } from './placement/runPlacementBenchmark.ts';
import { summarizeSeedSpread } from './placement/seedSpread.ts';

const DEFAULT_SEED = 20261107;
const DEFAULT_SPREAD = 20;

const { values } = parseArgs({ options: { seed: { type: 'string' }, spread: { type: 'string' }, json: { type: 'boolean', default: false } } });
const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
const spreadCount = values.spread === undefined ? DEFAULT_SPREAD : Number(values.spread);
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(spreadCount) || spreadCount < 0) {
  process.stderr.write(`--seed must be an integer and --spread a count >= 0, got ${values.seed ?? DEFAULT_SEED} and ${values.spread ?? DEFAULT_SPREAD}\n`);
  process.exit(2);
}
const result = runPlacementBenchmark(seed);
const spread = spreadCount > 0 ? summarizeSeedSpread(seed, spreadCount) : undefined;
process.stdout.write(values.json ? `${JSON.stringify(placementReportJson(result, spread), null, 2)}\n` : `${formatPlacementReport(result, spread)}\n`);
