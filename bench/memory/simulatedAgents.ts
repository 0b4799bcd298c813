import { Server } from '@grpc/grpc-js';
import { pino } from 'pino';
import { createAgentVolumesHandlers } from '../../src/agent/handlers/agentVolumesHandlers.ts';
import { GiB, TestAgent } from '../../test/cluster/controllerHarness.ts';
import { formatObjectId } from '../../src/csi/volumeIds.ts';
import { adaptUnary } from '../../src/grpc/adaptUnary.ts';
import { loadAgentProto } from '../../src/grpc/loadProtos.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { loadTlsFiles, serverCredentials } from '../../src/tls/index.ts';
import type { CertificateFiles } from '../../e2e/support/clusterCertificates.ts';

/** The worker some of the volumes are published to (their LUN ACLs name it). */
export const BENCH_WORKER_IQN = 'iqn.2026-11.io.vbs-bench:worker-1';

export interface SimulatedAgentsOptions {
  /** Storage node names, one agent each; their certificates are `certs.agents.get(name)`. */
  readonly names: readonly string[];
  /** Volumes to create before the controller starts, spread round-robin over the agents. */
  readonly volumes: number;
  /** Every n-th volume gets a snapshot, and every m-th is published to BENCH_WORKER_IQN (0 = none). */
  readonly snapshotEvery: number;
  readonly publishEvery: number;
  readonly certs: { readonly caPath: string; readonly agents: ReadonlyMap<string, CertificateFiles> };
}

export interface SimulatedAgents {
  /** host:port of each agent, for --agents. */
  readonly addresses: readonly string[];
  readonly volumeIds: readonly string[];
  readonly snapshotIds: readonly string[];
  /** What GetCapacity answers once the controller has polled every agent (nothing reserved). */
  capacityBytes(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Real storage agents in this process, as the controller meets them over the network: the agent's
 * own AgentVolumes (over the in-memory LVM and the simulated LIO configfs of the unit tests) and
 * NodeStatusReporter, behind the real agent gRPC handlers on 127.0.0.1 with mutual TLS. The
 * volumes, snapshots and ACLs are made through AgentVolumes before anything is measured.
 */
export async function startSimulatedAgents(opts: SimulatedAgentsOptions): Promise<SimulatedAgents> {
  const silent = pino({ level: 'silent' });
  const proto = loadAgentProto().vbs.agent.v1;
  const agents = await Promise.all(
    opts.names.map((name, index) => TestAgent.create({ name, poolSizeBytes: 4096 * GiB, vgFreeBytes: 4096 * GiB, overprovisionRatio: 5 }, index)),
  );
  const servers: RunningServer[] = [];
  try {
    const made = await Promise.all(agents.map((agent, index) => populate(agent, index, opts)));
    for (const agent of agents) {
      const files = opts.certs.agents.get(agent.name);
      if (!files) throw new Error(`no certificate for agent ${agent.name}`);
      const tls = await loadTlsFiles({ caPath: opts.certs.caPath, certPath: files.cert, keyPath: files.key });
      const server = new Server();
      server.addService(proto.AgentStatus.service, { GetNodeStatus: adaptUnary('agent.GetNodeStatus', silent, (_req, { signal }) => agent.wireNodeStatus(signal)) });
      server.addService(proto.AgentVolumes.service, createAgentVolumesHandlers(agent.volumes, silent));
      servers.push(await serve({ server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log: silent, credentials: serverCredentials(tls) }));
    }
    return {
      addresses: servers.map((s) => s.address),
      volumeIds: made.flatMap((m) => m.volumeIds).sort(),
      snapshotIds: made.flatMap((m) => m.snapshotIds).sort(),
      async capacityBytes() {
        const statuses = await Promise.all(agents.map((a) => a.wireNodeStatus()));
        return statuses.reduce((sum, s) => sum + Number(s.thin_pool?.allocatable_bytes ?? 0), 0);
      },
      async close() {
        await Promise.all(servers.map((s) => s.shutdown(0)));
        await Promise.all(agents.map((a) => a.destroy()));
      },
    };
  } catch (err: unknown) {
    await Promise.all(servers.map((s) => s.shutdown(0)));
    await Promise.all(agents.map((a) => a.destroy()));
    throw err;
  }
}

/** This agent's share of the volumes (every agents.length-th, from its index), one after another as lvcreate runs. */
async function populate(agent: TestAgent, index: number, opts: SimulatedAgentsOptions): Promise<{ volumeIds: string[]; snapshotIds: string[] }> {
  const volumeIds: string[] = [];
  const snapshotIds: string[] = [];
  for (let i = index; i < opts.volumes; i += opts.names.length) {
    const volume = await agent.volumes.createVolume({ name: `pvc-bench-${i}`, sizeBytes: GiB, thick: false });
    volumeIds.push(formatObjectId({ node: agent.name, id: volume.id }));
    if (opts.publishEvery > 0 && i % opts.publishEvery === 0) {
      await agent.volumes.exportVolume({ volumeId: volume.id, initiatorIqn: BENCH_WORKER_IQN, readOnly: false, mutualChap: false });
    }
    if (opts.snapshotEvery > 0 && i % opts.snapshotEvery === 0) {
      const snapshot = await agent.volumes.createSnapshot({ name: `snapshot-bench-${i}`, sourceVolumeId: volume.id });
      snapshotIds.push(formatObjectId({ node: agent.name, id: snapshot.id }));
    }
  }
  return { volumeIds, snapshotIds };
}
