import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * A gauge labelled by storage node whose series are read at scrape time: collect() replaces them
 * with what `read` yields, so a node that is gone, or has nothing to report, has no series.
 */
export function nodeGauge(registry: Registry, name: string, help: string, read: () => Iterable<readonly [node: string, value: number]>): Gauge<'node'> {
  return new Gauge({
    name,
    help,
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [node, value] of read()) this.set({ node }, value);
    },
  });
}
