import { DEFAULT_SIZING, sizeCluster } from './cluster.ts';
import type { ClusterModel, ClusterSizing } from './cluster.ts';
import { compareWithBaseline } from './compare.ts';
import type { Comparison } from './compare.ts';
import { capacityOnlyPolicy, ourPolicy, roundRobinPolicy } from './policies.ts';
import { simulatePlacement } from './simulate.ts';
import type { PolicyOutcome } from './simulate.ts';
import { DEFAULT_WORKLOAD, generateWorkload } from './workload.ts';
import type { WorkloadOptions } from './workload.ts';

export interface PlacementBenchmark {
  readonly seed: number;
  readonly workload: Omit<WorkloadOptions, 'seed'>;
  readonly sizing: ClusterSizing;
  readonly model: ClusterModel;
  readonly totals: { readonly bytes: number; readonly iops: number; readonly largestVolumeIops: number };
  /**
   * No policy can get max/mean below this: the busiest single volume's load over the mean node
   * load (or 1). Context for the figures, not a target.
   */
  readonly maxOverMeanFloor: number;
  readonly outcomes: readonly PolicyOutcome[];
  readonly oursVsCapacityOnly: Comparison;
}

/** One run: the same workload and cluster for each policy, side by side. */
export function runPlacementBenchmark(seed: number, workload = DEFAULT_WORKLOAD, sizing = DEFAULT_SIZING): PlacementBenchmark {
  const volumes = generateWorkload({ seed, ...workload });
  const model = sizeCluster(volumes, sizing);
  const outcomes = [ourPolicy(), capacityOnlyPolicy(), roundRobinPolicy()].map((p) => simulatePlacement(volumes, model, p));
  const [ours, capacityOnly] = outcomes as [PolicyOutcome, PolicyOutcome, PolicyOutcome];
  const totalIops = volumes.reduce((s, v) => s + v.iops, 0);
  const largestVolumeIops = Math.max(...volumes.map((v) => v.iops));
  return {
    seed,
    workload,
    sizing,
    model,
    totals: { bytes: volumes.reduce((s, v) => s + v.sizeBytes, 0), iops: totalIops, largestVolumeIops },
    maxOverMeanFloor: Math.max(1, largestVolumeIops / (totalIops / model.nodeCount)),
    outcomes,
    oursVsCapacityOnly: compareWithBaseline(ours, capacityOnly),
  };
}
