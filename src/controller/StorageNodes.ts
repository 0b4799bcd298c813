import type { Logger } from 'pino';
import { NotFoundError, UnavailableError } from '../errors.ts';
import type { StorageNodeCandidate } from '../placement/index.ts';
import { discoveredAgent } from './agentDiscovery.ts';
import type { AgentDiscovery, DiscoveredAgent } from './agentDiscovery.ts';
import type { RemovedStorageNode, RemovedStorageNodes } from './removedStorageNodes/RemovedStorageNodes.ts';
import type { OperatorEvents } from './operatorEvents.ts';
import type { StorageAgent, StorageNodeStatus } from '../agentApi/types.ts';
import { DEFAULT_ZONE } from '../csi/nodeIds.ts';
import { MAX_STORAGE_NODE_NAME, isStorageNodeName } from '../csi/volumeIds.ts';

interface AgentEntry {
  readonly address: string;
  /** What the last discovery said of it (its pod, node and readiness, when EndpointSlices tell). */
  discovered: DiscoveredAgent;
  readonly agent: StorageAgent;
  /** The node name this address last reported; kept when a later poll fails, so its volumes still route. */
  name: string | undefined;
  status: StorageNodeStatus | undefined;
  statusTakenAtMs: number;
  error: string | undefined;
  /** When it stopped answering, or was first discovered if it never answered; undefined while it answers. */
  silentSinceMs: number | undefined;
}

/** A node name that answered since this controller started, kept when its agent leaves discovery. */
interface KnownNode {
  address: string;
  /** When it was first seen not answering since it last did; undefined while it answers. */
  silentSinceMs: number | undefined;
  lastAnsweredMs: number;
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
  /**
   * The operators' record of storage nodes removed for good (`vbs-csi nodes remove`), read at every
   * poll. Without it no node is ever removed: a silent node's objects stay UNAVAILABLE.
   */
  readonly removed?: RemovedStorageNodes;
  /** Told after every poll of each node not answering and each thin pool over its limit (Kubernetes Events). */
  readonly events?: OperatorEvents;
}

class StatusTimeoutError extends UnavailableError {}

/**
 * The controller's live view of the storage agents: who they are (discovery), how to call each
 * (one gRPC channel per address) and their last status (capacity, load). Volume ids name a
 * storage node, so routing needs the node-name → agent map learnt from the agents' own status.
 *
 * A storage node that does not answer, for whatever reason (a poll timed out, its agent left
 * discovery as a not-ready pod leaves its headless Service, it never answered since this
 * controller started, two agents claim its name), is UNAVAILABLE for every call: it may come back
 * with its volumes and their ACLs, so nothing on it may be reported deleted or fenced. Only a node
 * an operator declared removed (`removed`) is NOT_FOUND (docs/storage-node-removal.md).
 */
export class StorageNodes {
  readonly #opts: StorageNodesOptions;
  readonly #entries = new Map<string, AgentEntry>();
  readonly #known = new Map<string, KnownNode>();
  #removed = new Map<string, RemovedStorageNode>();
  /** Why the last read of the removed record failed; the nodes read before it still count. */
  #removedError: string | undefined;
  /** Removed nodes that answer, logged once each time one starts answering. */
  #removedAnswering = new Set<string>();
  readonly #afterPoll: (() => void)[] = [];
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

  /** Calls `listener` after every poll (the controller prunes its placement reservations there). */
  afterPoll(listener: () => void): void {
    this.#afterPoll.push(listener);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const e of this.#entries.values()) e.agent.close();
    this.#entries.clear();
  }

