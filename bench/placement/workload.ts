import { createPrng, sampleLogNormal, samplePareto } from './prng.ts';

export const GiB = 1024 ** 3;

/** One volume of the simulated workload, in arrival order. */
export interface SimVolume {
  readonly name: string;
  readonly sizeBytes: number;
  /** The I/O the volume will do once placed, in I/O operations per second. */
  readonly iops: number;
}

export interface WorkloadOptions {
  readonly seed: number;
  readonly volumeCount: number;
  /** Sizes are log-normal: half the volumes are smaller than this. */
  readonly sizeMedianBytes: number;
  /** Log-normal shape: 1.0 puts about 1 volume in 6 above 2.7 × the median. */
  readonly sizeSigma: number;
  readonly minSizeBytes: number;
  readonly maxSizeBytes: number;
  /** Per-volume I/O is Pareto: no volume does less than this. */
  readonly iopsMinimum: number;
  /** Pareto tail index: 1.16 is the 80/20 rule (a fifth of the volumes do four fifths of the I/O). */
  readonly iopsAlpha: number;
}

/**
 * The default workload, chosen before any policy was run against it: sizes and I/O independent of
 * each other (a big volume is not necessarily a busy one), sizes as a PVC mix tends to look
 * (median 20 GiB, a tail to 1 TiB), I/O following the 80/20 rule.
 */
export const DEFAULT_WORKLOAD: Omit<WorkloadOptions, 'seed'> = {
  volumeCount: 1000,
  sizeMedianBytes: 20 * GiB,
  sizeSigma: 1.0,
  minSizeBytes: 1 * GiB,
  maxSizeBytes: 1024 * GiB,
  iopsMinimum: 10,
  iopsAlpha: 1.16,
};

/** The volumes, in arrival order; the same options always give the same list. */
export function generateWorkload(opts: WorkloadOptions): SimVolume[] {
  const prng = createPrng(opts.seed);
  const volumes: SimVolume[] = [];
  for (let i = 0; i < opts.volumeCount; i++) {
    const rawSize = sampleLogNormal(prng, opts.sizeMedianBytes, opts.sizeSigma);
    const sizeBytes = Math.min(opts.maxSizeBytes, Math.max(opts.minSizeBytes, Math.ceil(rawSize / GiB) * GiB));
    const iops = samplePareto(prng, opts.iopsMinimum, opts.iopsAlpha);
    volumes.push({ name: `pvc-${String(i).padStart(4, '0')}`, sizeBytes, iops });
  }
  return volumes;
}
