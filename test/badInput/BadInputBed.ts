import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Server } from '@grpc/grpc-js';
import type { Client, ServiceDefinition } from '@grpc/grpc-js';
import { pino } from 'pino';
import { createAgentVolumesHandlers } from '../../src/agent/handlers/agentVolumesHandlers.ts';
import { NodeStatusReporter } from '../../src/agent/status/index.ts';
import { classifyLv } from '../../src/agent/volumeTags.ts';
import { GiB, TestCluster } from '../cluster/controllerHarness.ts';
import type { ChapSource } from '../../src/node/chapSource.ts';
import { createControllerHandlers } from '../../src/controller/controllerHandlers.ts';
import { createIdentityHandlers } from '../../src/csi/identityService.ts';
import { parseAnyVolumeId, parseSnapshotId } from '../../src/csi/volumeIds.ts';
import { adaptUnary } from '../../src/grpc/adaptUnary.ts';
import { loadAgentProto, loadCsiProto } from '../../src/grpc/loadProtos.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { createNodeService } from '../../src/node/index.ts';
import { FakeRunner } from '../fakes/FakeRunner.ts';
import { callRaw, rawClient } from './callRaw.ts';
import type { CallOutcome } from './callRaw.ts';

export type ServiceName = 'identity' | 'controller' | 'node' | 'agentStatus' | 'agentVolumes';

/** Real objects the corpus can point at, made through the API before the cases run. */
export interface Fixtures {
  /** CSI id of a 64 MiB volume on store-a, published to WORKER_IQN. */
  readonly volumeId: string;
  readonly snapshotId: string;
  /** The same volume and snapshot as the agent names them (LV ids). */
  readonly agentVolumeId: string;
  readonly agentSnapshotId: string;
  /** An existing directory where node paths may point. */
  readonly dir: string;
  /** A path the fake host reports as mounted from /dev/sdz: somebody else's mount. */
  readonly foreignMount: string;
}

/** This node's id, to which the fixture volume is published. */
export const WORKER_IQN = 'iqn.2026-11.io.test:worker-1';
/** The storage node the bed's removed record names (`vbs-csi nodes remove`): ids on it are gone. */
export const REMOVED_STORAGE_NODE = 'store-gone';

/** What a call must not change: every LV, configfs tree and node-side state. */
export interface SideEffectFingerprint {
  readonly agents: Readonly<Record<string, { readonly lvs: readonly string[]; readonly lvmChanges: number; readonly lio: readonly string[] }>>;
  /** Commands the node ran that change the host (anything but the reads below). */
  readonly nodeMutatingCommands: readonly string[];
  /** Files and directories under the node's temp root (state dir, kubelet paths). */
  readonly nodeFiles: readonly string[];
}

/** Commands that only look: findmnt, dmsetup info/table, iscsiadm's session and node-record lists, udevadm settle. */
export function isReadOnlyCommand(argv: readonly string[]): boolean {
  const [file, a1, a2] = argv;
  if (file === 'iscsiadm' && a1 === '-m' && a2 === 'node' && argv.length === 3) return true;
  if (file === 'findmnt' || file === 'blkid') return true;
  if (file === 'udevadm') return a1 === 'settle';
  if (file === 'dmsetup') return a1 === 'info' || a1 === 'table';
  if (file === 'iscsiadm') return a1 === '-m' && a2 === 'session';
  return false;
}

/**
 * Every API of the driver on real grpc-js servers in this process, as a hostile client meets them:
 * - one CSI endpoint with Identity, Controller and Node, as the all-in-one role serves them; the
 *   controller runs over two real in-process storage agents (AgentVolumes on an in-memory LVM and
 *   the simulated LIO configfs), the node over a FakeRunner that records every command;
 * - store-a's agent API (AgentStatus, AgentVolumes) on its own socket, without TLS (mutual TLS
 *   is tested in src/tls).
 */
export class BadInputBed {
  readonly fixtures: Fixtures;
  readonly runner: FakeRunner;
  readonly #cluster: TestCluster;
  readonly #dir: string;
  readonly #servers: RunningServer[];
  readonly #clients: ReadonlyMap<ServiceName, { client: Client; service: ServiceDefinition }>;

  private constructor(opts: {
    cluster: TestCluster;
    dir: string;
    runner: FakeRunner;
    servers: RunningServer[];
    clients: ReadonlyMap<ServiceName, { client: Client; service: ServiceDefinition }>;
    fixtures: Fixtures;
  }) {
    this.#cluster = opts.cluster;
    this.#dir = opts.dir;
    this.runner = opts.runner;
    this.#servers = opts.servers;
    this.#clients = opts.clients;
    this.fixtures = opts.fixtures;
  }

