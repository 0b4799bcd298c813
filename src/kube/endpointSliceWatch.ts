import type { Informer, ObjectCache, V1EndpointSlice } from '@kubernetes/client-node';
import { describeKubeError, kubeStatusOf } from './kubeClient.ts';
import type { KubeClient } from './kubeClient.ts';

/** The label the EndpointSlice controller puts on every slice of a Service (Kubernetes docs: "EndpointSlices"). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One address of a Service's pod, as its EndpointSlices list it. */
export interface ServiceEndpoint {
  /** host:port to dial ([v6]:port for IPv6). */
  readonly address: string;
  /** The Kubernetes node the pod runs on. */
  readonly node: string | undefined;
  /** The pod, `namespace/name`. */
  readonly pod: string | undefined;
  /** The pod's readiness; an absent condition means ready (the API's own rule). */
  readonly ready: boolean;
  /** Being deleted (rolling update, drain). */
  readonly terminating: boolean;
}

/**
 * Every endpoint of the slices, pure: IPv4 and IPv6 slices only (FQDN slices are not pods), the
 * port named `port` (a name) or `port` itself (a number). Not-ready endpoints are kept: they are
 * why the slices are read instead of the Service's DNS, which leaves them out.
 */
export function endpointsOf(slices: readonly V1EndpointSlice[], port: string | number): ServiceEndpoint[] {
  const out = new Map<string, ServiceEndpoint>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const number = typeof port === 'number' ? port : slice.ports?.find((p) => p.name === port)?.port;
    if (number === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      for (const ip of e.addresses) {
        const address = slice.addressType === 'IPv6' ? `[${ip}]:${number}` : `${ip}:${number}`;
        const ref = e.targetRef;
        out.set(address, {
          address,
          node: e.nodeName,
          pod: ref?.name === undefined ? undefined : `${ref.namespace ?? slice.metadata?.namespace ?? ''}/${ref.name}`,
          ready: e.conditions?.ready !== false,
          terminating: e.conditions?.terminating === true,
        });
      }
    }
  }
  return [...out.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

export interface ServiceEndpointsOptions {
  readonly namespace: string;
  readonly service: string;
  /** The Service port's name, or a port number. */
  readonly port: string | number;
  /** Called after every change the watch delivers, and after each (re)list. */
  readonly onChange?: () => void;
  /** Called when the watch stops on an error; it is restarted after `retryMs`. */
  readonly onError?: (message: string) => void;
  readonly retryMs?: number;
}

/**
 * The endpoints of one Service, kept current by a watch of its EndpointSlices (label
 * kubernetes.io/service-name) in one namespace. `current()` answers from the cache without an API
 * call; it throws until the first list succeeded, and while the watch is broken (the endpoints
 * then are the last known, which the caller keeps).
 */
export class ServiceEndpoints {
  readonly #opts: ServiceEndpointsOptions;
  readonly #informer: Informer<V1EndpointSlice> & ObjectCache<V1EndpointSlice>;
  readonly where: string;
  #synced = false;
  #listed = false;
  #error: string | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(kube: KubeClient, opts: ServiceEndpointsOptions) {
    this.#opts = opts;
    const labelSelector = `${SERVICE_NAME_LABEL}=${opts.service}`;
    this.where = `EndpointSlices of Service ${opts.namespace}/${opts.service} (${kube.source})`;
    this.#informer = kube.informer<V1EndpointSlice>(
      `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/endpointslices`,
      async () => {
        const list = await kube.discovery.listNamespacedEndpointSlice({ namespace: opts.namespace, labelSelector });
        // The informer fills its cache from this list once it returns: only then is it whole.
        this.#error = undefined;
        this.#listed = true;
        setImmediate(() => {
          this.#synced = true;
          this.#opts.onChange?.();
        });
        return list;
      },
      labelSelector,
    );
    const changed = () => {
      this.#error = undefined;
      this.#opts.onChange?.();
    };
    this.#informer.on('add', changed);
    this.#informer.on('update', changed);
    this.#informer.on('delete', changed);
    // Each (re)connection resumes from the last resourceVersion (or re-lists), so nothing is missed.
    this.#informer.on('connect', () => {
      this.#error = undefined;
    });
    this.#informer.on('error', (err: unknown) => {
      // A refused watch carries statusCode (client-node's Watch), a refused list an ApiException code.
      const watchStatus = typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;
      const code = kubeStatusOf(err) ?? watchStatus;
      const denied = code === 403 ? ' (grant list and watch on endpointslices.discovery.k8s.io in that namespace; the chart does)' : '';
      const what = watchStatus !== undefined ? `HTTP ${watchStatus} ${(err as Error).message}` : kubeStatusOf(err) !== undefined ? describeKubeError(err) : `connection lost: ${describeKubeError(err)}`;
      this.#error = `${what}${denied}`;
      this.#opts.onError?.(this.#error);
      if (this.#stopped) return;
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => void this.#start(), this.#opts.retryMs ?? 5_000).unref();
    });
  }

  /** Lists, then watches; resolves after the first list (or its failure, which is retried). */
  async start(): Promise<void> {
    await this.#start();
  }

  async #start(): Promise<void> {
    if (this.#stopped) return;
    await this.#informer.start().catch((err: unknown) => {
      this.#error = describeKubeError(err);
    });
    // start() returns once the watch is open, after the cache was filled from the list.
    if (this.#listed) this.#synced = true;
  }

  /** The endpoints now; throws before the first list and while the watch is broken. */
  current(): ServiceEndpoint[] {
    if (!this.#synced) throw new Error(`${this.where}: not listed yet${this.#error !== undefined ? `: ${this.#error}` : ''}`);
    if (this.#error !== undefined) throw new Error(`${this.where}: watch broken, retrying: ${this.#error}`);
    return endpointsOf(this.#informer.list(this.#opts.namespace), this.#opts.port);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#informer.stop();
  }
}
