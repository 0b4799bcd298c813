import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB, MiB, TestCluster } from '../../test/cluster/controllerHarness.ts';
import { createMetricsRegistry } from './createMetricsRegistry.ts';
import { registerStorageNodeGauges } from './storageNodeGauges.ts';

/** Every series of a gauge, as `node value`, sorted. */
async function series(registry: ReturnType<typeof createMetricsRegistry>, name: string): Promise<string[]> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  return (await metric.get()).values.map((v) => `${v.labels['node']} ${v.value}`).sort();
}

describe('storage node gauges', () => {
  const clusters: TestCluster[] = [];
  after(() => Promise.all(clusters.map((c) => c.destroy())));

  test('show each agent as the controller last saw it; one that stops answering keeps only up=0', async () => {
    const cluster = await TestCluster.create({
      agents: [
        { name: 'store-a', poolSizeBytes: 4 * GiB, vgFreeBytes: 2 * GiB, utilization: 0.25 },
        { name: 'store-b', poolSizeBytes: GiB, vgFreeBytes: GiB },
      ],
    });
    clusters.push(cluster);
    cluster.agent('store-a').load.averageLatencyMs = 7;
    await cluster.agent('store-a').volumes.createVolume({ name: 'pvc-1', sizeBytes: 64 * MiB, thick: false });
    Object.assign(cluster.agent('store-a').lvm.pool, { dataPercent: 42.5, metadataPercent: 12 });
    const registry = createMetricsRegistry({ processMetrics: false });
    registerStorageNodeGauges(registry, cluster.nodes);

    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_up'), [], 'nothing before the first poll');
    await cluster.nodes.refresh();
    const statusA = cluster.nodes.status('store-a');
    assert.ok(statusA);
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_up'), ['store-a 1', 'store-b 1']);
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_volumes'), ['store-a 1', 'store-b 0']);
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_disk_utilization_ratio'), ['store-a 0.25', 'store-b 0']);
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_disk_latency_seconds'), ['store-a 0.007', 'store-b 0'], 'milliseconds reported, seconds exposed');
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_thin_pool_healthy'), ['store-a 1', 'store-b 1']);
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_thin_pool_data_used_ratio'), ['store-a 0.425', 'store-b 0'], 'lvm reports percent, the metric is a ratio');
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_thin_pool_metadata_used_ratio'), ['store-a 0.12', 'store-b 0']);
    assert.deepEqual((await series(registry, 'vbs_csi_storage_node_vg_free_bytes'))[0], `store-a ${statusA.vgFreeBytes}`);
    const allocatable = await series(registry, 'vbs_csi_storage_node_thin_allocatable_bytes');
    assert.equal(allocatable[0], `store-a ${statusA.thinAllocatableBytes}`);
    assert.ok(statusA.thinAllocatableBytes > 0);

    cluster.agent('store-b').down = 'connection refused';
    await cluster.nodes.refresh();
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_up'), ['store-a 1', 'store-b 0']);
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_volumes'), ['store-a 1'], 'no stale figures for a node that did not answer');
    assert.deepEqual(await series(registry, 'vbs_csi_storage_node_thin_allocatable_bytes'), [`store-a ${statusA.thinAllocatableBytes}`]);
  });

  test('appear in the text exposition with their help', async () => {
    const cluster = await TestCluster.create({ agents: [{ name: 'store-c' }] });
    clusters.push(cluster);
    const registry = createMetricsRegistry({ processMetrics: false });
    registerStorageNodeGauges(registry, cluster.nodes);
    await cluster.nodes.refresh();
    const text = await registry.metrics();
    assert.match(text, /^# TYPE vbs_csi_storage_node_up gauge$/m);
    assert.match(text, /^vbs_csi_storage_node_up\{node="store-c"\} 1$/m);
    assert.match(text, /^vbs_csi_storage_node_volumes\{node="store-c"\} 0$/m);
  });
});
