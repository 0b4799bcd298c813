import type { Logger } from 'pino';
import { NotFoundError, UnavailableError } from '../errors.ts';
import type { StorageNodeCandidate } from '../placement/index.ts';
import type { AgentDiscovery } from './agentDiscovery.ts';
import type { StorageAgent, StorageNodeStatus } from './StorageAgent.ts';
import { DEFAULT_ZONE } from '../csi/nodeIds.ts';
import { MAX_STORAGE_NODE_NAME, isStorageNodeName } from '../csi/volumeIds.ts';

interface AgentEntry {
  readonly address: string;
  readonly agent: StorageAgent;
  /** The node name this address last reported; kept when a later poll fails, so its volumes still route. */
  name: string | undefined;
  status: StorageNodeStatus | undefined;
  statusTakenAtMs: number;
  error: string | undefined;
  /** When it stopped answering, or was first discovered if it never answered; undefined while it answers. */
  silentSinceMs: number | undefined;
}

export interface StorageNodesOptions {
  readonly discover: AgentDiscovery;
  readonly connect: (address: string) => StorageAgent;
  readonly log: Logger;
  readonly now?: () => number;
  /** How long one status poll of one agent may take before it counts as slow. */
  readonly statusTimeoutMs?: number;
  /**
   * How old a status may grow while the agent is only slow (its polls time out) before the agent
   * counts as unreachable. An agent's status runs lvm reports, which queue behind its own lvcreates
   * during a burst; dropping a busy node from placement for that would send the rest of the burst
   * elsewhere for no reason. A refused or failed call counts at once.
   */
  readonly slowStatusGraceMs?: number;
}

class StatusTimeoutError extends UnavailableError {}

/**
 * The controller's live view of the storage agents: who they are (discovery), how to call each
 * (one gRPC channel per address) and their last status (capacity, load). Volume ids name a
 * storage node, so routing needs the node-name → agent map learnt from the agents' own status.
 * An agent that does not answer is kept out of placement but never forgotten while it is still
 * discovered: its volumes must not be declared gone because a poll timed out.
 */
