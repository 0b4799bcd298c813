import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Where the storage agents are: a function returning their gRPC addresses (host:port), called on every status poll. */
export type AgentDiscovery = (signal?: AbortSignal) => Promise<string[]>;

/** A fixed list from the configuration. */
export function staticAgents(addresses: readonly string[]): AgentDiscovery {
  const list = [...addresses];
  return async () => list;
}

/**
 * Every address a DNS name resolves to, e.g. the agents' headless Service
 * (`vbs-csi-agent.vbs-system.svc`): one A/AAAA record per ready agent pod, so agents that join or
 * leave are seen at the next poll. A failed lookup throws; the caller keeps the agents it knew.
 */
export function dnsAgents(host: string, port: number, resolve: typeof lookup = lookup): AgentDiscovery {
  return async () => {
    const records = await resolve(host, { all: true, verbatim: true });
    return [...new Set(records.map((r) => (isIP(r.address) === 6 ? `[${r.address}]:${port}` : `${r.address}:${port}`)))].sort();
  };
}
