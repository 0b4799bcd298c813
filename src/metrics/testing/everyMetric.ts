import type { Metric, Registry } from 'prom-client';
import { AgentMetrics } from '../AgentMetrics.ts';
import { CallMetrics } from '../CallMetrics.ts';
import { createMetricsRegistry } from '../createMetricsRegistry.ts';
import { registerStorageNodeGauges } from '../storageNodeGauges.ts';
import { TlsExpiryMetrics } from '../TlsExpiryMetrics.ts';

/** One metric the driver registers: what an alert or a dashboard may refer to. */
export interface MetricDescription {
  readonly name: string;
  readonly type: string;
  readonly labelNames: readonly string[];
  readonly help: string;
}

/**
 * Every vbs_csi_* metric any role registers (controller, agent, node plugin), from the same
 * classes the roles use, over empty sources: the catalogue the naming test, docs/metrics.md and
 * the chart's PrometheusRule test check against, so a rename in code breaks them.
 */
export async function everyDriverMetric(): Promise<MetricDescription[]> {
  const registry: Registry = createMetricsRegistry({ processMetrics: false });
  new CallMetrics(registry);
  new TlsExpiryMetrics(registry);
  registerStorageNodeGauges(registry, { candidates: () => [], status: () => undefined });
  new AgentMetrics(registry, {
    nodeName: 'catalogue',
    ready: () => false,
    load: () => ({ read_iops: 0, write_iops: 0, read_bytes_per_second: 0, write_bytes_per_second: 0, utilization: 0, average_latency_ms: 0, window_seconds: 0, devices: [] }),
    lastStatus: () => undefined,
  });
  const out: MetricDescription[] = [];
  for (const object of registry.getMetricsAsArray()) {
    const metric = object as unknown as Metric;
    const got = await metric.get();
    const labelNames = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    out.push({ name: got.name, type: String(got.type), labelNames: [...labelNames], help: got.help });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The series names a metric exposes: histograms add _bucket, _sum and _count (what PromQL
 * refers to), every other type its own name.
 */
export function seriesNames(m: MetricDescription): string[] {
  return m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name];
}
