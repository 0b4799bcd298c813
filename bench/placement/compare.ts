import type { PolicyOutcome } from './simulate.ts';

/** Issue 7's target: our max/mean at least 30 % below capacity-only's, with no extra failures. */
export const TARGET_REDUCTION_PERCENT = 30;

export interface Comparison {
  /** ours max/mean ÷ capacity-only max/mean. */
  readonly maxOverMeanRatio: number;
  /** (1 − ratio) × 100: how much lower ours is; negative when it is higher. */
  readonly reductionPercent: number;
  /** ours failed − capacity-only failed. */
  readonly extraFailures: number;
  readonly meetsTarget: boolean;
}

export function compareWithBaseline(ours: PolicyOutcome, baseline: PolicyOutcome): Comparison {
  const maxOverMeanRatio = ours.maxOverMean / baseline.maxOverMean;
  const reductionPercent = (1 - maxOverMeanRatio) * 100;
  const extraFailures = ours.failed - baseline.failed;
  return { maxOverMeanRatio, reductionPercent, extraFailures, meetsTarget: reductionPercent >= TARGET_REDUCTION_PERCENT && extraFailures <= 0 };
}
