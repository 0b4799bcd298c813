import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ServiceEndpoints } from '../kube/endpointSliceWatch.ts';

/** An agent as discovery knows it: where to call it, and where Kubernetes knows more, its pod. */
export interface DiscoveredAgent {
  /** host:port of its gRPC API. */
  readonly address: string;
  /** The Kubernetes node its pod runs on (EndpointSlices know it; DNS does not). */
  readonly kubeNode?: string | undefined;
  /** The pod, namespace/name. */
  readonly pod?: string | undefined;
  /** False for a pod Kubernetes reports not ready (still starting, restoring exports, failing its probe). */
  readonly ready?: boolean | undefined;
}

/**
 * Where the storage agents are: a function returning them (addresses, or what the EndpointSlices
 * tell), called on every status poll. A throw means "cannot tell now": the caller keeps what it knew.
 */
export type AgentDiscovery = (signal?: AbortSignal) => Promise<readonly (string | DiscoveredAgent)[]>;

/** The one shape StorageNodes works with. */
export function discoveredAgent(item: string | DiscoveredAgent): DiscoveredAgent {
  return typeof item === 'string' ? { address: item } : item;
}

/** A fixed list from the configuration. */
export function staticAgents(addresses: readonly string[]): () => Promise<string[]> {
  const list = [...addresses];
  return async () => list;
}

/**
 * Every address a DNS name resolves to, e.g. the agents' headless Service
 * (`vbs-csi-agent.vbs-system.svc`): one A/AAAA record per ready agent pod, so agents that join or
 * leave are seen at the next poll. A failed lookup throws; the caller keeps the agents it knew.
 */
export function dnsAgents(host: string, port: number, resolve: typeof lookup = lookup): () => Promise<string[]> {
  return async () => {
    const records = await resolve(host, { all: true, verbatim: true });
    return [...new Set(records.map((r) => (isIP(r.address) === 6 ? `[${r.address}]:${port}` : `${r.address}:${port}`)))].sort();
  };
}

/**
 * The agents' headless Service's EndpointSlices, watched (src/kube/endpointSliceWatch.ts): every
 * agent pod with its node and readiness, not-ready ones included. The headless Service's DNS
 * leaves a not-ready pod out, so an agent restoring its exports after a restart looked gone; here
 * it stays known, and its volumes answer UNAVAILABLE naming its pod until it is ready. A
 * terminating pod counts as not ready.
 */
export function endpointSliceAgents(endpoints: Pick<ServiceEndpoints, 'current'>): AgentDiscovery {
  return async () => endpoints.current().map((e) => ({ address: e.address, kubeNode: e.node, pod: e.pod, ready: e.ready && !e.terminating }));
}
