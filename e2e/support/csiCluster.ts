import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import { connectAgentWire } from '../../src/agentApi/client.ts';
import type { AgentWireApi } from '../../src/agentApi/client.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { Iscsiadm, readInitiatorName } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { clientCredentials } from '../../src/tls/index.ts';
import { pollUntil } from '../vm/poll.ts';
import type { ScenarioContext } from '../scenarios/Scenario.ts';
import { makeClusterCertificates } from './clusterCertificates.ts';
import type { ClusterCertificates } from './clusterCertificates.ts';
import { startDriverProcess } from './driverProcess.ts';
import type { DriverRole } from './driverProcess.ts';
import { superviseProcess } from './supervisedProcess.ts';
import type { StepClock } from './stepClock.ts';
import type { DriverProcess } from './driverProcess.ts';
import { findDriverResidue, NODE_DM_NAME } from './driverResidue.ts';
import { createLoopVolumeGroup } from './loopVolumeGroup.ts';
import { recordSecret } from './secretLedger.ts';
import type { LoopVolumeGroup } from './loopVolumeGroup.ts';

/** A "worker" in the VM: a `vbs-csi node` process; give an initiator name and iface for a second one. */
export interface WorkerSpec {
  readonly name: string;
  readonly initiatorName?: string;
  readonly iscsiIface?: string;
}

export interface ClusterWorker {
  readonly name: string;
  /** The CSI node id NodeGetInfo answered: the worker's initiator name. */
  readonly nodeId: string;
  readonly csi: CsiApi;
  readonly process: DriverProcess;
  readonly stateDir: string;
  readonly iscsiIface: string | undefined;
}

/**
 * Crash points to arm in every process of a role (src/faults/crashPoint.ts), each firing once
 * (a marker file per point in `onceDir`). Armed processes are supervised: a process that dies
 * by SIGKILL is started again at once, as the kubelet restarts a crashed container.
 */
export interface FaultArming {
  readonly onceDir: string;
  readonly points: Readonly<Partial<Record<'agent' | 'controller' | 'node', readonly string[]>>>;
}

export interface ClusterStorageNode {
  readonly name: string;
  readonly vg: string;
  readonly ip: string;
}

export interface CsiCluster {
  /** The controller process's CSI endpoint. */
  readonly controller: CsiApi['controller'];
  readonly workers: readonly ClusterWorker[];
  readonly storage: readonly ClusterStorageNode[];
  /** A tmpfs standing in for /var/lib/kubelet (staging and target paths go under it). */
  readonly kubeletDir: string;
  readonly runner: CommandRunner;
  readonly iqnPrefix: string;
  /** The agent process of a storage node (the current one after a restart). */
  agentProcess(storageNode: string): DriverProcess;
  /** An mTLS client of a storage node's agent, with the controller's certificate. */
  agentClient(storageNode: string): AgentWireApi;
  /**
   * SIGKILL the storage node's agent; with `wipeLio`, also drop its LIO targets and deactivate
   * its VG (what a reboot of the storage node leaves); start it again and wait until it is ready.
   */
  restartAgent(storageNode: string, opts: { readonly wipeLio: boolean }): Promise<{ readonly downMs: number; readonly readyMs: number }>;
  /** What the driver left behind: sessions, node records, dm devices, mounts, LIO targets, LVs, stage records. Empty when clean. */
  findResidue(): Promise<string[]>;
  /** Stops every process and removes what is left (best effort); with `failed`, prints each process's last output lines. */
  stop(opts: { readonly failed: boolean }): Promise<void>;
}

const STORAGE_NODES = [
  { name: 'storage-a', ip: '127.0.0.2' },
  { name: 'storage-b', ip: '127.0.0.3' },
] as const;
const AGENT_PORT = 9500;
const READY_DEADLINE_MS = 300_000;

/**
 * The driver as Kubernetes runs it, in one VM: two storage nodes (a loop-file VG each, a
 * `vbs-csi agent` process each on its own loopback address, mutual TLS), one `vbs-csi controller`
 * process over both, and one `vbs-csi node` process per worker. Resolves once every agent is
 * ready, the controller reaches both agents and every node answers NodeGetInfo.
 *
 * `vgPrefix` names the VGs (`<vgPrefix>-a`, `-b`); `iqnPrefix` the agents' target IQNs, so that
 * residue checks and cleanup only look at this cluster's objects. `quiet` keeps the production
 * intervals (agent reconcile 60 s, controller status poll 10 s) instead of the short ones scenarios
 * that watch reconcile or placement need: under TCG each poll's lvm commands take whole seconds of
 * the guest's two CPUs, which every process restart then waits behind.
 */
