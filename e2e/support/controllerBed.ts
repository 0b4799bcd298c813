import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { status as grpcStatus } from '@grpc/grpc-js';
import { execa } from 'execa';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { connectAgentWire } from '../../src/agentApi/client.ts';
import type { AgentWireApi } from '../../src/agentApi/client.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { clientCredentials } from '../../src/tls/index.ts';
import { readInitiatorName } from '../../src/iscsi/index.ts';
import { pollUntil } from '../vm/poll.ts';
import type { ScenarioContext } from '../scenarios/Scenario.ts';
import { makeClusterCertificates } from './clusterCertificates.ts';
import type { ClusterCertificates } from './clusterCertificates.ts';
import { startDriverProcess } from './driverProcess.ts';
import type { FaultArming } from './csiCluster.ts';
import { superviseProcess } from './supervisedProcess.ts';
import type { DriverProcess } from './driverProcess.ts';
import { createLoopVolumeGroup } from './loopVolumeGroup.ts';
import { recordSecret } from './secretLedger.ts';
import type { LoopVolumeGroup } from './loopVolumeGroup.ts';
import { StorageInspection } from './storageInspection.ts';
import type { InspectedLv } from './storageInspection.ts';

export const MiB = 1024 * 1024;

/** One simulated storage node: its VG on a loop file, its agent's address, its own IQN prefix. */
export interface BedStorageNode {
  readonly name: string;
  readonly vg: string;
  readonly ip: string;
  readonly iqnPrefix: string;
  readonly poolMiB: number;
}

export interface ControllerBedOptions {
  /** Short and distinct per scenario: VG names and IQN prefixes carry it, so leftovers never collide. */
  readonly tag: string;
  /** Pool sizes of store-a, store-b and, when given, store-c: two or three storage nodes. */
  readonly poolMiB: readonly [number, number] | readonly [number, number, number];
  /**
   * Give each storage node an address of its own outside 127.0.0.0/8 (10.98.0.2, .3, .4 as /32 on lo)
   * instead of 127.0.0.2, .3, .4, so that `offlineNode` can delete it: the kernel routes all of
   * 127/8 to lo whatever addresses lo has, so a 127.x portal can never be made to go silent.
   */
  readonly removableAddresses?: boolean;
  readonly overprovisionRatio: number;
  /** Also run a node plugin (role `node`) under the host's initiator name, with kubelet dirs on a tmpfs. */
  readonly nodePlugin: boolean;
  /**
   * Discover the agents as the chart does, through a DNS name with one address per agent
   * (`--agents-dns`), here lines of the guest's /etc/hosts, so a scenario can take an agent out of
   * discovery as a not-ready pod leaves its headless Service. Default: a static `--agents` list.
   */
  readonly agentsDns?: boolean;
  /**
   * Crash points to arm in the controller and the node plugin (src/faults/crashPoint.ts), each
   * firing once; armed processes are supervised and started again after the SIGKILL, as the kubelet
   * restarts a crashed container. Agents are not armed here (the fault suite covers them).
   */
  readonly faults?: FaultArming;
}

/** The node plugin process and a client of it. */
export interface BedWorker {
  readonly csi: CsiApi;
  /** Its CSI node id (the host's initiator IQN). */
  readonly nodeId: string;
  /** Kubelet's directory (a tmpfs): staging and target paths go under it. */
  readonly kubelet: string;
}

const STATUS_INTERVAL_SECONDS = 2;

/**
 * The controller's world on the real kernel, as processes: two or three `vbs-csi agent`s (store-a on
 * 127.0.0.2, store-b on 127.0.0.3, store-c on 127.0.0.4, or 10.98.0.x with `removableAddresses`;
 * each with its own loop-file VG, thin pool and IQN prefix, mutual TLS from one cluster CA), one `vbs-csi controller` on a unix socket with the agents as
 * a static list, and optionally a `vbs-csi node` plugin. Each step the scenario takes through
 * `step()` is logged with its duration; `report()` puts every process's log into the scenario's.
 */
