import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's one Registry (the composition root makes it and hands it on), with prom-client's
 * default process metrics (CPU, memory, event loop lag, handles) unless a test turns them off.
 * No global registry: two drivers in one test process never share counters.
 */
export function createMetricsRegistry(opts: { readonly processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
