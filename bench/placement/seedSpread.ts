import { runPlacementBenchmark } from './runPlacementBenchmark.ts';

export interface SeedSpread {
  readonly seeds: readonly number[];
  /** ours ÷ capacity-only max/mean, per seed, in seed order. */
  readonly ratios: readonly number[];
  readonly medianRatio: number;
  readonly minRatio: number;
  readonly maxRatio: number;
  /** Seeds where ours failed more placements than capacity-only. */
  readonly seedsWithExtraFailures: number;
  readonly seedsMeetingTarget: number;
}

/**
 * The same benchmark over `count` consecutive seeds from `firstSeed`. With I/O this heavy-tailed one
 * seed can hold a single volume busier than a whole node, which then decides max/mean for every
 * policy; the spread shows how much one run's ratio owes to its seed.
 */
export function summarizeSeedSpread(firstSeed: number, count: number): SeedSpread {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const seeds = Array.from({ length: count }, (_, i) => firstSeed + i);
  const comparisons = seeds.map((seed) => runPlacementBenchmark(seed).oursVsCapacityOnly);
  const ratios = comparisons.map((c) => c.maxOverMeanRatio);
  const sorted = [...ratios].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return {
    seeds,
    ratios,
    medianRatio: sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    minRatio: sorted[0]!,
    maxRatio: sorted[sorted.length - 1]!,
    seedsWithExtraFailures: comparisons.filter((c) => c.extraFailures > 0).length,
    seedsMeetingTarget: comparisons.filter((c) => c.meetsTarget).length,
  };
}