export class ControllerBed {
  readonly ctx: ScenarioContext;
  readonly nodes: readonly [BedStorageNode, BedStorageNode, ...BedStorageNode[]];
  readonly inspect: StorageInspection;
  readonly timings: string[] = [];
  readonly #runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
  readonly #opts: ControllerBedOptions;
  readonly #t0 = performance.now();
  readonly #vgs: LoopVolumeGroup[] = [];
  readonly #agents = new Map<string, DriverProcess>();
  readonly #agentApis = new Map<string, AgentWireApi>();
  readonly #processes: DriverProcess[] = [];
  #certs: ClusterCertificates | undefined;
  #chapKeyPath = '';
  #controller: DriverProcess | undefined;
  #csi: CsiApi | undefined;
  #worker: (BedWorker & { readonly process: DriverProcess }) | undefined;
  #kubeletMounted = false;
  #hostsOriginal: string | undefined;
  readonly #addressesAdded = new Set<string>();

  private constructor(ctx: ScenarioContext, opts: ControllerBedOptions) {
    this.ctx = ctx;
    this.#opts = opts;
    this.inspect = new StorageInspection(this.#runner, ctx.signal);
    const node = (letter: string, ip: string, poolMiB: number): BedStorageNode => ({
      name: `store-${letter}`,
      vg: `vbs-${opts.tag}-${letter}`,
      ip,
      iqnPrefix: `iqn.2026-11.io.vbs-e2e-${opts.tag}-${letter}`,
      poolMiB,
    });
    const ip = (i: number) => (opts.removableAddresses ? `10.98.0.${i + 2}` : `127.0.0.${i + 2}`);
    const [first, second, ...more] = opts.poolMiB.map((poolMiB, i) => node('abc'[i]!, ip(i), poolMiB));
    this.nodes = [first!, second!, ...more];
  }

  /**
   * Runs `body` on a fresh bed and always takes it down. On failure every process's log goes
   * into the scenario log before the error propagates.
   */
  static async run(ctx: ScenarioContext, opts: ControllerBedOptions, body: (bed: ControllerBed) => Promise<void>): Promise<void> {
    const bed = new ControllerBed(ctx, opts);
    try {
      // Every process starts at once: a start is 10-60 s of module loading under TCG, and the
      // controller and node plugin wait for nothing but their own readiness.
      await bed.step(`bed: certificates, VGs, ${bed.nodes.length} agents, controller${opts.nodePlugin ? ' and node plugin' : ''} ready`, async () => {
        await bed.#startStorage();
        const worker = opts.nodePlugin ? bed.#startWorker() : undefined;
        worker?.catch(() => {}); // awaited below; this only keeps an early failure from being unhandled
        const controller = bed.#spawnController();
        await bed.#waitAgentsReady();
        await worker;
        await bed.#waitController(controller);
      });
      await body(bed);
      ctx.log(`timings: ${bed.timings.join('; ')}`);
    } catch (err: unknown) {
      ctx.log(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
      bed.report();
      throw err;
    } finally {
      await bed.#stop();
    }
  }

  get csi(): CsiApi {
    if (!this.#csi) throw new Error('the controller is not running');
    return this.#csi;
  }

  get worker(): BedWorker {
    if (!this.#worker) throw new Error('this bed has no node plugin');
    return this.#worker;
  }

  get iqnPrefixes(): string[] {
    return this.nodes.map((n) => n.iqnPrefix);
  }

  node(name: string): BedStorageNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no storage node ${name}`);
    return n;
  }

  /** The loop device under a storage node's VG (its only PV). */
  loopDevice(name: string): string {
    const vg = this.#vgs.find((v) => v.vgName === this.node(name).vg);
    if (!vg) throw new Error(`no VG for ${name}`);
    return vg.loopDevice;
  }

  /** Runs one step, logs it with the scenario clock and its duration, and keeps the duration. */
  async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await fn();
    const ms = Math.round(performance.now() - started);
    this.timings.push(`${what} ${ms} ms`);
    this.ctx.log(`[${((performance.now() - this.#t0) / 1000).toFixed(1)} s] ${what} (${ms} ms)`);
    return result;
  }

  /** Starts the controller (again) and waits until its capacity is that of `agents` (default both) together. */
  async startController(agents: readonly string[] = this.nodes.map((n) => n.name)): Promise<void> {
    await this.#waitController(this.#spawnController(), agents);
  }

  /** The operators' removed storage nodes record the controller reads (`--removed-storage-nodes file:...`). */
  get removedRecord(): string {
    return `file:${join(this.ctx.workDir, 'removed-storage-nodes.json')}`;
  }

  /** The DNS name the controller discovers the agents by (agentsDns). */
  get agentsDnsName(): string {
    return `vbs-${this.#opts.tag}-agents.test`;
  }

  /** Discovery answers with these agents only (agentsDns): the others' pods are "not ready". */
  async setDiscovered(names: readonly string[]): Promise<void> {
    if (!this.#opts.agentsDns) throw new Error('this bed discovers its agents from a fixed list');
    this.#hostsOriginal ??= await readFile('/etc/hosts', 'utf8');
    const ours = names.map((name) => `${this.node(name).ip} ${this.agentsDnsName}`);
    await writeFile('/etc/hosts', `${this.#hostsOriginal.trimEnd()}\n${ours.join('\n')}\n`);
  }

  /**
   * Takes a storage node off the network as a dead machine leaves it: SIGKILLs its agent (if it runs)
   * and deletes its address, so its LIO portal goes silent (packets to it go nowhere; sessions to it
   * time out as they would on a real network) while its targets and LVs stay in the kernel.
   * Needs `removableAddresses`.
   */
  async offlineNode(name: string): Promise<void> {
    const n = this.#removable(name);
    const proc = this.#agents.get(name);
    if (proc && !proc.hasExited()) await this.stopAgent(name);
    this.#agentApis.get(name)?.close();
    this.#agentApis.delete(name);
    await this.#ip(['addr', 'del', `${n.ip}/32`, 'dev', 'lo']);
    this.#addressesAdded.delete(n.ip);
  }

  /** Brings an offline storage node back: its address first (the agent listens on it), then its agent, until ready. */
  async onlineNode(name: string): Promise<void> {
    const n = this.#removable(name);
    await this.#ip(['addr', 'replace', `${n.ip}/32`, 'dev', 'lo']);
    this.#addressesAdded.add(n.ip);
    await this.startAgent(name);
  }

  #removable(name: string): BedStorageNode {
    if (!this.#opts.removableAddresses) throw new Error('this bed has no removable addresses (removableAddresses)');
    return this.node(name);
  }

  async #ip(args: readonly string[]): Promise<void> {
    await this.#runner.run({ file: 'ip', args, timeoutMs: 30_000 }, this.ctx.signal);
  }

  /** SIGKILLs a storage node's agent (its LIO targets stay in the kernel, as after a crash). */
  async stopAgent(name: string): Promise<void> {
    const proc = this.#agents.get(name);
    if (!proc) throw new Error(`no agent ${name}`);
    proc.kill('SIGKILL');
    await proc.exited;
  }

  /** Starts a storage node's agent again and waits until it is ready. */
  async startAgent(name: string): Promise<void> {
    this.#spawnAgent(this.node(name));
    const proc = this.#agents.get(name)!;
    await pollUntil(
      async () => {
        if (proc.hasExited()) throw new Error(`${name} exited before it was ready`);
        const st = await this.agentStatus(name).catch(() => undefined);
        return st?.ready ? st : undefined;
      },
      { deadlineMs: Date.now() + 300_000, intervalMs: 1000, what: `${name} to be ready again`, signal: this.ctx.signal },
    );
  }

  /** The current controller's log so far. */
  controllerOutput(): string {
    return this.#controller?.output() ?? '';
  }

  /** Runs the operator CLI (`node src/main.ts <args>`) with the controller's removed record in its environment. */
  async cli(args: readonly string[]): Promise<{ readonly exitCode: number | undefined; readonly stdout: string; readonly stderr: string }> {
    const r = await execa('node', ['src/main.ts', ...args], {
      cwd: this.ctx.projectRoot,
      env: { VBS_REMOVED_STORAGE_NODES: this.removedRecord },
      reject: false,
      timeout: 120_000,
      cancelSignal: this.ctx.signal,
    });
    this.ctx.log(`$ vbs-csi ${args.join(' ')} → exit ${r.exitCode}\n${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`);
    return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** A role's process, armed and supervised when the bed arms crash points for it. */
  #launch(opts: { readonly role: 'controller' | 'node'; readonly name: string; readonly args: readonly string[] }): DriverProcess {
    const points = this.#opts.faults?.points[opts.role] ?? [];
    if (!this.#opts.faults || points.length === 0) return startDriverProcess({ ctx: this.ctx, ...opts });
    const env = { VBS_FAULT_POINT: points.join(','), VBS_FAULT_ONCE_DIR: this.#opts.faults.onceDir };
    return superviseProcess(
      () => startDriverProcess({ ctx: this.ctx, ...opts, env }),
      (n, restarts) => this.ctx.log(`${n} died by SIGKILL (a crash point) and was started again (restart ${restarts})`),
    );
  }

  #spawnController(): DriverProcess {
    const certs = this.#requireCerts();
    const socket = join(this.ctx.workDir, 'controller.sock');
    const proc = this.#launch({
      name: `controller#${this.#processes.filter((p) => p.name.startsWith('controller')).length + 1}`,
      role: 'controller',
      args: [
        '--endpoint', `unix://${socket}`,
        ...(this.#opts.agentsDns ? ['--agents-dns', `${this.agentsDnsName}:9500`] : ['--agents', this.nodes.map((n) => `${n.ip}:9500`).join(',')]),
        '--removed-storage-nodes', this.removedRecord,
        '--tls-ca', certs.caPath, '--client-tls-cert', certs.client.cert, '--client-tls-key', certs.client.key,
        '--status-interval-seconds', String(STATUS_INTERVAL_SECONDS),
      ],
    });
    this.#processes.push(proc);
    this.#controller = proc;
    this.#csi?.close();
    this.#csi = connectCsi(`unix://${socket}`, 180_000);
    return proc;
  }

  async #waitController(proc: DriverProcess, agents: readonly string[] = this.nodes.map((n) => n.name)): Promise<void> {
    const csi = this.csi;
    let expected = 0;
    let polls = 0;
    await pollUntil(
      async () => {
        if (proc.hasExited()) throw new Error(`${proc.name} exited before it was serving`);
        const cap = await csi.controller.getCapacity({ parameters: {} }).catch(() => undefined);
        if (cap === undefined) return undefined;
        // The agents' own figures are dear under TCG (three lvm calls each): re-read them only on a mismatch.
        if (cap.available_capacity !== expected && polls++ % 5 === 0) {
          expected = (await Promise.all(agents.map(async (n) => (await this.agentStatus(n)).thin_pool?.allocatable_bytes ?? 0))).reduce((a, b) => a + b, 0);
        }
        return cap.available_capacity === expected && expected > 0 ? true : undefined;
      },
      { deadlineMs: Date.now() + 300_000, intervalMs: 1000, what: `${proc.name} to report the capacity of ${agents.join(' and ')}`, signal: this.ctx.signal },
    );
  }

  /** SIGKILLs the controller (as a node failure would) and waits for it to be gone. */
  async killController(): Promise<void> {
    const proc = this.#controller;
    if (!proc) return;
    proc.kill('SIGKILL');
    await proc.exited;
    this.#csi?.close();
    this.#csi = undefined;
    this.#controller = undefined;
  }

  /** An agent's status straight from it (mutual TLS with the controller's client certificate). */
  async agentStatus(name: string) {
    return this.#agentApi(name).getNodeStatus();
  }

  /** LVs of every storage node's VG (not the pools). */
  async lvs(): Promise<InspectedLv[]> {
    return this.inspect.lvs(this.nodes.map((n) => n.vg));
  }

  /** Our volume and snapshot LVs, LIO targets and iSCSI sessions, to check that nothing is left. */
  async leftovers(): Promise<{ lvs: string[]; targets: string[]; sessions: string[] }> {
    return {
      lvs: (await this.lvs()).filter((lv) => lv.tags['kind'] !== undefined).map((lv) => `${lv.vg}/${lv.name} (${lv.tags['name']})`),
      targets: await this.inspect.lioTargets(this.iqnPrefixes),
      sessions: await this.inspect.sessionTargets(this.iqnPrefixes),
    };
  }

  /** Where the controller placed what (its debug "placement" lines), for the log. */
  placementLines(): string[] {
    return (this.#processes.filter((p) => p.name.startsWith('controller')))
      .flatMap((p) => p.output().split('\n'))
      .filter((l) => l.includes('"msg":"placement"'))
      .map((l) => {
        try {
          const j = JSON.parse(l) as { name?: string; placement?: string };
          return `${j.name}: ${j.placement}`;
        } catch {
          return l;
        }
      });
  }

  /** Every process's log (last lines) into the scenario log. */
  report(lines = 80): void {
    for (const p of this.#processes) {
      this.ctx.log(`--- ${p.name} log (last ${lines} lines${p.hasExited() ? ', exited' : ''}) ---\n${p.output().split('\n').slice(-lines).join('\n')}`);
    }
  }

  #requireCerts(): ClusterCertificates {
    if (!this.#certs) throw new Error('certificates are not made yet');
    return this.#certs;
  }

  #agentApi(name: string): AgentWireApi {
    let api = this.#agentApis.get(name);
    if (!api) {
      api = connectAgentWire(`${this.node(name).ip}:9500`, clientCredentials(this.#requireCerts().clientMaterial), 30_000);
      this.#agentApis.set(name, api);
    }
    return api;
  }

  async #startStorage(): Promise<void> {
    const { ctx } = this;
    // The node plugin (worker-1, the host's initiator name) fetches CHAP credentials with its own certificate.
    this.#certs = await makeClusterCertificates(join(ctx.workDir, 'tls'), this.nodes, [await readInitiatorName()]);
    this.#chapKeyPath = join(ctx.workDir, 'chap.key');
    await writeFile(this.#chapKeyPath, recordSecret('chap-key', 'bed CHAP key', randomBytes(32)), { mode: 0o600 });
    for (const n of this.nodes) {
      if (this.#opts.removableAddresses) {
        await this.#ip(['addr', 'replace', `${n.ip}/32`, 'dev', 'lo']);
        this.#addressesAdded.add(n.ip);
      }
      this.#vgs.push(await createLoopVolumeGroup({ runner: this.#runner, dir: ctx.workDir, vgName: n.vg, fileMiB: n.poolMiB + 128, poolMiB: n.poolMiB, signal: ctx.signal }));
      this.#spawnAgent(n);
    }
    if (this.#opts.agentsDns) await this.setDiscovered(this.nodes.map((n) => n.name));
  }

  #spawnAgent(n: BedStorageNode): void {
    const { ctx } = this;
    const certs = this.#requireCerts();
    const leaf = certs.agents.get(n.name)!;
    const restarts = this.#processes.filter((p) => p.name === n.name || p.name.startsWith(`${n.name}#`)).length;
    const proc = startDriverProcess({
      ctx,
      name: restarts === 0 ? n.name : `${n.name}#${restarts + 1}`,
      role: 'agent',
      args: [
        '--node-id', n.name, '--vg', n.vg, '--portal', `${n.ip}:3260`, '--agent-listen', `tcp://${n.ip}:9500`,
        '--iqn-prefix', n.iqnPrefix, '--labels', 'zone=default,tier=ssd', '--overprovision-ratio', String(this.#opts.overprovisionRatio),
        // One kernel serves every agent here: one HBA each, since copies share their backstore's name.
        '--lio-hba-index', String(this.nodes.indexOf(n)),
        '--tls-ca', certs.caPath, '--tls-cert', leaf.cert, '--tls-key', leaf.key,
        '--chap-key-file', this.#chapKeyPath, '--endpoint', `unix://${join(ctx.workDir, `${n.name}.sock`)}`,
      ],
    });
    this.#processes.push(proc);
    this.#agents.set(n.name, proc);
  }

  async #waitAgentsReady(): Promise<void> {
    const { ctx } = this;
    for (const n of this.nodes) {
      const proc = this.#agents.get(n.name)!;
      await pollUntil(
        async () => {
          if (proc.hasExited()) throw new Error(`${n.name} exited before it was ready`);
          const st = await this.agentStatus(n.name).catch(() => undefined);
          return st?.ready ? st : undefined;
        },
        { deadlineMs: Date.now() + 300_000, intervalMs: 1000, what: `${n.name} to be ready`, signal: ctx.signal },
      );
    }
  }

  async #startWorker(): Promise<void> {
    const { ctx } = this;
    const kubelet = join(ctx.workDir, 'kubelet');
    await mkdir(kubelet, { recursive: true });
    // Kubelet's directories on a real filesystem, as on a node (vm-test-bed.md: overlay st_dev pitfall).
    await this.#runner.run({ file: 'mount', args: ['-t', 'tmpfs', 'kubelet', kubelet], timeoutMs: 30_000 }, ctx.signal);
    this.#kubeletMounted = true;
    const socket = join(ctx.workDir, 'node.sock');
    const certs = this.#requireCerts();
    const nodeCert = [...certs.nodes.values()][0]!;
    const proc = this.#launch({
      name: 'node-plugin',
      role: 'node',
      args: [
        '--node-id', 'worker-1', '--endpoint', `unix://${socket}`, '--state-dir', join(ctx.workDir, 'node-state'),
        '--tls-ca', certs.caPath, '--tls-cert', nodeCert.cert, '--tls-key', nodeCert.key,
      ],
    });
    this.#processes.push(proc);
    const csi = connectCsi(`unix://${socket}`, 180_000);
    const info = await pollUntil(
      async () => {
        if (proc.hasExited()) throw new Error('the node plugin exited before it was serving');
        return csi.node.nodeGetInfo({}).catch(() => undefined);
      },
      { deadlineMs: Date.now() + 300_000, intervalMs: 1000, what: 'the node plugin to answer', signal: ctx.signal },
    );
    this.#worker = { csi, nodeId: info.node_id, kubelet, process: proc };
  }

  /** Takes everything down, each step tolerating what an earlier failure left. */
  async #stop(): Promise<void> {
    const note = (what: string) => (err: unknown) => this.ctx.log(`cleanup ${what}: ${err instanceof Error ? err.message : String(err)}`);
    this.#csi?.close();
    this.#worker?.csi.close();
    for (const api of this.#agentApis.values()) api.close();
    for (const p of this.#processes) {
      p.kill('SIGTERM');
      const exit = await Promise.race([p.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000).unref())]);
      if (!exit) {
        p.kill('SIGKILL');
        await p.exited;
      }
    }
    // Whatever a failed run left: sessions, mounts of the kubelet dir, LIO targets (they hold the LVs open).
    const signal = new AbortController().signal;
    const sh = (file: string, args: readonly string[], okExitCodes: readonly number[] = [0]) => this.#runner.run({ file, args, timeoutMs: 60_000, okExitCodes }, signal);
    for (const t of await this.inspect.sessionTargets(this.iqnPrefixes).catch(() => [] as string[])) {
      await sh('iscsiadm', ['-m', 'node', '-T', t, '-u']).catch(note(`logout ${t}`));
    }
    if (this.#kubeletMounted) {
      const mounts = (await sh('findmnt', ['-rn', '-o', 'TARGET'], [0, 1]).catch(() => ({ stdout: '' }))).stdout.split('\n');
      const kubelet = join(this.ctx.workDir, 'kubelet');
      for (const m of mounts.filter((x) => x.startsWith(`${kubelet}/`)).reverse()) await sh('umount', ['-l', m]).catch(note(`umount ${m}`));
      await sh('umount', ['-l', kubelet]).catch(note('umount kubelet'));
    }
    const dmNames = (await sh('dmsetup', ['ls'], [0, 1]).catch(() => ({ stdout: '' }))).stdout.split('\n').map((l) => l.split(/\s/)[0] ?? '');
    for (const dm of dmNames.filter((d) => /^vbs-[0-9a-f]{20}$/.test(d))) await sh('dmsetup', ['remove', dm]).catch(note(`dmsetup remove ${dm}`));
    const lio = new LioTarget({ configFs: new FsConfigFs() });
    for (const exp of await lio.listExports().catch(() => [])) {
      if (!this.iqnPrefixes.some((p) => exp.targetIqn.startsWith(`${p}:`))) continue;
      await lio.unexportVolume(exp.targetIqn, exp.luns[0]?.backstore?.name ?? '').catch(note(`unexport ${exp.targetIqn}`));
    }
    for (const vg of this.#vgs) await vg.destroy(this.ctx.log);
    for (const ip of this.#addressesAdded) await sh('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']).catch(note(`ip addr del ${ip}`));
    if (this.#hostsOriginal !== undefined) await writeFile('/etc/hosts', this.#hostsOriginal).catch(note('restore /etc/hosts'));
  }
}

/** The gRPC status code of a rejection, or undefined for anything else. */
export function grpcCodeOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' ? err.code : undefined;
}

/** Calls `fn` until it succeeds, retrying on ABORTED and UNAVAILABLE (what a CO retries) until the deadline. */
export async function retryCsi<T>(fn: () => Promise<T>, opts: { readonly deadlineMs: number; readonly signal: AbortSignal; readonly onRetry?: (code: number, err: Error) => void }): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err: unknown) {
      const code = grpcCodeOf(err);
      const retriable = code === grpcStatus.ABORTED || code === grpcStatus.UNAVAILABLE;
      if (!retriable || Date.now() > opts.deadlineMs) throw err;
      opts.onRetry?.(code, err as Error);
      await delay(500, undefined, { signal: opts.signal });
    }
  }
}
