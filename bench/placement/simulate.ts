import { SimulatedCluster } from './cluster.ts';
import type { ClusterModel } from './cluster.ts';
import type { PlacementPolicy } from './policies.ts';
import type { SimVolume } from './workload.ts';

export interface NodeOutcome {
  readonly name: string;
  readonly volumeCount: number;
  readonly provisionedBytes: number;
  /** Offered load ρ (see cluster.ts). */
  readonly load: number;
}

export interface PolicyOutcome {
  readonly policy: string;
  readonly placed: number;
  readonly failed: number;
  /** Names of the volumes no node took, in arrival order. */
  readonly failedVolumes: readonly string[];
  readonly nodes: readonly NodeOutcome[];
  readonly maxLoad: number;
  readonly meanLoad: number;
  /** maxLoad / meanLoad: 1 is perfectly even. */
  readonly maxOverMean: number;
}

/** Time between arrivals on the simulated clock (only statusTakenAtMs sees it). */
const ARRIVAL_INTERVAL_MS = 1_000;

/**
 * Offers the volumes one by one, in order, to `policy` over an empty cluster; the statuses the
 * policy sees are refreshed after every placement. Every volume ends up placed or failed.
 */
export function simulatePlacement(volumes: readonly SimVolume[], model: ClusterModel, policy: PlacementPolicy): PolicyOutcome {
  const cluster = new SimulatedCluster(model);
  const failedVolumes: string[] = [];
  volumes.forEach((volume, i) => {
    const node = policy.choose(cluster, volume, i * ARRIVAL_INTERVAL_MS);
    if (node === undefined) failedVolumes.push(volume.name);
    else cluster.place(node, volume);
  });
  const nodes = cluster.nodes.map((n) => ({ name: n.name, volumeCount: n.volumeCount, provisionedBytes: n.provisionedBytes, load: cluster.loadOf(n.name).offered }));
  const maxLoad = Math.max(...nodes.map((n) => n.load));
  const meanLoad = nodes.reduce((sum, n) => sum + n.load, 0) / nodes.length;
  return {
    policy: policy.name,
    placed: volumes.length - failedVolumes.length,
    failed: failedVolumes.length,
    failedVolumes,
    nodes,
    maxLoad,
    meanLoad,
    maxOverMean: meanLoad > 0 ? maxLoad / meanLoad : 1,
  };
}
