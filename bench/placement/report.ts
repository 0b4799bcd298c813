import { formatBytes } from '../../src/placement/index.ts';
import { TARGET_REDUCTION_PERCENT } from './compare.ts';
import type { PlacementBenchmark } from './runPlacementBenchmark.ts';
import type { SeedSpread } from './seedSpread.ts';

/** The human summary: setup, one row per policy, then the verdict against issue 7's target. */
export function formatPlacementReport(b: PlacementBenchmark, spread?: SeedSpread): string {
  const { model, sizing, workload, totals } = b;
  const rows = [
    ['policy', 'max load', 'mean load', 'max/mean', 'placed', 'failed'],
    ...b.outcomes.map((o) => [o.policy, o.maxLoad.toFixed(3), o.meanLoad.toFixed(3), o.maxOverMean.toFixed(3), String(o.placed), String(o.failed)]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const table = rows.map((r) => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  '));
  const c = b.oursVsCapacityOnly;
  const verdict = c.meetsTarget ? 'target met' : 'target NOT met';
  return [
    `placement simulation: ${model.nodeCount} nodes, ${workload.volumeCount} volumes, seed ${b.seed}`,
    `workload: sizes log-normal (median ${formatBytes(workload.sizeMedianBytes)}, sigma ${workload.sizeSigma}), ${formatBytes(totals.bytes)} in all; ` +
      `I/O Pareto (alpha ${workload.iopsAlpha}), ${totals.iops.toFixed(0)} IOPS in all, busiest volume ${totals.largestVolumeIops.toFixed(0)} IOPS`,
    `cluster: ${formatBytes(model.capacityBytes)} and ${model.iopsCapacity.toFixed(0)} IOPS per node (${sizing.targetFill * 100} % full, ` +
      `${sizing.targetUtilization * 100} % mean load when all is placed); node load = offered IOPS / node IOPS; floor of max/mean ${b.maxOverMeanFloor.toFixed(3)}`,
    '',
    ...table,
    '',
    `ours vs capacity-only: max/mean ratio ${c.maxOverMeanRatio.toFixed(3)} (${c.reductionPercent.toFixed(1)} % lower; target >= ${TARGET_REDUCTION_PERCENT} %), ` +
      `extra failures ${c.extraFailures}: ${verdict}`,
    ...(spread === undefined ? [] : [formatSpread(spread)]),
  ].join('\n');
}

function formatSpread(s: SeedSpread): string {
  const first = s.seeds[0]!;
  const last = s.seeds[s.seeds.length - 1]!;
  return (
    `over ${s.seeds.length} seeds (${first}..${last}): ratio median ${s.medianRatio.toFixed(3)}, min ${s.minRatio.toFixed(3)}, max ${s.maxRatio.toFixed(3)}; ` +
    `target met in ${s.seedsMeetingTarget} of ${s.seeds.length}; ours failed more than capacity-only in ${s.seedsWithExtraFailures}`
  );
}

/** The machine-readable result: everything in the report, per-node figures included. */
export function placementReportJson(b: PlacementBenchmark, spread?: SeedSpread): object {
  return {
    benchmark: 'placement-simulation',
    seed: b.seed,
    workload: b.workload,
    sizing: b.sizing,
    model: b.model,
    totals: b.totals,
    maxOverMeanFloor: b.maxOverMeanFloor,
    policies: b.outcomes.map((o) => ({
      policy: o.policy,
      maxLoad: o.maxLoad,
      meanLoad: o.meanLoad,
      maxOverMean: o.maxOverMean,
      placed: o.placed,
      failed: o.failed,
      failedVolumes: o.failedVolumes,
      nodes: o.nodes,
    })),
    oursVsCapacityOnly: b.oursVsCapacityOnly,
    ...(spread === undefined ? {} : { seedSpread: spread }),
  };
}
