import type { StorageNodeLoad } from './types.ts';

/**
 * The placement policy's tunables, in one place.
 *
 * LATENCY_SATURATION_MS: the load score adds two figures, each 0..1, so they weigh the same.
 * Utilization alone misleads on SSDs and RAID sets: a device with many queues reads 100% busy
 * while it still has plenty of headroom, and a slow shared disk can read half busy while each
 * I/O already waits. Latency catches what utilization misses. 50 ms is past what any healthy
 * disk takes for one request (an HDD seek is about 10 ms, an SSD under 1 ms), so at 50 ms and
 * above a node counts as fully slow; the cap keeps one pathological latency from outweighing
 * everything else.
 *
 * LOAD_TOLERANCE: scores within this distance of the best count as equal. The agent's figures
 * are smoothed samples, so 0.31 against 0.33 is noise, not a reason to pile every new volume on
 * one node; inside the band the zone preference, then free space, then the name decide.
 */
export const LATENCY_SATURATION_MS = 50;
export const LOAD_TOLERANCE = 0.05;

/** Absorbs float rounding, so 0.35 − 0.30 still counts as inside a 0.05 band. */
const SCORE_EPSILON = 1e-9;

/**
 * utilization + min(1, averageLatencyMs / LATENCY_SATURATION_MS): 0 (idle) to 2 (saturated and
 * slow). A figure that is not a finite number counts as the worst, so a broken report never
 * attracts volumes; utilization is clamped to 0..1 (sampling can overshoot slightly).
 */
export function computeLoadScore(load: StorageNodeLoad): number {
  const utilization = Number.isFinite(load.utilization) ? Math.min(1, Math.max(0, load.utilization)) : 1;
  const latency = Number.isFinite(load.averageLatencyMs) ? Math.min(1, Math.max(0, load.averageLatencyMs) / LATENCY_SATURATION_MS) : 1;
  return utilization + latency;
}

/** Whether a score is close enough to the best to count as equally loaded. */
export function isWithinLoadTolerance(score: number, bestScore: number): boolean {
  return score - bestScore <= LOAD_TOLERANCE + SCORE_EPSILON;
}
