import { summarize } from './percentile.ts';
import type { Summary } from './percentile.ts';

/** One measured thing: what ran and every sample it gave (ms, IOPS or MiB/s). */
export interface Series {
  readonly name: string;
  readonly samples: readonly number[];
}

/**
 * The ratio subject/baseline (of their medians) must stay at or below `bound` (`max`, for
 * latencies) or at or above it (`min`, for throughput).
 */
export interface RatioTarget {
  readonly kind: 'max' | 'min';
  readonly bound: number;
}

/**
 * One line of the benchmark table: a subject (usually the driver) and the baseline it is judged
 * against, both measured in the same VM run, side by side (software emulation makes absolute
 * figures meaningless; only such ratios are).
 */
export interface Comparison {
  /** What is measured, e.g. "CreateVolume 32 MiB thin". */
  readonly measure: string;
  readonly unit: 'ms' | 'IOPS' | 'MiB/s';
  readonly subject: Series;
  readonly baseline: Series;
  readonly target?: RatioTarget;
  /** A caveat printed under the table (how the baseline was taken, why a target cannot be met here). */
  readonly note?: string;
}

export interface EvaluatedComparison {
  readonly comparison: Comparison;
  readonly subject: Summary;
  readonly baseline: Summary;
  /** subject p50 / baseline p50. */
  readonly ratio: number;
  /** undefined when the comparison has no target. */
  readonly meetsTarget: boolean | undefined;
}

/** Pure: the summaries, the ratio of medians and the verdict against the target. */
export function evaluateComparison(comparison: Comparison): EvaluatedComparison {
  const subject = summarize(comparison.subject.samples);
  const baseline = summarize(comparison.baseline.samples);
  if (baseline.p50 <= 0) throw new RangeError(`the baseline "${comparison.baseline.name}" of "${comparison.measure}" has a median of ${baseline.p50}; no ratio can be taken`);
  const ratio = subject.p50 / baseline.p50;
  const target = comparison.target;
  const meetsTarget = target === undefined ? undefined : target.kind === 'max' ? ratio <= target.bound : ratio >= target.bound;
  return { comparison, subject, baseline, ratio, meetsTarget };
}
