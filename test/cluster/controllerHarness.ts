import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Server } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { AgentVolumes } from '../../src/agent/AgentVolumes.ts';
import { NodeStatusReporter } from '../../src/agent/status/index.ts';
import { InMemoryLvm } from '../../src/agent/testing/InMemoryLvm.ts';
import { classifyLv } from '../../src/agent/volumeTags.ts';
import type { ChapCredentials } from '../../src/chap/index.ts';
import { parseAnyVolumeId, parseSnapshotId } from '../../src/csi/volumeIds.ts';
import { UnavailableError } from '../../src/errors.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { loadCsiProto } from '../../src/grpc/loadProtos.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { LioTarget } from '../../src/lio/index.ts';
import type { AgentSnapshot, AgentTarget, AgentVolume, CreateAgentVolumeRequest, ExportAgentVolumeRequest, StorageAgent, StorageNodeStatus } from '../../src/agentApi/types.ts';
import type { NodeStatus__Output } from '../../src/generated/vbs/agent/v1/NodeStatus.ts';
import { SimulatedLioConfigFs } from '../../src/lio/testing/SimulatedLioConfigFs.ts';
import { staticAgents } from '../../src/controller/agentDiscovery.ts';
import { ControllerService } from '../../src/controller/ControllerService.ts';
import type { NodeIdGuard } from '../../src/controller/ControllerService.ts';
import { createControllerHandlers } from '../../src/controller/controllerHandlers.ts';
import { statusFromWire } from '../../src/agentApi/wire.ts';
import { StorageNodes } from '../../src/controller/StorageNodes.ts';
import { MemoryRemovedStorageNodes } from '../../src/controller/testing/memoryRemovedStorageNodes.ts';
import { RecordingZeroer } from '../../src/agent/testing/RecordingZeroer.ts';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const CHAP_KEY = Buffer.alloc(32, 9);

export interface TestAgentOptions {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly poolSizeBytes?: number;
  readonly vgFreeBytes?: number;
  readonly overprovisionRatio?: number;
  readonly utilization?: number;
}

/**
 * A real in-process storage agent (AgentVolumes over InMemoryLvm and the simulated LIO configfs,
 * status from the real NodeStatusReporter), seen through the StorageAgent port as the controller
 * sees a remote one. `down` makes every call fail as an unreachable agent's would.
 */
export class TestAgent implements StorageAgent {
  readonly name: string;
  readonly address: string;
  readonly lvm: InMemoryLvm;
  readonly sim: SimulatedLioConfigFs;
  readonly lio: LioTarget;
  readonly volumes: AgentVolumes;
  readonly labels: Readonly<Record<string, string>>;
  load = { utilization: 0, averageLatencyMs: 0 };
  /** Set: every call throws UnavailableError with this reason. */
  down: string | undefined;
  /** Calls by method name, for asserting what the controller asked. */
  readonly calls: string[] = [];
  /** The AbortSignal each call in `calls` came with. */
  readonly signals: (AbortSignal | undefined)[] = [];
  /** Set: runs before each call (after it is recorded), e.g. to hold it until its signal aborts. */
  beforeCall: ((method: string, signal: AbortSignal | undefined) => Promise<void>) | undefined;
  readonly #reporter: NodeStatusReporter;

