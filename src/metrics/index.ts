/**
 * Prometheus metrics (issue 6, observability). The composition root makes one registry per
 * process and hands each part what it records:
 *   const metrics = createProcessMetrics();
 *   createControllerHandlers(..., metrics.calls.forService('csi.v1.Controller'))   // via adaptUnary
 *   registerStorageNodeGauges(metrics.registry, storageNodes)                      // controller
 *   new AgentMetrics(metrics.registry, source).recordReconcile(report)             // agent
 *   await serveMetrics({ registry: metrics.registry, host, port, log })            // GET /metrics
 */
import type { Registry } from 'prom-client';
import { CallMetrics } from './CallMetrics.ts';
import { createMetricsRegistry } from './createMetricsRegistry.ts';

export { AgentMetrics } from './AgentMetrics.ts';
export type { AgentGaugeSource } from './AgentMetrics.ts';
export { CALL_DURATION_BUCKETS, CallMetrics } from './CallMetrics.ts';
export { createMetricsRegistry } from './createMetricsRegistry.ts';
export { serveMetrics } from './serveMetrics.ts';
export type { RunningMetricsServer } from './serveMetrics.ts';
export { registerStorageNodeGauges } from './storageNodeGauges.ts';
export { TlsExpiryMetrics } from './TlsExpiryMetrics.ts';
export type { TlsExpirySource } from './TlsExpiryMetrics.ts';
export type { StorageNodesView } from './storageNodeGauges.ts';

/** The process's registry and the call metrics every role's services report to. */
export interface ProcessMetrics {
  readonly registry: Registry;
  readonly calls: CallMetrics;
}

export function createProcessMetrics(opts: { readonly processMetrics?: boolean } = {}): ProcessMetrics {
  const registry = createMetricsRegistry(opts);
  return { registry, calls: new CallMetrics(registry) };
}
