import { ResourceExhaustedError } from '../../src/errors.ts';
import { choosePlacement } from '../../src/placement/index.ts';
import type { SimulatedCluster } from './cluster.ts';
import type { SimVolume } from './workload.ts';

/** Picks a node for one volume from the cluster as it is now, or undefined when none will do. */
export interface PlacementPolicy {
  readonly name: string;
  choose(cluster: SimulatedCluster, volume: SimVolume, nowMs: number): string | undefined;
}

/**
 * The driver's own policy: choosePlacement over fresh statuses. Nothing is ever in flight here
 * (each status is taken after the previous placement), so the reserved bytes are 0 and
 * PlacementReservations would add nothing.
 */
export function ourPolicy(): PlacementPolicy {
  return {
    name: 'ours',
    choose(cluster, volume, nowMs) {
      try {
        return choosePlacement(cluster.candidates(nowMs), { sizeBytes: volume.sizeBytes, thin: true, requiredLabels: {} }, () => 0).node;
      } catch (err: unknown) {
        if (err instanceof ResourceExhaustedError) return undefined;
        throw err;
      }
    },
  };
}

/** The node with the most free bytes that fits; the first by name among equals. */
export function capacityOnlyPolicy(): PlacementPolicy {
  return {
    name: 'capacity-only',
    choose(cluster, volume) {
      let best: { name: string; free: number } | undefined;
      for (const { name } of cluster.nodes) {
        const free = cluster.freeBytes(name);
        if (free >= volume.sizeBytes && (best === undefined || free > best.free)) best = { name, free };
      }
      return best?.name;
    },
  };
}

/** Nodes in turn, skipping those without room; the turn moves past the node that took the volume. */
export function roundRobinPolicy(): PlacementPolicy {
  let next = 0;
  return {
    name: 'round-robin',
    choose(cluster, volume) {
      const nodes = cluster.nodes;
      for (let step = 0; step < nodes.length; step++) {
        const index = (next + step) % nodes.length;
        const node = nodes[index]!;
        if (cluster.hasRoom(node.name, volume.sizeBytes)) {
          next = (index + 1) % nodes.length;
          return node.name;
        }
      }
      return undefined;
    },
  };
}