  private constructor(opts: TestAgentOptions, index: number, sim: SimulatedLioConfigFs) {
    this.name = opts.name;
    this.address = `10.0.0.${index + 1}:9500`;
    this.labels = opts.labels ?? {};
    this.load.utilization = opts.utilization ?? 0;
    this.sim = sim;
    this.lvm = new InMemoryLvm({ poolSizeBytes: opts.poolSizeBytes ?? GiB, vgFreeBytes: opts.vgFreeBytes ?? GiB });
    // LIO's iblock backstore holds the LV open while it is enabled.
    this.lvm.isOpen = async (lv) => (await sim.readAttr(`core/iblock_0/${lv.name}/enable`))?.trim() === '1';
    this.lio = new LioTarget({ configFs: sim });
    const portal = { ip: `192.168.1.${index + 1}`, port: 3260 };
    const ratio = opts.overprovisionRatio ?? 1;
    const silent = pino({ level: 'silent' });
    this.volumes = new AgentVolumes({ lvm: this.lvm, lio: this.lio, chapKey: CHAP_KEY, portal, iqnPrefix: `iqn.2026-11.io.vbs-test.${opts.name}`, overprovisionRatio: ratio, zeroer: new RecordingZeroer(), log: silent });
    this.#reporter = new NodeStatusReporter({
      lvm: this.lvm,
      sampler: {
        current: () => ({
          read_iops: 0, write_iops: 0, read_bytes_per_second: 0, write_bytes_per_second: 0,
          utilization: this.load.utilization, average_latency_ms: this.load.averageLatencyMs, window_seconds: 10, devices: [],
        }),
      },
      nodeName: opts.name,
      labels: this.labels,
      portal,
      overprovisionRatio: ratio,
      dataLimitPercent: 90,
      metadataLimitPercent: 80,
      isReady: () => true,
      classify: classifyLv,
    });
  }

  static async create(opts: TestAgentOptions, index: number): Promise<TestAgent> {
    return new TestAgent(opts, index, await SimulatedLioConfigFs.create());
  }

  async #call<T>(method: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    this.calls.push(method);
    this.signals.push(signal);
    if (this.down !== undefined) throw new UnavailableError(`storage agent ${this.address}: ${this.down}`);
    await this.beforeCall?.(method, signal);
    return fn();
  }

  getNodeStatus(signal?: AbortSignal): Promise<StorageNodeStatus> {
    return this.#call('getNodeStatus', signal, async () => statusFromWire(await this.#reporter.getNodeStatus()));
  }
  /** The status as the agent's GetNodeStatus answers on the wire, to serve this agent over gRPC. */
  wireNodeStatus(signal?: AbortSignal): Promise<NodeStatus__Output> {
    return this.#reporter.getNodeStatus(signal);
  }
  createVolume(req: CreateAgentVolumeRequest, signal?: AbortSignal): Promise<AgentVolume> {
    return this.#call('createVolume', signal, () => this.volumes.createVolume(req, signal));
  }
  expandVolume(id: string, sizeBytes: number, signal?: AbortSignal): Promise<AgentVolume> {
    return this.#call('expandVolume', signal, () => this.volumes.expandVolume(id, sizeBytes, signal));
  }
  deleteVolume(id: string, signal?: AbortSignal): Promise<void> {
    return this.#call('deleteVolume', signal, () => this.volumes.deleteVolume(id, signal));
  }
  getVolume(id: string, signal?: AbortSignal): Promise<AgentVolume> {
    return this.#call('getVolume', signal, () => this.volumes.getVolume(id, signal));
  }
  listVolumes(signal?: AbortSignal): Promise<AgentVolume[]> {
    return this.#call('listVolumes', signal, () => this.volumes.listVolumes(signal));
  }
  createSnapshot(req: { readonly name: string; readonly sourceVolumeId: string }, signal?: AbortSignal): Promise<AgentSnapshot> {
    return this.#call('createSnapshot', signal, () => this.volumes.createSnapshot(req, signal));
  }
  deleteSnapshot(id: string, signal?: AbortSignal): Promise<void> {
    return this.#call('deleteSnapshot', signal, () => this.volumes.deleteSnapshot(id, signal));
  }
  getSnapshot(id: string, signal?: AbortSignal): Promise<AgentSnapshot> {
    return this.#call('getSnapshot', signal, () => this.volumes.getSnapshot(id, signal));
  }
  listSnapshots(filter: { readonly sourceVolumeId?: string }, signal?: AbortSignal): Promise<AgentSnapshot[]> {
    return this.#call('listSnapshots', signal, () => this.volumes.listSnapshots(filter, signal));
  }
  exportVolume(req: ExportAgentVolumeRequest, signal?: AbortSignal): Promise<{ readonly target: AgentTarget }> {
    return this.#call('exportVolume', signal, () => this.volumes.exportVolume(req, signal));
  }
  unexportVolume(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<void> {
    return this.#call('unexportVolume', signal, () => this.volumes.unexportVolume(req, signal));
  }
  close(): void {}

  async destroy(): Promise<void> {
    await this.sim.destroy();
  }
}

