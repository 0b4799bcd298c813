import { pino } from 'pino';
import { buildAgentId } from '../../agentApi/ids.ts';
import type {
  AgentSnapshot,
  AgentTarget,
  AgentVolume,
  CreateAgentVolumeRequest,
  ExportAgentVolumeRequest,
  StorageAgent,
  StorageNodeStatus,
} from '../../agentApi/types.ts';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, ResourceExhaustedError, UnavailableError } from '../../errors.ts';
import { MIRROR_HEADER_BYTES } from '../../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../../replication/mirrorRecord.ts';
import { ControllerService } from '../ControllerService.ts';
import type { OperatorEvents } from '../operatorEvents.ts';
import { staticAgents } from '../agentDiscovery.ts';
import { StorageNodes } from '../StorageNodes.ts';
import { MemoryRemovedStorageNodes } from './memoryRemovedStorageNodes.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface MemoryStorageAgentOptions {
  readonly name: string;
  readonly zone?: string;
  readonly thinBytes?: number;
}

/**
 * A storage agent in memory for controller tests of replicated volumes, which the in-process
 * AgentVolumes (test/cluster) does not hold yet: it keeps volumes with their `mirror` (slot, header,
 * record) as the agent's LV tags would, ACLs, snapshots, and room. `down` makes every call
 * UNAVAILABLE; failNext makes one call of a method throw.
 */
export class MemoryStorageAgent implements StorageAgent {
  readonly name: string;
  readonly address: string;
  readonly zone: string;
  readonly volumes = new Map<string, AgentVolume>();
  readonly snapshots = new Map<string, AgentSnapshot>();
  readonly calls: string[] = [];
  down: string | undefined;
  thinBytes: number;
  thinPoolHealth = 'ok';
  readonly #failures = new Map<string, Error>();
  readonly #index: number;

  constructor(opts: MemoryStorageAgentOptions, index: number) {
    this.name = opts.name;
    this.zone = opts.zone ?? 'default';
    this.thinBytes = opts.thinBytes ?? 10 * GiB;
    this.address = `10.0.0.${index + 1}:9500`;
    this.#index = index;
  }

  failNext(method: string, err: Error): void {
    this.#failures.set(method, err);
  }

  /** What a node plugin's compare-and-set would leave in this copy's tags. */
  setRecord(id: string, record: MirrorRecord): void {
    const v = this.#volume(id);
    this.volumes.set(id, { ...v, mirror: { ...v.mirror!, record } });
  }

