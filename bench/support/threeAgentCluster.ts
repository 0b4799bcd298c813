import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import { connectAgentWire } from '../../src/agentApi/client.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { clientCredentials } from '../../src/tls/index.ts';
import { makeClusterCertificates } from '../../e2e/support/clusterCertificates.ts';
import { startDriverProcess } from '../../e2e/support/driverProcess.ts';
import type { DriverProcess } from '../../e2e/support/driverProcess.ts';
import { createLoopVolumeGroup } from '../../e2e/support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../../e2e/support/loopVolumeGroup.ts';
import { recordSecret } from '../../e2e/support/secretLedger.ts';
import type { StepClock } from '../../e2e/support/stepClock.ts';
import { pollUntil } from '../../e2e/vm/poll.ts';
import type { ScenarioContext } from '../../e2e/scenarios/Scenario.ts';
import { BENCH_IQN_ROOT } from './allInOneDriver.ts';

const AGENT_PORT = 9500;
const READY_DEADLINE_MS = 300_000;

/** One storage node of the bench cluster: its agent's address, its VG and its own IQN prefix. */
export interface BenchStorageNode {
  readonly name: string;
  readonly ip: string;
  readonly vg: string;
  readonly thinPoolName: string;
  readonly iqnPrefix: string;
}

export interface ThreeAgentCluster {
  /** The controller process's CSI Controller service. */
  readonly controller: CsiApi['controller'];
  readonly nodes: readonly BenchStorageNode[];
  readonly runner: CommandRunner;
  /** IQN prefix for exports made by hand (no agent's reconcile looks at it). */
  readonly rawIqnPrefix: string;
  /** Removes every LIO export of this cluster (the agents' and the raw ones); best effort, logs what fails. */
  removeExports(): Promise<void>;
  /** SIGTERMs the agents and the controller and waits for them (idempotent); with `failed`, logs their last lines. */
  stopProcesses(failed: boolean): Promise<void>;
  /**
   * Stops the processes, then removes this cluster's exports and VGs (and their LVs and loop
   * files). Past the scenario's deadline (ctx.signal aborted) only the processes are stopped: the
   * runner has moved on to the next bench, whose devices and exports must not be touched.
   */
  stop(failed: boolean): Promise<void>;
}

/**
 * The driver as Kubernetes runs it, for benches: `ips.length` storage nodes, each a loop-file VG
 * with a thin pool of `poolMiB` and a `vbs-csi agent` process on its own loopback address, and
 * one `vbs-csi controller` process over them as a static list (mutual TLS from one cluster CA).
 * Production intervals (controller status poll 10 s, agent reconcile 60 s) and log level info, so
 * neither polling nor logging eats the guest's two CPUs. Resolves once every agent is ready and
 * the controller's GetCapacity counts every pool. IQN prefixes are `<bench root>-<tag>-<node
 * letter>` for the agents and `<bench root>-<tag>-raw` by hand; cleanup touches only those.
 */
