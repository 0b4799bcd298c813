import { join } from 'node:path';
import type { ClusterCertificates } from '../../e2e/support/clusterCertificates.ts';
import { pollUntil } from '../../e2e/vm/poll.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { CallTally } from './callTally.ts';
import { runControllerWorkload } from './controllerWorkload.ts';
import { measureProcess } from './measureProcess.ts';
import { runNodeWorkload } from './nodeWorkload.ts';
import type { StagedVolume } from './nodeWorkload.ts';
import type { RoleRun } from './report.ts';
import { startRoleProcess } from './roleProcess.ts';
import type { MeasuredRole, RoleProcess } from './roleProcess.ts';
import { BENCH_WORKER_IQN } from './simulatedAgents.ts';
import type { SimulatedAgents } from './simulatedAgents.ts';

export interface RunSettings {
  readonly projectRoot: string;
  readonly workDir: string;
  readonly rounds: number;
  readonly burst: number;
  readonly pageSize: number;
  readonly concurrency: number;
  readonly sampleIntervalMs: number;
}

/** What one run is about: the condition (volumes known) and which repetition it is. */
export interface RunCondition {
  readonly volumes: number;
  readonly repetition: number;
}

const START_DEADLINE_MS = 60_000;

/**
 * The controller role as its own process over the simulated agents (mutual TLS, as deployed):
 * once GetCapacity shows it has polled every agent, the controller workload runs `rounds` times
 * while its memory is measured. Each round must list every volume and snapshot the agents hold.
 * `volumeIds` are asked with ControllerGetVolume whether the agents hold them or not.
 */
export async function runController(s: RunSettings, c: RunCondition, agents: SimulatedAgents, certs: ClusterCertificates, volumeIds: readonly string[]): Promise<RoleRun> {
  const socket = join(s.workDir, `controller-${c.volumes}-${c.repetition}.sock`);
  const args = ['--endpoint', `unix://${socket}`, '--agents', agents.addresses.join(','), '--tls-ca', certs.caPath, '--client-tls-cert', certs.client.cert, '--client-tls-key', certs.client.key];
  const expectedCapacity = await agents.capacityBytes();
  return withRole(s, 'controller', args, socket, c, {
    ready: async (csi) => (await csi.controller.getCapacity({ parameters: {} }).catch(() => undefined))?.available_capacity === expectedCapacity,
    round: async (csi, round, tally) => {
      const r = await runControllerWorkload(csi, { volumeIds, pageSize: s.pageSize, concurrency: s.concurrency, burst: s.burst, round }, tally);
      if (r.listedVolumes !== agents.volumeIds.length || r.listedSnapshots !== agents.snapshotIds.length) {
        throw new Error(`the controller listed ${r.listedVolumes} volumes and ${r.listedSnapshots} snapshots; the agents hold ${agents.volumeIds.length} and ${agents.snapshotIds.length}`);
      }
    },
  });
}

/** The node role as its own process over a state directory (with or without stage records), driven as kubelet would. */
export async function runNode(s: RunSettings, c: RunCondition, stateDir: string, volumes: readonly StagedVolume[], certs: ClusterCertificates): Promise<RoleRun> {
  const socket = join(s.workDir, `node-${c.volumes}-${c.repetition}.sock`);
  // The node's own certificate (it fetches CHAP credentials from the agents with it); never used here.
  const tls = certs.nodes.get(BENCH_WORKER_IQN);
  if (!tls) throw new Error(`no node certificate for ${BENCH_WORKER_IQN}`);
  const args = ['--endpoint', `unix://${socket}`, '--node-id', 'bench-worker-1', '--initiator-name', BENCH_WORKER_IQN, '--state-dir', stateDir, '--tls-ca', certs.caPath, '--tls-cert', tls.cert, '--tls-key', tls.key];
  return withRole(s, 'node', args, socket, c, {
    ready: async (csi) => (await csi.node.nodeGetInfo({}).catch(() => undefined)) !== undefined,
    round: (csi, _round, tally) => runNodeWorkload(csi, volumes, s.concurrency, tally),
  });
}

/** Starts the role, waits until it serves, measures it through the rounds, stops it (SIGTERM) whatever happened. */
async function withRole(
  s: RunSettings,
  role: MeasuredRole,
  args: readonly string[],
  socket: string,
  c: RunCondition,
  steps: { ready: (csi: CsiApi) => Promise<boolean>; round: (csi: CsiApi, round: number, tally: CallTally) => Promise<void> },
): Promise<RoleRun> {
  const proc = startRoleProcess(s.projectRoot, role, args);
  const csi = connectCsi(`unix://${socket}`, 120_000);
  try {
    await pollUntil(
      async () => {
        if (proc.hasExited()) throw new Error(`the ${role} exited before it was serving`);
        return (await steps.ready(csi)) ? true : undefined;
      },
      { deadlineMs: Date.now() + START_DEADLINE_MS, intervalMs: 100, what: `the ${role} to serve` },
    );
    await proc.checkExecutable();
    const tally = new CallTally();
    const memory = await measureProcess({ pid: proc.pid, rounds: s.rounds, intervalMs: s.sampleIntervalMs, round: (i) => steps.round(csi, i, tally) });
    return { role, volumes: c.volumes, repetition: c.repetition, memory, calls: tally.counts() };
  } catch (err: unknown) {
    throw new Error(`${role} with ${c.volumes} volumes (repetition ${c.repetition + 1}): ${err instanceof Error ? err.message : String(err)}\n--- its last output ---\n${proc.outputTail()}`, { cause: err });
  } finally {
    csi.close();
    await stopRole(proc, role);
  }
}

async function stopRole(proc: RoleProcess, role: MeasuredRole): Promise<void> {
  const exit = await proc.stop();
  if (exit.exitCode !== 0) process.stderr.write(`warning: the ${role} did not exit cleanly on SIGTERM (code ${exit.exitCode}, signal ${exit.signal})\n`);
}