export class StorageNodes {
  readonly #opts: StorageNodesOptions;
  readonly #entries = new Map<string, AgentEntry>();
  readonly #now: () => number;
  #refreshing: Promise<void> | undefined;
  #lastRefreshMs = Number.NEGATIVE_INFINITY;
  #discoveryError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: StorageNodesOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Polls every agent now; concurrent callers share one poll. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#poll().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Polls unless the last poll started less than maxAgeMs ago. */
  async ensureFresh(maxAgeMs: number): Promise<void> {
    if (this.#now() - this.#lastRefreshMs > maxAgeMs) await this.refresh();
  }

  /** Polls on an interval until stop(). */
  start(intervalMs: number): void {
    const tick = () => {
      void this.refresh().finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, intervalMs).unref();
      });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const e of this.#entries.values()) e.agent.close();
    this.#entries.clear();
  }

  /** Every discovered agent as a placement candidate; unreachable ones carry the reason. */
  candidates(): StorageNodeCandidate[] {
    return [...this.#entries.values()].map((e) => {
      const s = e.status;
      const labels = s?.labels ?? {};
      return {
        name: e.name ?? e.address,
        reachable: s !== undefined && e.error === undefined,
        ready: s?.ready ?? false,
        ...(e.error !== undefined ? { unreachableReason: e.error } : {}),
        labels,
        zone: labels['zone'] ?? DEFAULT_ZONE,
        thinAllocatableBytes: s?.thinAllocatableBytes ?? 0,
        thickFreeBytes: s?.vgFreeBytes ?? 0,
        load: { utilization: s?.utilization ?? 0, averageLatencyMs: s?.averageLatencyMs ?? 0 },
        statusTakenAtMs: e.statusTakenAtMs,
      };
    });
  }

  /** The last status of a node, if it answered the last poll. */
  status(name: string): StorageNodeStatus | undefined {
    const e = [...this.#entries.values()].find((x) => x.name === name);
    return e?.error === undefined ? e?.status : undefined;
  }

  /**
   * The agent of a storage node. NotFoundError only when every discovered agent answered and none
   * is that node (the id names a node that does not exist); UnavailableError when some agent
   * could not be asked, since the node may be that one.
   */
  async agentOf(name: string): Promise<StorageAgent> {
    let entry = this.#byName(name);
    if (!entry) {
      await this.refresh();
      entry = this.#byName(name);
    }
    if (entry) return entry.agent;
    const silent = this.unreachable();
    if (silent.length > 0 || this.#discoveryError !== undefined) {
      throw new UnavailableError(
        `storage node ${name} is not known right now, and it may be one of the agents that did not answer (${[...silent, ...(this.#discoveryError ? [`discovery: ${this.#discoveryError}`] : [])].join('; ')}); retry later`,
      );
    }
    throw new NotFoundError(`storage node ${name} is not one of this cluster's storage agents`);
  }

  /** Every agent that answered the last poll, by node name. */
  reachable(): { readonly name: string; readonly agent: StorageAgent }[] {
    return [...this.#entries.values()].filter((e) => e.error === undefined && e.name !== undefined).map((e) => ({ name: e.name as string, agent: e.agent }));
  }

  /**
   * Agents silent (never answered, or failing) for less than `withinMs`: a crash and restart, not
   * yet a lost node. One of them may hold an object whose name the others do not know.
   */
  recentlySilent(withinMs: number): string[] {
    const now = this.#now();
    return [...this.#entries.values()]
      .filter((e) => e.silentSinceMs !== undefined && now - e.silentSinceMs < withinMs)
      .map((e) => `${e.name ?? e.address} (silent for ${Math.round((now - (e.silentSinceMs ?? now)) / 1000)} s)`);
  }

  /** Agents that did not answer the last poll, with the reason. */
  unreachable(): string[] {
    return [...this.#entries.values()].filter((e) => e.error !== undefined).map((e) => `${e.name ?? e.address} (${e.address}): ${e.error}`);
  }

  #byName(name: string): AgentEntry | undefined {
    const found = [...this.#entries.values()].filter((e) => e.name === name);
    if (found.length > 1) throw new UnavailableError(`agents at ${found.map((e) => e.address).join(' and ')} both call themselves ${name}; fix their --storage-node-name`);
    return found[0];
  }

  async #poll(): Promise<void> {
    const startedMs = this.#now();
    let addresses: string[];
    try {
      addresses = await this.#opts.discover();
      this.#discoveryError = undefined;
    } catch (err: unknown) {
      this.#discoveryError = (err as Error).message;
      this.#opts.log.warn({ err: this.#discoveryError }, 'agent discovery failed; keeping the agents known so far');
      addresses = [...this.#entries.keys()];
    }
    // A poll that outlived stop() must not open channels nobody will close.
    if (this.#stopped) return;
    for (const [address, e] of this.#entries) {
      if (!addresses.includes(address)) {
        e.agent.close();
        this.#entries.delete(address);
        this.#opts.log.info({ address, node: e.name }, 'storage agent no longer discovered');
      }
    }
    await Promise.all(
      addresses.map(async (address) => {
        let e = this.#entries.get(address);
        if (!e) {
          e = { address, agent: this.#opts.connect(address), name: undefined, status: undefined, statusTakenAtMs: 0, error: undefined, silentSinceMs: this.#now() };
          this.#entries.set(address, e);
        }
        const entry = e;
        const takenAtMs = this.#now();
        try {
          const status = await withTimeout(entry.agent.getNodeStatus(), this.#opts.statusTimeoutMs ?? 20_000, `no status from ${address}`);
          // Its volume ids would not parse back: created volumes could never be found again.
          if (!isStorageNodeName(status.name)) throw new Error(`it calls itself ${JSON.stringify(status.name)}, which is not a lowercase DNS name of at most ${MAX_STORAGE_NODE_NAME} characters`);
          if (entry.error !== undefined || entry.name !== status.name) this.#opts.log.info({ address, node: status.name, ready: status.ready }, 'storage agent answered');
          entry.name = status.name;
          entry.status = status;
          entry.statusTakenAtMs = takenAtMs;
          entry.error = undefined;
          entry.silentSinceMs = undefined;
        } catch (err: unknown) {
          const reason = (err as Error).message;
          const ageMs = this.#now() - entry.statusTakenAtMs;
          if (err instanceof StatusTimeoutError && entry.error === undefined && entry.status !== undefined && ageMs <= (this.#opts.slowStatusGraceMs ?? 60_000)) {
            // Keeps the older statusTakenAtMs, so reservations made since are still counted.
            this.#opts.log.debug({ address, node: entry.name, statusAgeMs: Math.round(ageMs) }, 'storage agent slow to report status; keeping its last status');
            return;
          }
          if (entry.error === undefined) this.#opts.log.warn({ address, node: entry.name, err: reason }, 'storage agent unreachable; excluded from placement');
          entry.error = reason;
          entry.silentSinceMs ??= this.#now();
        }
      }),
    );
    const names = new Map<string, string>();
    for (const e of this.#entries.values()) {
      if (e.name === undefined) continue;
      const other = names.get(e.name);
      if (other !== undefined) {
        // Two agents claiming one name would route a volume to the wrong VG: refuse both.
        const reason = `agents at ${other} and ${e.address} both call themselves ${e.name}`;
        e.error = reason;
        const first = this.#entries.get(other);
        if (first) first.error = reason;
        this.#opts.log.error({ node: e.name, addresses: [other, e.address] }, 'duplicate storage node name; both excluded');
      } else names.set(e.name, e.address);
    }
    this.#lastRefreshMs = startedMs;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StatusTimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