  static async start(): Promise<BadInputBed> {
    const silent = pino({ level: 'silent' });
    const dir = await mkdtemp(join(tmpdir(), 'vbs-bad-input-'));
    const nodeRoot = join(dir, 'node');
    const foreignMount = join(nodeRoot, 'kubelet', 'pods', 'other-pod', 'mount');
    await mkdir(foreignMount, { recursive: true });
    const cluster = await TestCluster.create({ agents: [{ name: 'store-a', poolSizeBytes: 4 * GiB }, { name: 'store-b', poolSizeBytes: 4 * GiB }] });
    await cluster.removed.add({ name: REMOVED_STORAGE_NODE, note: 'the bad-input corpus names it' });
    const runner = scriptedNodeHost(foreignMount);

    const csi = loadCsiProto().csi.v1;
    const csiServer = new Server();
    csiServer.addService(csi.Identity.service, createIdentityHandlers({ driverName: 'vbs.csi.io', vendorVersion: 'test', capabilities: [], readiness: [], log: silent }));
    csiServer.addService(
      csi.Controller.service,
      createControllerHandlers(cluster.service, silent, { isVolumeId: (id) => parseAnyVolumeId(id) !== undefined, isSnapshotId: (id) => parseSnapshotId(id) !== undefined }),
    );
    const node = await createNodeService(
      { initiatorName: WORKER_IQN, iscsiIface: undefined, zone: 'zone-a', stateDir: join(nodeRoot, 'state'), deviceWaitMs: 200, tls: undefined, iscsiNodeDir: join(nodeRoot, 'iscsi-nodes') },
      silent,
      { runner, chapSource: inProcessChapSource(cluster) },
    );
    csiServer.addService(csi.Node.service, node.handlers);
    const csiRunning = await serve({ server: csiServer, endpoint: { kind: 'unix', path: join(dir, 'csi.sock') }, log: silent });

    const storeA = cluster.agent('store-a');
    const agentProto = loadAgentProto().vbs.agent.v1;
    const agentServer = new Server();
    const status = new NodeStatusReporter({
      lvm: storeA.lvm,
      sampler: { current: () => ({ read_iops: 0, write_iops: 0, read_bytes_per_second: 0, write_bytes_per_second: 0, utilization: 0, average_latency_ms: 0, window_seconds: 10, devices: [] }) },
      nodeName: storeA.name,
      labels: {},
      portal: { ip: '192.168.1.1', port: 3260 },
      overprovisionRatio: 1,
      dataLimitPercent: 90,
      metadataLimitPercent: 80,
      isReady: () => true,
      classify: classifyLv,
    });
    agentServer.addService(agentProto.AgentStatus.service, { GetNodeStatus: adaptUnary('agent.GetNodeStatus', silent, (_req, { signal }) => status.getNodeStatus(signal)) });
    agentServer.addService(agentProto.AgentVolumes.service, createAgentVolumesHandlers(storeA.volumes, silent));
    const agentRunning = await serve({ server: agentServer, endpoint: { kind: 'unix', path: join(dir, 'agent.sock') }, log: silent });

    const csiClient = rawClient(csiRunning.address);
    const agentClient = rawClient(agentRunning.address);
    const clients = new Map<ServiceName, { client: Client; service: ServiceDefinition }>([
      ['identity', { client: csiClient, service: csi.Identity.service }],
      ['controller', { client: csiClient, service: csi.Controller.service }],
      ['node', { client: csiClient, service: csi.Node.service }],
      ['agentStatus', { client: agentClient, service: agentProto.AgentStatus.service }],
      ['agentVolumes', { client: agentClient, service: agentProto.AgentVolumes.service }],
    ]);
    const call = (service: ServiceName, rpc: string, request: object | Uint8Array) => {
      const entry = clients.get(service)!;
      return callRaw(entry.client, entry.service, rpc, request);
    };
    const made = await makeFixtures(cluster, call);
    return new BadInputBed({ cluster, dir: nodeRoot, runner, servers: [csiRunning, agentRunning], clients, fixtures: { ...made, dir: join(nodeRoot, 'kubelet'), foreignMount } });
  }

  /** Calls an RPC with any request; never rejects (see callRaw). */
  call(service: ServiceName, rpc: string, request: object | Uint8Array): Promise<CallOutcome> {
    const entry = this.#clients.get(service)!;
    return callRaw(entry.client, entry.service, rpc, request);
  }

