import type { PlacementRequest, ReservedBytes, StorageNodeCandidate } from '../types.ts';

export const GiB = 1024 ** 3;

/** A reachable, ready, idle-ish storage node with 100 GiB of room, changed by `change`. */
export function node(name: string, change: Partial<StorageNodeCandidate> = {}): StorageNodeCandidate {
  return {
    name,
    reachable: true,
    ready: true,
    labels: {},
    zone: 'default',
    thinAllocatableBytes: 100 * GiB,
    thickFreeBytes: 100 * GiB,
    load: { utilization: 0.2, averageLatencyMs: 0 },
    statusTakenAtMs: 1000,
    ...change,
  };
}

/** A 10 GiB thin volume with no label or zone requirement, changed by `change`. */
export function request(change: Partial<PlacementRequest> = {}): PlacementRequest {
  return { sizeBytes: 10 * GiB, thin: true, requiredLabels: {}, ...change };
}

/** No bytes reserved anywhere. */
export const none: ReservedBytes = () => 0;
