import type { StorageNodeCandidate } from '../../src/placement/index.ts';
import type { SimVolume } from './workload.ts';

/**
 * The simulated storage nodes. The load model, kept deliberately simple:
 * - each node can serve `iopsCapacity` I/O operations per second;
 * - a placed volume adds its iops to its node at once and for good, so a node's offered load is
 *   ρ = Σ iops of its volumes / iopsCapacity (above 1 when over-committed);
 * - the agent reports utilization = min(1, ρ), as a device's busy-time fraction cannot pass 100 %;
 * - latency follows an M/M/1 queue: serviceTimeMs / (1 − ρ), with ρ capped at 0.99 (100 × the
 *   service time) so an over-committed node reports a large but finite figure.
 * The benchmark's "node load" is ρ, uncapped, so an overloaded node is not hidden by the cap.
 */
export interface ClusterModel {
  readonly nodeCount: number;
  /** What each node may still promise to thin volumes when empty (pool × over-provisioning ratio). */
  readonly capacityBytes: number;
  readonly iopsCapacity: number;
  readonly serviceTimeMs: number;
}

export interface ClusterSizing {
  readonly nodeCount: number;
  /** Fraction of the cluster's bytes the whole workload takes: how full the cluster ends up. */
  readonly targetFill: number;
  /** Mean offered load once every volume is placed. */
  readonly targetUtilization: number;
  readonly serviceTimeMs: number;
}

/** The default: ten equal nodes, 90 % full and 50 % busy on average at the end, 0.5 ms per I/O. */
export const DEFAULT_SIZING: ClusterSizing = { nodeCount: 10, targetFill: 0.9, targetUtilization: 0.5, serviceTimeMs: 0.5 };

/** Sizes equal nodes so that the whole workload reaches the target fill and mean load. */
export function sizeCluster(volumes: readonly SimVolume[], sizing: ClusterSizing): ClusterModel {
  const totalBytes = volumes.reduce((sum, v) => sum + v.sizeBytes, 0);
  const totalIops = volumes.reduce((sum, v) => sum + v.iops, 0);
  return {
    nodeCount: sizing.nodeCount,
    capacityBytes: Math.ceil(totalBytes / (sizing.nodeCount * sizing.targetFill)),
    iopsCapacity: totalIops / (sizing.nodeCount * sizing.targetUtilization),
    serviceTimeMs: sizing.serviceTimeMs,
  };
}

export interface NodeLoad {
  /** ρ: demanded I/O over what the node can serve; may exceed 1. */
  readonly offered: number;
  /** What the agent reports: min(1, ρ). */
  readonly utilization: number;
  readonly averageLatencyMs: number;
}

const MAX_QUEUE_RHO = 0.99;

/** The load model above, for one node serving `iops`. */
export function computeNodeLoad(iops: number, model: Pick<ClusterModel, 'iopsCapacity' | 'serviceTimeMs'>): NodeLoad {
  const offered = iops / model.iopsCapacity;
  return {
    offered,
    utilization: Math.min(1, offered),
    averageLatencyMs: model.serviceTimeMs / (1 - Math.min(offered, MAX_QUEUE_RHO)),
  };
}

export interface SimNode {
  readonly name: string;
  readonly provisionedBytes: number;
  readonly iops: number;
  readonly volumeCount: number;
}

/** Ten (or nodeCount) empty nodes named node-00…; place() is the only change. */
export class SimulatedCluster {
  readonly model: ClusterModel;
  readonly #nodes: Array<{ name: string; provisionedBytes: number; iops: number; volumeCount: number }>;

  constructor(model: ClusterModel) {
    this.model = model;
    this.#nodes = Array.from({ length: model.nodeCount }, (_, i) => ({ name: `node-${String(i).padStart(2, '0')}`, provisionedBytes: 0, iops: 0, volumeCount: 0 }));
  }

  get nodes(): readonly SimNode[] {
    return this.#nodes.map((n) => ({ ...n }));
  }

  freeBytes(node: string): number {
    return this.model.capacityBytes - this.#find(node).provisionedBytes;
  }

  hasRoom(node: string, sizeBytes: number): boolean {
    return this.freeBytes(node) >= sizeBytes;
  }

  loadOf(node: string): NodeLoad {
    return computeNodeLoad(this.#find(node).iops, this.model);
  }

  /** Puts the volume on the node; refuses (throws) when it does not fit, so no policy can overfill. */
  place(node: string, volume: SimVolume): void {
    const n = this.#find(node);
    if (!this.hasRoom(node, volume.sizeBytes)) throw new RangeError(`${volume.name} (${volume.sizeBytes} bytes) does not fit on ${node}`);
    n.provisionedBytes += volume.sizeBytes;
    n.iops += volume.iops;
    n.volumeCount += 1;
  }

  /** Every node's status as the controller would hold it right after a refresh. */
  candidates(statusTakenAtMs: number): StorageNodeCandidate[] {
    return this.#nodes.map((n) => {
      const load = this.loadOf(n.name);
      const free = this.freeBytes(n.name);
      return {
        name: n.name,
        reachable: true,
        ready: true,
        labels: {},
        zone: 'default',
        thinAllocatableBytes: free,
        thickFreeBytes: free,
        load: { utilization: load.utilization, averageLatencyMs: load.averageLatencyMs },
        statusTakenAtMs,
      };
    });
  }

  #find(node: string): { name: string; provisionedBytes: number; iops: number; volumeCount: number } {
    const n = this.#nodes.find((x) => x.name === node);
    if (!n) throw new RangeError(`no simulated node ${node}`);
    return n;
  }
}
