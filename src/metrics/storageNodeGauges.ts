import type { Registry } from 'prom-client';
import type { StorageNodes } from '../controller/StorageNodes.ts';
import type { StorageNodeStatus } from '../agentApi/types.ts';
import { nodeGauge } from './nodeGauge.ts';

/** What the gauges read: the controller's last view of its agents, never a poll of its own. */
export type StorageNodesView = Pick<StorageNodes, 'candidates' | 'status'>;

type Figure = (s: StorageNodeStatus) => number | undefined;

/**
 * Named as https://prometheus.io/docs/practices/naming/ asks: base units (bytes, seconds),
 * fractions as `_ratio` (0..1), counts of things in the plural. docs/metrics.md lists them all.
 */
const FIGURES: readonly (readonly [name: string, help: string, figure: Figure])[] = [
  ['vbs_csi_storage_node_thin_allocatable_bytes', 'Bytes the thin pool may still promise (over-provisioning ratio and fill limits applied), as last reported', (s) => s.thinAllocatableBytes],
  ['vbs_csi_storage_node_thin_pool_data_used_ratio', 'Fraction (0..1) of the thin pool\'s data space in use, as last reported', (s) => s.thinPoolDataUsedRatio],
  ['vbs_csi_storage_node_thin_pool_metadata_used_ratio', 'Fraction (0..1) of the thin pool\'s metadata space in use, as last reported (a full metadata device turns the pool read-only)', (s) => s.thinPoolMetadataUsedRatio],
  ['vbs_csi_storage_node_thin_pool_healthy', '1 when the thin pool is active, healthy in lvm\'s view and under its data and metadata limits (it takes new thin volumes), else 0, as last reported', (s) => (s.thinPoolHealth === 'ok' ? 1 : 0)],
  ['vbs_csi_storage_node_vg_free_bytes', 'Unallocated bytes in the volume group (room for thick volumes), as last reported', (s) => s.vgFreeBytes],
  ['vbs_csi_storage_node_disk_utilization_ratio', 'Smoothed busy fraction (0..1) of the busiest disk under the volume group, as last reported', (s) => s.utilization],
  ['vbs_csi_storage_node_disk_latency_seconds', 'Smoothed average I/O latency in seconds of the disks under the volume group, as last reported', (s) => s.averageLatencyMs / 1000],
  ['vbs_csi_storage_node_volumes', 'CSI volumes on the storage node, as last reported', (s) => s.volumeCount],
];

/**
 * Storage node gauges from the controller's view (StorageNodes keeps each agent's last status):
 * read at scrape time by collect(), so polling stays as it is. `up` has a series for every
 * discovered agent; the figures only for agents whose last poll answered (an unreachable node's
 * old figures would look current).
 */
export function registerStorageNodeGauges(registry: Registry, nodes: StorageNodesView): void {
  nodeGauge(registry, 'vbs_csi_storage_node_up', '1 when the storage agent answered its last status poll and is ready (placement may use it), else 0', () =>
    nodes.candidates().map((c) => [c.name, c.reachable && c.ready ? 1 : 0] as const),
  );
  for (const [name, help, figure] of FIGURES) {
    nodeGauge(registry, name, help, () =>
      nodes.candidates().flatMap((c) => {
        const status = nodes.status(c.name);
        const value = status ? figure(status) : undefined;
        return value === undefined ? [] : [[c.name, value] as const];
      }),
    );
  }
}
