/**
 * Pure: order statistics of a series of measurements. Percentiles interpolate linearly between
 * the two nearest ranks (the usual "type 7" definition), so the 50th percentile of an even count
 * is the mean of the middle two, and the 99th of 15 samples lies between the two largest.
 */
export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('a percentile of no samples is undefined');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`a percentile is between 0 and 100, got ${p}`);
  for (const s of samples) if (!Number.isFinite(s)) throw new RangeError(`samples must be finite numbers, got ${s}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (rank - lower);
}

export function summarize(samples: readonly number[]): Summary {
  return {
    count: samples.length,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    min: Math.min(...samples),
    max: Math.max(...samples),
    mean: samples.reduce((sum, s) => sum + s, 0) / samples.length,
  };
}
