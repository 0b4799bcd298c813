import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { CallObserver } from '../grpc/adaptUnary.ts';

/** Storage calls range from a Probe (milliseconds) to a create queued behind lvcreates (minutes). */
export const CALL_DURATION_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

type CallLabel = 'service' | 'method' | 'code';

/**
 * Every gRPC call the process serves, counted and timed by service, method and gRPC code name.
 * adaptUnary reports to the observer of each service (forService), so the figures and the
 * "call done" log line always agree.
 */
export class CallMetrics {
  readonly #total: Counter<CallLabel>;
  readonly #duration: Histogram<CallLabel>;

  constructor(registry: Registry) {
    this.#total = new Counter({
      name: 'vbs_csi_operations_total',
      help: 'gRPC calls served, by service, method and gRPC code (OK, NOT_FOUND, ...)',
      labelNames: ['service', 'method', 'code'],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: 'vbs_csi_operation_duration_seconds',
      help: 'Time from a gRPC call arriving to its answer, by service, method and gRPC code',
      labelNames: ['service', 'method', 'code'],
      buckets: [...CALL_DURATION_BUCKETS],
      registers: [registry],
    });
  }

  /** The observer to hand a service's handlers, e.g. forService('csi.v1.Controller'). */
  forService(service: string): CallObserver {
    return {
      observe: (method, code, seconds) => {
        const labels = { service, method, code };
        this.#total.inc(labels);
        this.#duration.observe(labels, seconds);
      },
    };
  }
}
