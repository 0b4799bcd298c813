import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IoLoad__Output } from '../generated/vbs/agent/v1/IoLoad.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import { AgentMetrics } from './AgentMetrics.ts';
import { createMetricsRegistry } from './createMetricsRegistry.ts';

const LOAD: IoLoad__Output = {
  read_iops: 10, write_iops: 20, read_bytes_per_second: 0, write_bytes_per_second: 0, utilization: 0.4, average_latency_ms: 3.5, window_seconds: 10, devices: [],
};

function setup() {
  const registry = createMetricsRegistry({ processMetrics: false });
  const state = { ready: false, status: undefined as NodeStatus__Output | undefined };
  const metrics = new AgentMetrics(registry, { nodeName: 'store-a', ready: () => state.ready, load: () => LOAD, lastStatus: () => state.status });
  const lines = async (prefix: string) => (await registry.metrics()).split('\n').filter((l) => l.startsWith(prefix));
  return { metrics, state, lines };
}

describe('AgentMetrics', () => {
  test('counts reconcile passes by result and what they changed by kind', async () => {
    const { metrics, lines } = setup();
    metrics.recordReconcile({ repaired: [], removed: [], failed: [] });
    metrics.recordReconcile({ repaired: ['store-a/pvc-1', 'store-a/pvc-2'], removed: ['iqn.x:gone'], failed: [] });
    metrics.recordReconcile({ repaired: [], removed: [], failed: [{ object: 'store-a/pvc-3', error: 'configfs busy' }] });
    metrics.recordReconcile('error');
    assert.deepEqual((await lines('vbs_csi_agent_reconcile_runs_total{')).sort(), [
      'vbs_csi_agent_reconcile_runs_total{result="error"} 1',
      'vbs_csi_agent_reconcile_runs_total{result="ok"} 2',
      'vbs_csi_agent_reconcile_runs_total{result="partial"} 1',
    ]);
    assert.deepEqual((await lines('vbs_csi_agent_reconcile_changes_total{')).sort(), [
      'vbs_csi_agent_reconcile_changes_total{kind="failed"} 1',
      'vbs_csi_agent_reconcile_changes_total{kind="removed"} 1',
      'vbs_csi_agent_reconcile_changes_total{kind="repaired"} 2',
    ]);
  });

  test('gauges show readiness and load at once, and capacity once a status has been reported', async () => {
    const { state, lines } = setup();
    assert.deepEqual(await lines('vbs_csi_agent_ready{'), ['vbs_csi_agent_ready{node="store-a"} 0']);
    assert.deepEqual(await lines('vbs_csi_agent_disk_utilization_ratio{'), ['vbs_csi_agent_disk_utilization_ratio{node="store-a"} 0.4']);
    assert.deepEqual(await lines('vbs_csi_agent_disk_latency_seconds{'), ['vbs_csi_agent_disk_latency_seconds{node="store-a"} 0.0035'], 'milliseconds from the sampler, seconds in the metric');
    assert.deepEqual(await lines('vbs_csi_agent_volumes{'), [], 'no capacity before the first status');
    assert.deepEqual(await lines('vbs_csi_agent_thin_pool_data_used_ratio{'), [], 'no fill before the first status');

    state.ready = true;
    state.status = {
      node_name: 'store-a', ready: true, labels: {}, portal: null, io_load: LOAD, volume_count: 3, snapshot_count: 1,
      volume_group: { name: 'vg1', size_bytes: 10_000, free_bytes: 4_000, extent_size_bytes: 4 },
      thin_pool: { name: 'vg1/pool', size_bytes: 5_000, data_percent: 10, metadata_percent: 5, provisioned_bytes: 2_000, allocatable_bytes: 20_000, health: 'ok' },
    } as NodeStatus__Output;
    assert.deepEqual(await lines('vbs_csi_agent_ready{'), ['vbs_csi_agent_ready{node="store-a"} 1']);
    assert.deepEqual(await lines('vbs_csi_agent_volumes{'), ['vbs_csi_agent_volumes{node="store-a"} 3']);
    assert.deepEqual(await lines('vbs_csi_agent_vg_free_bytes{'), ['vbs_csi_agent_vg_free_bytes{node="store-a"} 4000']);
    assert.deepEqual(await lines('vbs_csi_agent_thin_allocatable_bytes{'), ['vbs_csi_agent_thin_allocatable_bytes{node="store-a"} 20000']);
    assert.deepEqual(await lines('vbs_csi_agent_thin_pool_data_used_ratio{'), ['vbs_csi_agent_thin_pool_data_used_ratio{node="store-a"} 0.1'], 'percent from lvm, ratio in the metric');
    assert.deepEqual(await lines('vbs_csi_agent_thin_pool_metadata_used_ratio{'), ['vbs_csi_agent_thin_pool_metadata_used_ratio{node="store-a"} 0.05']);
  });
});