  #call(method: string): void {
    this.calls.push(method);
    if (this.down !== undefined) throw new UnavailableError(`storage agent ${this.address}: ${this.down}`);
    const failure = this.#failures.get(method);
    if (failure) {
      this.#failures.delete(method);
      throw failure;
    }
  }

  #volume(id: string): AgentVolume {
    const v = this.volumes.get(id);
    if (!v) throw new NotFoundError(`volume ${id} not found on ${this.name}`);
    return v;
  }

  #used(): number {
    return [...this.volumes.values()].reduce((sum, v) => sum + v.sizeBytes + (v.mirror ? v.mirror.headerBytes : 0), 0);
  }

  async getNodeStatus(): Promise<StorageNodeStatus> {
    this.#call('getNodeStatus');
    return {
      name: this.name,
      ready: true,
      labels: { zone: this.zone },
      extentSizeBytes: 4 * MiB,
      thinAllocatableBytes: this.thinBytes - this.#used(),
      vgFreeBytes: this.thinBytes - this.#used(),
      thinPoolHealth: this.thinPoolHealth,
      utilization: 0,
      averageLatencyMs: 0,
      volumeCount: this.volumes.size,
    };
  }

  close(): void {}

  async createVolume(req: CreateAgentVolumeRequest): Promise<AgentVolume> {
    this.#call('createVolume');
    const id = buildAgentId(req.name, 'volume');
    const existing = this.volumes.get(id);
    if (existing) {
      const same = existing.sizeBytes === req.sizeBytes && existing.mirror?.slot === req.mirror?.slot;
      if (!same) throw new AlreadyExistsError(`volume ${req.name} exists on ${this.name} and differs`);
      return existing;
    }
    const bytes = req.sizeBytes + (req.mirror ? MIRROR_HEADER_BYTES : 0);
    if (this.#used() + bytes > this.thinBytes) throw new ResourceExhaustedError(`${this.name}: no room for ${bytes} bytes`);
    const target: AgentTarget = { iqn: `iqn.2026-12.io.vbs-test.${this.name}:${id}`, portal: { ip: `192.168.1.${this.#index + 1}`, port: 3260 }, lun: 0, serial: `serial-${this.name}-${id.slice(-6)}` };
    const volume: AgentVolume = {
      id,
      name: req.name,
      sizeBytes: req.sizeBytes,
      thin: !req.thick,
      contentSource: req.contentSource,
      createdAt: new Date('2026-12-07T23:00:00Z'),
      target,
      initiators: [],
      ...(req.mirror ? { mirror: { slot: req.mirror.slot, headerBytes: MIRROR_HEADER_BYTES, record: req.mirror.record } } : {}),
    };
    this.volumes.set(id, volume);
    return volume;
  }

  async expandVolume(id: string, sizeBytes: number): Promise<AgentVolume> {
    this.#call('expandVolume');
    const v = this.#volume(id);
    const grown = { ...v, sizeBytes: Math.max(v.sizeBytes, sizeBytes) };
    this.volumes.set(id, grown);
    return grown;
  }

  async deleteVolume(id: string): Promise<void> {
    this.#call('deleteVolume');
    const v = this.volumes.get(id);
    if (v && v.initiators.length > 0) throw new FailedPreconditionError(`volume ${id} is exported`);
    this.volumes.delete(id);
  }

  async getVolume(id: string): Promise<AgentVolume> {
    this.#call('getVolume');
    return this.#volume(id);
  }

  async listVolumes(): Promise<AgentVolume[]> {
    this.#call('listVolumes');
    return [...this.volumes.values()];
  }

  async createSnapshot(req: { readonly name: string; readonly sourceVolumeId: string }): Promise<AgentSnapshot> {
    this.#call('createSnapshot');
    const source = this.#volume(req.sourceVolumeId);
    const id = buildAgentId(req.name, 'snapshot');
    const snap: AgentSnapshot = this.snapshots.get(id) ?? { id, name: req.name, sourceVolumeId: source.id, sizeBytes: source.sizeBytes, createdAt: new Date('2026-12-07T23:30:00Z'), readyToUse: true };
    this.snapshots.set(id, snap);
    return snap;
  }

  async deleteSnapshot(id: string): Promise<void> {
    this.#call('deleteSnapshot');
    this.snapshots.delete(id);
  }

  async getSnapshot(id: string): Promise<AgentSnapshot> {
    this.#call('getSnapshot');
    const s = this.snapshots.get(id);
    if (!s) throw new NotFoundError(`snapshot ${id} not found on ${this.name}`);
    return s;
  }

  async listSnapshots(filter: { readonly sourceVolumeId?: string }): Promise<AgentSnapshot[]> {
    this.#call('listSnapshots');
    return [...this.snapshots.values()].filter((s) => filter.sourceVolumeId === undefined || s.sourceVolumeId === filter.sourceVolumeId);
  }

  async exportVolume(req: ExportAgentVolumeRequest): Promise<{ readonly target: AgentTarget }> {
    this.#call('exportVolume');
    const v = this.#volume(req.volumeId);
    const initiators = [...v.initiators.filter((i) => i.iqn !== req.initiatorIqn), { iqn: req.initiatorIqn, readOnly: req.readOnly, mutualChap: req.mutualChap }];
    this.volumes.set(v.id, { ...v, initiators });
    return { target: v.target };
  }

  async unexportVolume(req: { readonly volumeId: string; readonly initiatorIqn: string }): Promise<void> {
    this.#call('unexportVolume');
    const v = this.volumes.get(req.volumeId);
    if (v) this.volumes.set(v.id, { ...v, initiators: v.initiators.filter((i) => i.iqn !== req.initiatorIqn) });
  }
}

/** What the fence events recorded. */
export interface RecordedFence {
  readonly volumeId: string;
  readonly nodeId: string;
  readonly storageNode: string;
  readonly error: string;
}

/** MemoryStorageAgents behind a StorageNodes (static discovery) and a ControllerService. */
export class MemoryCluster {
  readonly agents: MemoryStorageAgent[];
  readonly removed = new MemoryRemovedStorageNodes();
  readonly fences: RecordedFence[] = [];
  readonly nodes: StorageNodes;
  readonly service: ControllerService;

  constructor(agents: readonly MemoryStorageAgentOptions[], opts: { readonly nameGuardMs?: number } = {}) {
    this.agents = agents.map((a, i) => new MemoryStorageAgent(a, i));
    const log = pino({ level: 'silent' });
    const byAddress = new Map(this.agents.map((a) => [a.address, a]));
    this.nodes = new StorageNodes({
      discover: staticAgents(this.agents.map((a) => a.address)),
      connect: (address) => byAddress.get(address)!,
      log,
      removed: this.removed,
    });
    const events: OperatorEvents = {
      thinPoolOverLimit: () => {},
      storageNodeUnreachable: () => {},
      fenceNotApplied: (f) => this.fences.push(f),
      duplicateNodeId: () => {},
    };
    this.service = new ControllerService({ nodes: this.nodes, log, statusMaxAgeMs: 0, nameGuardMs: opts.nameGuardMs ?? 0, events });
  }

  agent(name: string): MemoryStorageAgent {
    const a = this.agents.find((x) => x.name === name);
    if (!a) throw new Error(`no agent ${name}`);
    return a;
  }

  /** Every agent's copies of an LV id, by node. */
  copies(id: string): Record<string, AgentVolume> {
    return Object.fromEntries(this.agents.filter((a) => a.volumes.has(id)).map((a) => [a.name, a.volumes.get(id)!]));
  }

  destroy(): void {
    this.nodes.stop();
  }
}