  async fingerprint(): Promise<SideEffectFingerprint> {
    const agents: Record<string, SideEffectFingerprint['agents'][string]> = {};
    for (const a of this.#cluster.agents) agents[a.name] = { lvs: a.lvm.names(), lvmChanges: a.lvm.journal.length, lio: await a.sim.snapshot() };
    return {
      agents,
      nodeMutatingCommands: this.runner.argvs.filter((argv) => !isReadOnlyCommand(argv)).map((argv) => argv.join(' ')),
      nodeFiles: await listTree(this.#dir),
    };
  }

  async close(): Promise<void> {
    for (const { client } of new Set(this.#clients.values())) client.close();
    await Promise.all(this.#servers.map((s) => s.shutdown(0)));
    await this.#cluster.destroy();
    await rm(join(this.#dir, '..'), { recursive: true, force: true });
  }
}

/** A volume on store-a published to this node, and a snapshot of it, made as a CO would. */
async function makeFixtures(
  cluster: TestCluster,
  call: (service: ServiceName, rpc: string, request: object) => Promise<CallOutcome>,
): Promise<Omit<Fixtures, 'dir' | 'foreignMount'>> {
  const expectOk = async (rpc: string, request: object): Promise<void> => {
    const outcome = await call('controller', rpc, request);
    if (outcome.code !== 'OK') throw new Error(`fixture ${rpc} failed: ${outcome.code} ${outcome.details}`);
  };
  const capability = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
  await expectOk('CreateVolume', { name: 'pvc-fixture', capacity_range: { required_bytes: 64 * 1024 * 1024 }, volume_capabilities: [capability] });
  const store = cluster.agent('store-a').volumes;
  const [volume] = await store.listVolumes();
  if (!volume) throw new Error('the fixture volume did not land on store-a');
  const volumeId = `store-a/${volume.id}`;
  await expectOk('ControllerPublishVolume', { volume_id: volumeId, node_id: WORKER_IQN, volume_capability: capability });
  await expectOk('CreateSnapshot', { name: 'snap-fixture', source_volume_id: volumeId });
  const [snapshot] = await store.listSnapshots({});
  if (!snapshot) throw new Error('the fixture snapshot is missing');
  return { volumeId, snapshotId: `store-a/${snapshot.id}`, agentVolumeId: volume.id, agentSnapshotId: snapshot.id };
}

/**
 * The worker host as the node service sees it through its runner: nothing mounted except
 * `foreignMount` (from /dev/sdz), no dm devices, no iSCSI sessions. Every other command is
 * unscripted, so FakeRunner fails it and records it: a case cannot run one unnoticed.
 */
function scriptedNodeHost(foreignMount: string): FakeRunner {
  const findmnt = (target: string) => JSON.stringify({ filesystems: [{ target, source: '/dev/sdz', fstype: 'ext4', options: 'rw,relatime' }] });
  return new FakeRunner()
    .on(['findmnt', '-J', '-l', '-b', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS', '--mountpoint', foreignMount], { stdout: findmnt(foreignMount) })
    .on(['findmnt'], { exitCode: 1 })
    .on(['dmsetup', 'info'], { exitCode: 1, stderr: 'Device does not exist.\nCommand failed.\n' })
    .on(['dmsetup', 'table'], { exitCode: 1, stderr: 'Device does not exist.\nCommand failed.\n' })
    .on(['iscsiadm', '-m', 'session'], { exitCode: 21, stderr: 'iscsiadm: No active sessions.\n' })
    // The list of node records only; any other `-m node` command (one that changes a record) stays unscripted.
    .on(['iscsiadm', '-m', 'node'], (cmd) => (cmd.args.length === 2 ? { exitCode: 21, stderr: 'iscsiadm: No records found\n' } : { exitCode: 99, stderr: `unscripted: ${cmd.args.join(' ')}\n` }))
    .on(['udevadm', 'settle'], {});
}

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.map((e) => `${relative(root, join(e.parentPath, e.name))}${e.isDirectory() ? '/' : ''}`).sort();
}

/** The node asks the in-process agent of the volume's storage node, as a node plugin asks it over mutual TLS. */
function inProcessChapSource(cluster: TestCluster): ChapSource {
  return {
    fetch: async (req, signal) => {
      const { chap, target } = await cluster.agent(req.storageNode).volumes.chapCredentials({ volumeId: req.volumeId, initiatorIqn: req.initiatorIqn }, signal);
      return { chap, targetIqn: target.iqn };
    },
  };
}