export async function startCsiCluster(
  ctx: ScenarioContext,
  spec: { readonly vgPrefix: string; readonly iqnPrefix: string; readonly workers: readonly WorkerSpec[]; readonly poolMiB?: number; readonly faults?: FaultArming; readonly quiet?: boolean },
): Promise<CsiCluster> {
  const { signal } = ctx;
  const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
  const sh = (file: string, args: readonly string[], okExitCodes?: readonly number[]) => runner.run({ file, args, timeoutMs: 60_000, ...(okExitCodes ? { okExitCodes } : {}) }, signal);
  const iscsiadm = new Iscsiadm({ runner });
  const lio = new LioTarget({ configFs: new FsConfigFs() });
  const storage: ClusterStorageNode[] = STORAGE_NODES.map((n, i) => ({ ...n, vg: `${spec.vgPrefix}-${'ab'[i]}` }));
  const kubeletDir = join(ctx.workDir, 'kubelet');
  const vgs: LoopVolumeGroup[] = [];
  const agents = new Map<string, DriverProcess>();
  const retired: DriverProcess[] = [];
  const clients: { close(): void }[] = [];
  const workers: ClusterWorker[] = [];
  const nodeProcesses: DriverProcess[] = [];
  let controllerProcess: DriverProcess | undefined;
  let kubeletMounted = false;
  let certs: ClusterCertificates | undefined;
  const chapKeyPath = join(ctx.workDir, 'chap.key');
  /** A role's process, armed and supervised when the spec arms crash points. */
  const launch = (role: Exclude<DriverRole, 'all-in-one'>, name: string, args: readonly string[]): DriverProcess => {
    const faults = spec.faults;
    if (!faults) return startDriverProcess({ ctx, role, name, args });
    const env = { VBS_FAULT_POINT: (faults.points[role] ?? []).join(','), VBS_FAULT_ONCE_DIR: faults.onceDir };
    return superviseProcess(
      () => startDriverProcess({ ctx, role, name, args, env }),
      (n, restarts) => ctx.log(`${n} died by SIGKILL (a crash point) and was started again (restart ${restarts})`),
    );
  };

  const startAgent = (node: ClusterStorageNode): DriverProcess => {
    const files = certs!.agents.get(node.name)!;
    const agent = launch('agent', node.name, [
        '--node-id', node.name, '--vg', node.vg, '--portal', `${node.ip}:3260`, '--agent-listen', `tcp://${node.ip}:${AGENT_PORT}`,
        '--iqn-prefix', spec.iqnPrefix, '--labels', `zone=default`, '--reconcile-interval-seconds', spec.quiet ? '60' : '5',
        '--tls-ca', certs!.caPath, '--tls-cert', files.cert, '--tls-key', files.key,
        '--chap-key-file', chapKeyPath, '--endpoint', `unix://${join(ctx.workDir, `${node.name}.sock`)}`,
    ]);
    const previous = agents.get(node.name);
    if (previous) retired.push(previous);
    agents.set(node.name, agent);
    return agent;
  };
  const agentClient = (name: string): AgentWireApi => {
    const node = storage.find((n) => n.name === name);
    if (!node) throw new Error(`no storage node ${name}`);
    const c = connectAgentWire(`${node.ip}:${AGENT_PORT}`, clientCredentials(certs!.clientMaterial), 30_000);
    clients.push(c);
    return c;
  };
  /** Resolves with the agent's thin allocatable bytes once it reports ready. */
  const waitAgentReady = async (node: ClusterStorageNode): Promise<number> => {
    const api = agentClient(node.name);
    const agent = agents.get(node.name)!;
    return pollUntil(
      async () => {
        if (agent.hasExited()) throw new Error(`${node.name}'s agent exited before it was ready:\n${tail(agent.output(), 60)}`);
        const st = await api.getNodeStatus().catch(() => undefined);
        return st?.ready ? Number(st.thin_pool?.allocatable_bytes ?? 0) : undefined;
      },
      { deadlineMs: Date.now() + READY_DEADLINE_MS, intervalMs: 500, what: `the agent of ${node.name} to be ready`, signal },
    );
  };
  const allProcesses = (): DriverProcess[] => [...retired, ...agents.values(), ...(controllerProcess ? [controllerProcess] : []), ...nodeProcesses];

  const findResidue = (): Promise<string[]> =>
    findDriverResidue(
      {
        iqnPrefix: spec.iqnPrefix,
        vgs: storage.map((node) => node.vg),
        thinPool: 'pool',
        mounts: new RegExp(`^${kubeletDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`),
        stageRecordDirs: workers.map((w) => w.stateDir),
      },
      { sh, lio, iscsiadm, signal },
    );

  const stop = async (opts: { readonly failed: boolean }): Promise<void> => {
    const note = (what: string) => (err: unknown) => ctx.log(`cleanup ${what}: ${err instanceof Error ? err.message : String(err)}`);
    for (const c of clients) c.close();
    const procs = allProcesses();
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    if (opts.failed) for (const p of procs) ctx.log(`--- ${p.name} (last lines) ---\n${tail(p.output(), 60)}`);
    // Best effort, in teardown order, so that a failed run does not leave work for the next scenario.
    const leftovers = await findResidue().catch((err: unknown) => [`(residue check failed: ${String(err)})`]);
    if (leftovers.length > 0) ctx.log(`cleaning up what is left: ${leftovers.join('; ')}`);
    if (kubeletMounted) await sh('umount', ['-R', '-l', kubeletDir]).catch(note('umount kubelet'));
    const dm = await sh('dmsetup', ['ls']).catch(() => ({ stdout: '' }));
    // Read-only devices (-ro-) first: each holds its volume's device open.
    const dmNames = dm.stdout.split('\n').map((line) => line.split('\t')[0]?.trim() ?? '').filter((name) => NODE_DM_NAME.test(name));
    for (const name of dmNames.sort((x, y) => Number(y.includes('-ro-')) - Number(x.includes('-ro-')))) {
      await sh('dmsetup', ['remove', '--force', name]).catch(note(`dmsetup remove ${name}`));
    }
    for (const s of await iscsiadm.listSessions(signal).catch(() => [])) {
      if (!s.targetIqn.startsWith(`${spec.iqnPrefix}:`)) continue;
      const target = { targetIqn: s.targetIqn, portal: s.portal };
      await sh('iscsiadm', ['-m', 'session', '-r', String(s.sid), '-u']).catch(note(`logout ${s.targetIqn}`));
      await iscsiadm.deleteNodeRecord(target, signal).catch(note(`node record ${s.targetIqn}`));
    }
    for (const w of spec.workers) if (w.iscsiIface) await iscsiadm.deleteIface(w.iscsiIface, signal).catch(note(`iface ${w.iscsiIface}`));
    for (const exp of await lio.listExports().catch(() => [])) {
      if (exp.targetIqn.startsWith(`${spec.iqnPrefix}:`)) await lio.unexportVolume(exp.targetIqn, exp.luns[0]?.backstore?.name ?? '').catch(note(`unexport ${exp.targetIqn}`));
    }
    for (const vg of vgs) await vg.destroy(ctx.log);
  };

  try {
    await mkdir(kubeletDir, { recursive: true });
    await sh('mount', ['-t', 'tmpfs', 'kubelet', kubeletDir]);
    kubeletMounted = true;
    // Each node plugin fetches CHAP credentials from the agents with a certificate naming its initiator.
    const hostInitiator = await readInitiatorName();
    const initiatorOf = (w: WorkerSpec): string => (w.initiatorName ?? hostInitiator).toLowerCase();
    certs = await makeClusterCertificates(join(ctx.workDir, 'tls'), storage, [...new Set(spec.workers.map(initiatorOf))]);
    await writeFile(chapKeyPath, recordSecret('chap-key', 'cluster CHAP key', randomBytes(32)), { mode: 0o600 });
    for (const node of storage) vgs.push(await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: node.vg, fileMiB: 1024, poolMiB: spec.poolMiB ?? 512, signal }));

    // Everything starts at once, as pods would; then each is waited for.
    for (const node of storage) startAgent(node);
    const ctlSocket = join(ctx.workDir, 'ctl.sock');
    controllerProcess = launch('controller', 'controller', [
      '--endpoint', `unix://${ctlSocket}`, '--agents', storage.map((n) => `${n.ip}:${AGENT_PORT}`).join(','),
      '--tls-ca', certs.caPath, '--client-tls-cert', certs.client.cert, '--client-tls-key', certs.client.key, '--status-interval-seconds', spec.quiet ? '10' : '2',
    ]);
    const pending: { spec: WorkerSpec; process: DriverProcess; stateDir: string; csi: CsiApi }[] = [];
    for (const w of spec.workers) {
      const stateDir = join(ctx.workDir, `state-${w.name}`);
      const socket = join(ctx.workDir, `${w.name}.sock`);
      const process = launch('node', w.name, [
        '--node-id', w.name, '--endpoint', `unix://${socket}`, '--state-dir', stateDir,
        ...(w.initiatorName ? ['--initiator-name', w.initiatorName] : []),
        ...(w.iscsiIface ? ['--iscsi-iface', w.iscsiIface] : []),
        '--tls-ca', certs.caPath, '--tls-cert', certs.nodes.get(initiatorOf(w))!.cert, '--tls-key', certs.nodes.get(initiatorOf(w))!.key,
      ]);
      nodeProcesses.push(process);
      const csi = connectCsi(`unix://${socket}`, 240_000);
      clients.push(csi);
      pending.push({ spec: w, process, stateDir, csi });
    }

    let allocatable = 0;
    for (const node of storage) allocatable += await waitAgentReady(node);
    const ctl = connectCsi(`unix://${ctlSocket}`, 240_000);
    clients.push(ctl);
    const controller = controllerProcess;
    // Placement uses the controller's polled statuses: wait until GetCapacity counts every agent's pool.
    await pollUntil(
      async () => {
        if (controller.hasExited()) throw new Error(`the controller exited:\n${tail(controller.output(), 60)}`);
        const cap = await ctl.controller.getCapacity({ volume_capabilities: [], parameters: {} }).catch(() => undefined);
        return cap !== undefined && Number(cap.available_capacity) >= 0.9 * allocatable ? true : undefined;
      },
      { deadlineMs: Date.now() + READY_DEADLINE_MS, intervalMs: 1000, what: `the controller to count both agents' pools (${allocatable} bytes) in GetCapacity`, signal },
    );
    for (const p of pending) {
      const info = await pollUntil(
        async () => {
          if (p.process.hasExited()) throw new Error(`node ${p.spec.name} exited:\n${tail(p.process.output(), 60)}`);
          return p.csi.node.nodeGetInfo({}).catch(() => undefined);
        },
        { deadlineMs: Date.now() + READY_DEADLINE_MS, intervalMs: 500, what: `node ${p.spec.name} to answer NodeGetInfo`, signal },
      );
      workers.push({ name: p.spec.name, nodeId: info.node_id, csi: p.csi, process: p.process, stateDir: p.stateDir, iscsiIface: p.spec.iscsiIface });
    }

    return {
      controller: ctl.controller,
      workers,
      storage,
      kubeletDir,
      runner,
      iqnPrefix: spec.iqnPrefix,
      agentProcess: (name) => {
        const p = agents.get(name);
        if (!p) throw new Error(`no storage node ${name}`);
        return p;
      },
      agentClient,
      async restartAgent(name, opts) {
        const node = storage.find((n) => n.name === name);
        const agent = agents.get(name);
        if (!node || !agent) throw new Error(`no storage node ${name}`);
        const killedAt = performance.now();
        agent.kill('SIGKILL');
        await agent.exited;
        if (opts.wipeLio) {
          for (const exp of await lio.listExports()) {
            if (exp.targetIqn.startsWith(`${spec.iqnPrefix}:`) && exp.portals.some((p) => p.ip === node.ip)) {
              await lio.unexportVolume(exp.targetIqn, exp.luns[0]?.backstore?.name ?? '');
            }
          }
          await sh('lvm', ['vgchange', '-an', node.vg]);
        }
        const startedAt = performance.now();
        startAgent(node);
        await waitAgentReady(node);
        const readyAt = performance.now();
        return { downMs: Math.round(readyAt - killedAt), readyMs: Math.round(readyAt - startedAt) };
      },
      findResidue,
      stop,
    };
  } catch (err: unknown) {
    await stop({ failed: true });
    throw err;
  }
}

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Starts the cluster (timed on `clock`), runs `body`, and always stops it; on failure every
 * process's last output is printed first.
 */
export async function withCsiCluster<T>(
  ctx: ScenarioContext,
  clock: StepClock,
  spec: Parameters<typeof startCsiCluster>[1],
  body: (cluster: CsiCluster) => Promise<T>,
): Promise<T> {
  const cluster = await clock.timed(`start 2 agents, the controller and ${spec.workers.length} node plugin(s)`, () => startCsiCluster(ctx, spec));
  let failed = true;
  try {
    const result = await body(cluster);
    failed = false;
    return result;
  } finally {
    await cluster.stop({ failed });
  }
}