  /**
   * Every discovered agent as a placement candidate; unreachable ones carry the reason. A node
   * declared removed is never placed on, even when it answers.
   */
  candidates(): StorageNodeCandidate[] {
    return [...this.#entries.values()].map((e) => {
      const s = e.status;
      const labels = s?.labels ?? {};
      const removed = e.name !== undefined && this.#removed.has(e.name);
      const reason = e.error ?? (removed ? `declared removed (${this.#opts.removed?.where ?? 'removed storage nodes'}); nothing is placed on it` : undefined);
      return {
        name: e.name ?? e.address,
        reachable: s !== undefined && reason === undefined,
        // A pod Kubernetes reports not ready gets no new volumes, whatever its last status said.
        ready: (s?.ready ?? false) && e.discovered.ready !== false,
        ...(reason !== undefined ? { unreachableReason: reason } : {}),
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
   * The agent of a storage node. NotFoundError only for a node an operator declared removed and
   * that does not answer; UnavailableError for any other node that does not answer (unknown,
   * silent, out of discovery, its name claimed twice), with what is known and what to do. A node
   * discovered but failing its polls is still returned, as is a removed one that answers: calls to
   * it fail UNAVAILABLE while it is silent, and do what they say when it answers.
   */
  async agentOf(name: string): Promise<StorageAgent> {
    let entry = this.#byName(name);
    if (!entry && !this.#removed.has(name)) {
      await this.refresh();
      entry = this.#byName(name);
    }
    if (entry && (entry.error === undefined || !this.#removed.has(name))) return entry.agent;
    const removal = this.#removed.get(name);
    if (removal) {
      throw new NotFoundError(
        `storage node ${name} was declared removed${removal.removedAt !== '' ? ` at ${removal.removedAt}` : ''} (${this.#opts.removed?.where ?? 'removed storage nodes'}${removal.note !== '' ? `: ${removal.note}` : ''}), so its volumes and snapshots are gone`,
      );
    }
    throw new UnavailableError(this.#notAnswering(name));
  }

  /**
   * host:port this controller reaches a storage node's agent at, for the node plugin to ask it
   * for CHAP credentials (publish_context agentAddress); undefined when no discovered agent is it.
   */
  addressOf(name: string): string | undefined {
    return this.#byName(name)?.address;
  }

  /** Why a node without an answering agent is UNAVAILABLE, and what an operator can do. */
  #notAnswering(name: string): string {
    const known = this.#known.get(name);
    const now = this.#now();
    // EndpointSlices name the node of a pod that has not answered yet: an agent restarting there.
    const pods = [...this.#entries.values()].filter((e) => e.discovered.kubeNode === name && (e.name === undefined || e.name === name)).map((e) => describePod(e));
    const why = pods.length > 0
      ? `its agent ${pods.join(' and ')} has not answered${known ? ` since ${Math.round((now - known.lastAnsweredMs) / 1000)} s` : ' since the controller started'}`
      : known
        ? `its agent last answered from ${known.address} ${Math.round((now - known.lastAnsweredMs) / 1000)} s ago and is no longer among the discovered agents`
        : 'no agent has answered as this node since the controller started';
    const notes = [
      ...this.unreachable().map((u) => `not answering: ${u}`),
      ...(this.#discoveryError !== undefined ? [`discovery: ${this.#discoveryError}`] : []),
      ...(this.#removedError !== undefined ? [`whether it was declared removed cannot be read: ${this.#removedError}`] : []),
    ];
    const removal = this.#opts.removed
      ? `if it is gone for good, declare it with \`vbs-csi nodes remove ${name} --confirm-node-is-gone\` (${this.#opts.removed.where})`
      : 'this controller has no --removed-storage-nodes, so it cannot be declared removed';
    return (
      `storage node ${name} is not answering (${why}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}); ` +
      `nothing on it can be changed or reported gone until its agent answers, so retry later; ${removal} (docs/storage-node-removal.md)`
    );
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
    const silent = [
      ...[...this.#entries.values()].filter((e) => !this.#isRemoved(e.name)).map((e) => ({ label: e.name ?? e.address, since: e.silentSinceMs })),
      ...this.#undiscovered().map(([name, k]) => ({ label: name, since: k.silentSinceMs })),
    ];
    return silent
      .filter((x): x is { label: string; since: number } => x.since !== undefined && now - x.since < withinMs)
      .map((x) => `${x.label} (silent for ${Math.round((now - x.since) / 1000)} s)`);
  }

  /**
   * Storage nodes that did not answer the last poll, with the reason: discovered agents that
   * failed, and nodes seen since the controller started whose agent left discovery. Removed
   * nodes are not waited for.
   */
  unreachable(): string[] {
    return [
      ...[...this.#entries.values()].filter((e) => e.error !== undefined && !this.#isRemoved(e.name)).map((e) => `${e.name ?? e.address} (${describePod(e)}): ${e.error}`),
      ...this.#undiscovered().map(([name, k]) => `${name} (last at ${k.address}): no longer discovered`),
    ];
  }

  #isRemoved(name: string | undefined): boolean {
    return name !== undefined && this.#removed.has(name);
  }

  /** Known nodes, not removed, that no discovered agent calls itself. */
  #undiscovered(): [string, KnownNode][] {
    const discovered = new Set([...this.#entries.values()].map((e) => e.name));
    return [...this.#known].filter(([name]) => !discovered.has(name) && !this.#removed.has(name));
  }

  #byName(name: string): AgentEntry | undefined {
    const found = [...this.#entries.values()].filter((e) => e.name === name);
    if (found.length > 1) throw new UnavailableError(`agents at ${found.map((e) => e.address).join(' and ')} both call themselves ${name}; fix their --storage-node-name`);
    return found[0];
  }

  async #poll(): Promise<void> {
    const startedMs = this.#now();
    const readingRemoved = this.#readRemoved();
    let discovered: DiscoveredAgent[];
    try {
      discovered = (await this.#opts.discover()).map(discoveredAgent);
      this.#discoveryError = undefined;
    } catch (err: unknown) {
      const reason = (err as Error).message;
      if (this.#discoveryError !== reason) this.#opts.log.warn({ err: reason }, 'agent discovery failed; keeping the agents known so far');
      this.#discoveryError = reason;
      discovered = [...this.#entries.values()].map((e) => e.discovered);
    }
    const byAddress = new Map(discovered.map((d) => [d.address, d]));
    const addresses = [...byAddress.keys()];
    await readingRemoved;
    // A poll that outlived stop() must not open channels nobody will close.
    if (this.#stopped) return;
    for (const [address, e] of this.#entries) {
      if (!addresses.includes(address)) {
        e.agent.close();
        this.#entries.delete(address);
        // Its name stays known (#known): its volumes are UNAVAILABLE, not gone.
        this.#opts.log.warn({ address, node: e.name }, 'storage agent no longer discovered; its volumes are unavailable until it answers again or is declared removed');
      }
    }
    await Promise.all(
      addresses.map(async (address) => {
        let e = this.#entries.get(address);
        const d = byAddress.get(address) ?? { address };
        if (e && e.discovered.ready !== d.ready && d.ready !== undefined) this.#opts.log.info({ address, node: e.name, pod: d.pod, ready: d.ready }, 'storage agent pod readiness changed');
        if (e) e.discovered = d;
        else {
          e = { address, discovered: d, agent: this.#opts.connect(address), name: undefined, status: undefined, statusTakenAtMs: 0, error: undefined, silentSinceMs: this.#now() };
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
    this.#noteKnown();
    this.#tellOperators();
    this.#lastRefreshMs = startedMs;
    for (const listener of this.#afterPoll) {
      try {
        listener();
      } catch (err: unknown) {
        this.#opts.log.error({ err: (err as Error).message }, 'after-poll listener failed');
      }
    }
  }

  /**
   * Every poll, for each storage node that needs an operator: one not answering (named by its
   * status or, before it ever answered, by its pod's Kubernetes node) and one whose thin pool takes
   * no new volumes. The recorder turns repeats into one Event's count.
   */
  #tellOperators(): void {
    const events = this.#opts.events;
    if (!events) return;
    for (const e of this.#entries.values()) {
      const name = e.name ?? e.discovered.kubeNode;
      if (name === undefined || this.#removed.has(name)) continue;
      if (e.error !== undefined) events.storageNodeUnreachable(name, `${describePod(e)}: ${e.error}`);
      else if (e.status !== undefined && e.status.thinPoolHealth !== 'ok' && e.status.thinPoolHealth !== 'unknown') events.thinPoolOverLimit(name, e.status.thinPoolHealth);
    }
    for (const [name, k] of this.#undiscovered()) events.storageNodeUnreachable(name, `its agent, last at ${k.address}, is no longer discovered`);
  }

  /** Remembers who answered, and since when the others are silent; logs removed nodes that answer. */
  #noteKnown(): void {
    const now = this.#now();
    const answering = new Map<string, string>();
    for (const e of this.#entries.values()) if (e.name !== undefined && e.error === undefined) answering.set(e.name, e.address);
    for (const [name, address] of answering) this.#known.set(name, { address, silentSinceMs: undefined, lastAnsweredMs: now });
    for (const [name, k] of this.#known) if (!answering.has(name)) k.silentSinceMs ??= now;
    for (const name of answering.keys()) {
      if (!this.#removed.has(name) || this.#removedAnswering.has(name)) continue;
      this.#removedAnswering.add(name);
      this.#opts.log.error(
        { node: name, address: answering.get(name), record: this.#opts.removed?.where },
        'a storage node declared removed answers: nothing is placed on it, but calls for its volumes go to it; take it down for good, or undo the removal with `vbs-csi nodes restore`',
      );
    }
    for (const name of this.#removedAnswering) if (!answering.has(name) || !this.#removed.has(name)) this.#removedAnswering.delete(name);
  }

  /** Re-reads the removed record; on failure keeps the last one read and says why. */
  async #readRemoved(): Promise<void> {
    const store = this.#opts.removed;
    if (!store) return;
    try {
      const list = await store.list();
      this.#removed = new Map(list.map((n) => [n.name, n]));
      if (this.#removedError !== undefined) this.#opts.log.info({ record: store.where }, 'removed storage nodes readable again');
      this.#removedError = undefined;
    } catch (err: unknown) {
      const reason = (err as Error).message;
      if (this.#removedError !== reason) this.#opts.log.warn({ record: store.where, err: reason }, 'cannot read the removed storage nodes; silent nodes stay unavailable');
      this.#removedError = reason;
    }
  }
}

/** "pod ns/name on Kubernetes node N at host:port, not ready", as much as discovery told. */
function describePod(e: AgentEntry): string {
  const d = e.discovered;
  return [
    d.pod !== undefined ? `pod ${d.pod}` : undefined,
    d.kubeNode !== undefined ? `on Kubernetes node ${d.kubeNode}` : undefined,
    `at ${e.address}`,
    d.ready === false ? '(not ready)' : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(' ');
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StatusTimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