export async function startThreeAgentCluster(
  ctx: ScenarioContext,
  spec: { readonly tag: string; readonly ips: readonly string[]; readonly poolMiB: number; readonly overprovisionRatio: number },
): Promise<ThreeAgentCluster> {
  const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
  const lio = new LioTarget({ configFs: new FsConfigFs() });
  const clusterPrefix = `${BENCH_IQN_ROOT}-${spec.tag}-`;
  const nodes: BenchStorageNode[] = spec.ips.map((ip, i) => {
    const letter = 'abcdefgh'[i] ?? String(i);
    return { name: `store-${letter}`, ip, vg: `vbs-bench-${spec.tag}-${letter}`, thinPoolName: 'pool', iqnPrefix: `${clusterPrefix}${letter}` };
  });
  const vgs: LoopVolumeGroup[] = [];
  const processes: DriverProcess[] = [];
  const clients: { close(): void }[] = [];
  const env = { VBS_LOG_LEVEL: 'info' };
  const note = (what: string) => (err: unknown) => ctx.log(`cleanup ${what}: ${err instanceof Error ? err.message : String(err)}`);

  const removeExports = async (): Promise<void> => {
    for (const exp of await lio.listExports().catch(() => [])) {
      if (exp.targetIqn.startsWith(clusterPrefix)) await lio.unexportVolume(exp.targetIqn, exp.luns[0]?.backstore?.name ?? '').catch(note(`unexport ${exp.targetIqn}`));
    }
  };
  let processesStopped = false;
  const stopProcesses = async (failed: boolean): Promise<void> => {
    if (processesStopped) return;
    processesStopped = true;
    for (const c of clients) c.close();
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    if (failed) for (const p of processes) ctx.log(`--- ${p.name} (last lines) ---\n${p.output().split('\n').slice(-60).join('\n')}`);
  };
  const stop = async (failed: boolean): Promise<void> => {
    await stopProcesses(failed);
    if (ctx.signal.aborted) {
      ctx.log(`past the deadline: the processes are stopped; the VGs ${nodes.map((n) => n.vg).join(', ')} and their exports stay, so the bench running now is not disturbed`);
      return;
    }
    await removeExports();
    for (const vg of vgs) {
      await vg.destroy(ctx.log);
      // The guest's /tmp is RAM: drop the loop file so the next bench has the room.
      await rm(join(ctx.workDir, `${vg.vgName}.img`), { force: true });
    }
  };

  try {
    const certs = await makeClusterCertificates(join(ctx.workDir, 'tls'), nodes);
    const chapKey = join(ctx.workDir, 'chap.key');
    await writeFile(chapKey, recordSecret('chap-key', 'bench cluster CHAP key', randomBytes(32)), { mode: 0o600 });
    for (const n of nodes) {
      vgs.push(await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: n.vg, fileMiB: spec.poolMiB + 128, poolMiB: spec.poolMiB, thinPoolName: n.thinPoolName, signal: ctx.signal }));
    }
    // Every process starts at once, as pods would; each is waited for after.
    for (const n of nodes) {
      const leaf = certs.agents.get(n.name);
      if (!leaf) throw new Error(`no certificate was issued for ${n.name}`);
      processes.push(
        startDriverProcess({
          ctx,
          role: 'agent',
          name: n.name,
          env,
          args: [
            '--node-id', n.name, '--vg', n.vg, '--thin-pool', n.thinPoolName, '--portal', `${n.ip}:3260`, '--agent-listen', `tcp://${n.ip}:${AGENT_PORT}`,
            '--iqn-prefix', n.iqnPrefix, '--labels', 'zone=default', '--overprovision-ratio', String(spec.overprovisionRatio),
            '--reconcile-interval-seconds', '60',
            '--tls-ca', certs.caPath, '--tls-cert', leaf.cert, '--tls-key', leaf.key,
            '--chap-key-file', chapKey, '--endpoint', `unix://${join(ctx.workDir, `${n.name}.sock`)}`,
          ],
        }),
      );
    }
    const ctlSocket = join(ctx.workDir, 'controller.sock');
    const controllerProcess = startDriverProcess({
      ctx,
      role: 'controller',
      name: 'controller',
      env,
      args: [
        '--endpoint', `unix://${ctlSocket}`, '--agents', nodes.map((n) => `${n.ip}:${AGENT_PORT}`).join(','),
        '--tls-ca', certs.caPath, '--client-tls-cert', certs.client.cert, '--client-tls-key', certs.client.key,
        '--status-interval-seconds', '10',
      ],
    });
    processes.push(controllerProcess);

    let allocatable = 0;
    for (const [i, n] of nodes.entries()) {
      const agent = processes[i];
      const api = connectAgentWire(`${n.ip}:${AGENT_PORT}`, clientCredentials(certs.clientMaterial), 30_000);
      clients.push(api);
      allocatable += await pollUntil(
        async () => {
          if (agent?.hasExited()) throw new Error(`the agent of ${n.name} exited before it was ready`);
          const st = await api.getNodeStatus().catch(() => undefined);
          return st?.ready ? Number(st.thin_pool?.allocatable_bytes ?? 0) : undefined;
        },
        { deadlineMs: Date.now() + READY_DEADLINE_MS, intervalMs: 1000, what: `the agent of ${n.name} to be ready`, signal: ctx.signal },
      );
    }
    const csi = connectCsi(`unix://${ctlSocket}`, 900_000);
    clients.push(csi);
    // Placement uses the controller's polled statuses: wait until GetCapacity counts every pool.
    await pollUntil(
      async () => {
        if (controllerProcess.hasExited()) throw new Error('the controller exited before it counted every pool');
        const cap = await csi.controller.getCapacity({ volume_capabilities: [], parameters: {} }).catch(() => undefined);
        return cap !== undefined && Number(cap.available_capacity) >= 0.9 * allocatable ? true : undefined;
      },
      { deadlineMs: Date.now() + READY_DEADLINE_MS, intervalMs: 1000, what: `the controller to count every pool (${allocatable} bytes) in GetCapacity`, signal: ctx.signal },
    );
    return { controller: csi.controller, nodes, runner, rawIqnPrefix: `${clusterPrefix}raw`, removeExports, stopProcesses, stop };
  } catch (err: unknown) {
    await stop(true);
    throw err;
  }
}

/** Starts the cluster (timed on `clock`), runs `body` with it, and always stops it. */
export async function withThreeAgentCluster<T>(
  ctx: ScenarioContext,
  clock: StepClock,
  spec: Parameters<typeof startThreeAgentCluster>[1],
  body: (cluster: ThreeAgentCluster) => Promise<T>,
): Promise<T> {
  const cluster = await clock.timed(`start ${spec.ips.length} agents (${spec.poolMiB} MiB thin pools, ratio ${spec.overprovisionRatio}) and the controller`, () => startThreeAgentCluster(ctx, spec));
  let failed = true;
  try {
    const result = await body(cluster);
    failed = false;
    return result;
  } finally {
    await cluster.stop(failed);
  }
}
