import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ReconcileReport } from '../agent/types.ts';
import type { IoLoad__Output } from '../generated/vbs/agent/v1/IoLoad.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import { nodeGauge } from './nodeGauge.ts';

/** What the agent's gauges read; nothing here runs lvm at scrape time. */
export interface AgentGaugeSource {
  readonly nodeName: string;
  /** The first reconcile has finished (the agent takes volume calls). */
  ready(): boolean;
  /** The I/O load the sampler keeps (in memory). */
  load(): IoLoad__Output;
  /** The last status the agent answered to GetNodeStatus (the controller polls it), if any yet. */
  lastStatus(): NodeStatus__Output | undefined;
}

/**
 * The storage agent's own metrics: how its reconcile passes end and what they change, plus its
 * readiness, load and capacity. Capacity comes from the last GetNodeStatus answer rather than a
 * fresh lvm report per scrape: lvm reports queue behind lvcreates, and a scrape must stay fast.
 */
export class AgentMetrics {
  readonly #runs: Counter<'result'>;
  readonly #changes: Counter<'kind'>;

  constructor(registry: Registry, source: AgentGaugeSource) {
    this.#runs = new Counter({
      name: 'vbs_csi_agent_reconcile_runs_total',
      help: 'Reconcile passes of LIO against the LV tags: ok, partial (some objects failed, retried next pass) or error (the pass stopped)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.#changes = new Counter({
      name: 'vbs_csi_agent_reconcile_changes_total',
      help: 'Objects reconcile repaired (exports rebuilt), removed (targets of gone volumes) or failed to repair',
      labelNames: ['kind'],
      registers: [registry],
    });
    const node = source.nodeName;
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      nodeGauge(registry, name, help, () => {
        const value = read();
        return value === undefined ? [] : [[node, value] as const];
      });
    // Named as https://prometheus.io/docs/practices/naming/ asks (docs/metrics.md lists them all).
    gauge('vbs_csi_agent_ready', '1 once the first reconcile has finished and the agent takes volume calls, else 0', () => (source.ready() ? 1 : 0));
    gauge('vbs_csi_agent_disk_utilization_ratio', 'Smoothed busy fraction (0..1) of the busiest disk under the volume group', () => source.load().utilization);
    gauge('vbs_csi_agent_disk_latency_seconds', 'Smoothed average I/O latency in seconds of the disks under the volume group', () => source.load().average_latency_ms / 1000);
    const pool = () => source.lastStatus()?.thin_pool ?? undefined;
    gauge('vbs_csi_agent_thin_allocatable_bytes', 'Bytes the thin pool may still promise, as in the last status report', () => pool()?.allocatable_bytes);
    gauge('vbs_csi_agent_thin_pool_data_used_ratio', 'Fraction (0..1) of the thin pool\'s data space in use, as in the last status report', () => ratio(pool()?.data_percent));
    gauge('vbs_csi_agent_thin_pool_metadata_used_ratio', 'Fraction (0..1) of the thin pool\'s metadata space in use, as in the last status report', () => ratio(pool()?.metadata_percent));
    gauge('vbs_csi_agent_vg_free_bytes', 'Unallocated bytes in the volume group, as in the last status report', () => source.lastStatus()?.volume_group?.free_bytes);
    gauge('vbs_csi_agent_volumes', 'CSI volumes on this storage node, as in the last status report', () => source.lastStatus()?.volume_count);
  }

  /** One reconcile pass: its report, or 'error' when the pass itself threw. */
  recordReconcile(outcome: ReconcileReport | 'error'): void {
    if (outcome === 'error') {
      this.#runs.inc({ result: 'error' });
      return;
    }
    this.#runs.inc({ result: outcome.failed.length > 0 ? 'partial' : 'ok' });
    for (const [kind, objects] of [['repaired', outcome.repaired], ['removed', outcome.removed], ['failed', outcome.failed]] as const) {
      if (objects.length > 0) this.#changes.inc({ kind }, objects.length);
    }
  }
}

/** lvm reports percent (0..100); Prometheus asks for ratios (0..1). */
function ratio(percent: number | undefined): number | undefined {
  return percent === undefined ? undefined : percent / 100;
}