/** A pino logger at debug whose JSON lines land in `lines`. */
export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

export interface ClusterOptions {
  readonly agents: readonly TestAgentOptions[];
  /** Placement re-polls the agents when their status is older than this; default 0 (always). */
  readonly statusMaxAgeMs?: number;
  /** ControllerServiceOptions.nameGuardMs; default the service's own. */
  readonly nameGuardMs?: number;
}

/** Storage agents, a StorageNodes over them (static discovery) and a ControllerService. */
export class TestCluster {
  readonly agents: TestAgent[];
  readonly log: Logger;
  readonly lines: string[];
  readonly statusMaxAgeMs: number;
  readonly nameGuardMs: number | undefined;
  nodes: StorageNodes;
  service: ControllerService;
  /** The operators' record of removed storage nodes, shared by every StorageNodes of the cluster (it survives restarts). */
  readonly removed = new MemoryRemovedStorageNodes();
  /** Given to services made after it is set (ControllerServiceOptions.nodeIdGuard). */
  nodeIdGuard: NodeIdGuard | undefined;
  /** Replace to make discovery fail or change. */
  discover: () => Promise<string[]>;

  private constructor(agents: TestAgent[], statusMaxAgeMs: number, nameGuardMs: number | undefined) {
    this.agents = agents;
    this.nameGuardMs = nameGuardMs;
    ({ log: this.log, lines: this.lines } = captureLog());
    this.statusMaxAgeMs = statusMaxAgeMs;
    const fixed = staticAgents(agents.map((a) => a.address));
    this.discover = fixed;
    this.nodes = this.newNodes();
    // The service polls through `nodes`, so a test's refresh() is the service's.
    this.service = this.newService(this.nodes);
  }

  static async create(opts: ClusterOptions): Promise<TestCluster> {
    const agents = await Promise.all(opts.agents.map((a, i) => TestAgent.create(a, i)));
    return new TestCluster(agents, opts.statusMaxAgeMs ?? 0, opts.nameGuardMs);
  }

  agent(name: string): TestAgent {
    const a = this.agents.find((x) => x.name === name);
    if (!a) throw new Error(`no test agent ${name}`);
    return a;
  }

  /** A StorageNodes of its own over the same agents, as a second controller process would have. */
  newNodes(): StorageNodes {
    const byAddress = new Map(this.agents.map((a) => [a.address, a]));
    return new StorageNodes({
      discover: () => this.discover(),
      connect: (address) => {
        const a = byAddress.get(address);
        if (!a) throw new Error(`no test agent at ${address}`);
        return a;
      },
      log: this.log,
      removed: this.removed,
    });
  }

  /** A fresh controller (new locks and reservations, new StorageNodes) over the same agents: a restart. */
  newService(nodes: StorageNodes = this.newNodes()): ControllerService {
    return new ControllerService({
      nodes,
      log: this.log,
      statusMaxAgeMs: this.statusMaxAgeMs,
      ...(this.nameGuardMs !== undefined ? { nameGuardMs: this.nameGuardMs } : {}),
      ...(this.nodeIdGuard !== undefined ? { nodeIdGuard: this.nodeIdGuard } : {}),
    });
  }

  async destroy(): Promise<void> {
    this.nodes.stop();
    await Promise.all(this.agents.map((a) => a.destroy()));
  }
}

/** The Controller service of a cluster on a real grpc-js server (unix socket), called through connectCsi. */
export async function serveController(cluster: TestCluster): Promise<{ csi: CsiApi; address: string; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vbs-ctrl-'));
  const server = new Server();
  server.addService(
    loadCsiProto().csi.v1.Controller.service,
    createControllerHandlers(cluster.service, cluster.log, {
      isVolumeId: (id) => parseAnyVolumeId(id) !== undefined,
      isSnapshotId: (id) => parseSnapshotId(id) !== undefined,
    }),
  );
  const running: RunningServer = await serve({ server, endpoint: { kind: 'unix', path: join(dir, 'csi.sock') }, log: pino({ level: 'silent' }) });
  const csi = connectCsi(running.address, 10_000);
  return {
    csi,
    address: running.address,
    close: async () => {
      csi.close();
      await running.shutdown(0);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
