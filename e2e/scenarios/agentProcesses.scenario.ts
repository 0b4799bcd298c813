import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { connectAgentWire } from '../../src/agentApi/client.ts';
import type { AgentWireApi } from '../../src/agentApi/client.ts';
import { Iscsiadm, byPathDevice, readInitiatorName, verifyDeviceSerial, waitForDevice } from '../../src/iscsi/index.ts';
import type { IscsiTarget } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { clientCredentials, createCertificateAuthority, issueCertificate } from '../../src/tls/index.ts';
import type { TlsMaterial } from '../../src/tls/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { startAgentProcess } from '../support/agentProcess.ts';
import type { AgentProcess } from '../support/agentProcess.ts';
import { recordChap, recordSecret } from '../support/secretLedger.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

const MiB = 1024 * 1024;
const IQN_PREFIX = 'iqn.2026-11.io.vbs-e2e';
const NODES = [
  { name: 'storage-a', vg: 'vbs-a', ip: '127.0.0.2' },
  { name: 'storage-b', vg: 'vbs-b', ip: '127.0.0.3' },
] as const;

/**
 * The storage agent as it runs in production: separate `vbs-csi agent` processes, one per storage
 * node with its own VG and portal, reached over gRPC with mutual TLS. Proves what in-process tests
 * cannot: refusal of clients without a valid certificate, a SIGKILL in the middle of CreateVolume
 * followed by a converging retry, and exports rebuilt from the LV tags after LIO lost everything
 * (as after a reboot) with the data intact.
 */
export const agentProcessesScenario: Scenario = {
  name: 'two agent processes over mutual TLS: volumes on each node, certificate refusal, SIGKILL mid-create converges, exports rebuilt after LIO is wiped',
  timeoutMs: 600_000,
  async run(ctx) {
    const { signal } = ctx;
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const iscsiadm = new Iscsiadm({ runner, timeoutsMs: { login: 60_000 } });
    const initiatorIqn = await readInitiatorName();
    const tls = await makeCertificates(join(ctx.workDir, 'tls'), initiatorIqn);
    const chapKeyPath = join(ctx.workDir, 'chap.key');
    await writeFile(chapKeyPath, recordSecret('chap-key', 'agents\' CHAP key', randomBytes(32)), { mode: 0o600 });

    const vgs: LoopVolumeGroup[] = [];
    const agents = new Map<string, AgentProcess>();
    const clients: AgentWireApi[] = [];
    const sessions: IscsiTarget[] = [];
    const controllerCreds = clientCredentials(tls.controller);
    const start = async (node: (typeof NODES)[number], env: Record<string, string> = {}) => {
      const agent = startAgentProcess({
        ctx,
        name: node.name,
        env,
        args: [
          '--node-id', node.name, '--vg', node.vg, '--portal', `${node.ip}:3260`, '--agent-listen', `tcp://${node.ip}:9500`,
          '--iqn-prefix', IQN_PREFIX, '--labels', `tier=ssd,zone=${node.name}`, '--reconcile-interval-seconds', '5',
          '--tls-ca', tls.caPath, '--tls-cert', tls.leaves.get(node.name)!.cert, '--tls-key', tls.leaves.get(node.name)!.key,
          '--chap-key-file', chapKeyPath, '--endpoint', `unix://${join(ctx.workDir, `${node.name}.sock`)}`,
        ],
      });
      agents.set(node.name, agent);
      return agent;
    };
    const client = (node: (typeof NODES)[number]) => {
      const c = connectAgentWire(`${node.ip}:9500`, controllerCreds, 60_000);
      clients.push(c);
      return c;
    };
    // This host's node plugin identity: what may fetch the CHAP credentials of its own initiator.
    const nodeClient = (node: (typeof NODES)[number]) => {
      const c = connectAgentWire(`${node.ip}:9500`, clientCredentials(tls.node), 60_000);
      clients.push(c);
      return c;
    };

    try {
      for (const node of NODES) {
        vgs.push(await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: node.vg, fileMiB: 1024, poolMiB: 512, signal }));
        await start(node);
      }
      const [nodeA, nodeB] = NODES;
      const a = client(nodeA);
      const b = client(nodeB);
      for (const [node, api] of [[nodeA, a], [nodeB, b]] as const) {
        const st = await waitReady(ctx, api, agents.get(node.name)!);
        assert.equal(st.node_name, node.name);
        assert.equal(st.volume_group?.name, node.vg);
        assert.deepEqual(st.portal, { ip: node.ip, port: 3260 });
        assert.equal(st.labels['zone'], node.name);
        assert.ok((st.thin_pool?.allocatable_bytes ?? 0) > 0, 'a fresh pool has room');
        ctx.log(`${node.name} ready: ${st.thin_pool?.allocatable_bytes} bytes allocatable`);
      }

      // Certificates: only a client of the cluster CA gets in.
      for (const [what, creds] of [
        ['another CA', clientCredentials(tls.rogue)],
        ['no client certificate', credentials.createSsl(Buffer.from(tls.controller.caPem))],
      ] as const) {
        const intruder = connectAgentWire(`${nodeA.ip}:9500`, creds, 10_000);
        await assert.rejects(intruder.getNodeStatus(), (err: ServiceError) => err.code === grpcStatus.UNAVAILABLE, `a client with ${what} got in`);
        intruder.close();
        ctx.log(`a client with ${what} is refused`);
      }
      // Identities: the cluster CA is not enough; the agent authorizes by the certificate's URI.
      for (const [what, creds, code] of [
        ['a node plugin identity', tls.node, grpcStatus.PERMISSION_DENIED],
        ['no vbs-csi identity', tls.anonymous, grpcStatus.UNAUTHENTICATED],
      ] as const) {
        const caller = connectAgentWire(`${nodeA.ip}:9500`, clientCredentials(creds), 10_000);
        await assert.rejects(caller.listVolumes(), (err: ServiceError) => err.code === code, `a client with ${what} was not refused with ${grpcStatus[code]}`);
        caller.close();
        ctx.log(`a client with ${what} is refused with ${grpcStatus[code]}`);
      }

      // A volume on each node; the same request again returns the same volume.
      const va = (await a.createVolume({ name: 'pvc-a1', size_bytes: 64 * MiB })).volume!;
      const vb = (await b.createVolume({ name: 'pvc-b1', size_bytes: 32 * MiB })).volume!;
      assert.equal((await a.createVolume({ name: 'pvc-a1', size_bytes: 64 * MiB })).volume?.id, va.id, 'CreateVolume is idempotent by name');
      await assert.rejects(a.createVolume({ name: 'pvc-a1', size_bytes: 128 * MiB }), (err: ServiceError) => err.code === grpcStatus.ALREADY_EXISTS);
      assert.equal(vb.target?.portal?.ip, nodeB.ip, 'each volume is served from its own node');
      assert.equal((await b.getVolume(vb.id)).volume?.name, 'pvc-b1');
      await assert.rejects(a.getVolume(vb.id), (err: ServiceError) => err.code === grpcStatus.NOT_FOUND, 'a volume of node B is unknown to node A');

      // Data on volume a1 through an export to this host.
      const written = randomBytes(8 * MiB);
      const dataFile = join(ctx.workDir, 'written.bin');
      await writeFile(dataFile, written);
      const targetA = await attachAndCheck(ctx, a, nodeClient(nodeA), iscsiadm, va.id, initiatorIqn, sessions);
      await runner.run({ file: 'dd', args: [`if=${dataFile}`, `of=${targetA.device}`, 'bs=1M', 'oflag=direct', 'status=none'], timeoutMs: 60_000 }, signal);
      await detach(iscsiadm, targetA.target, signal);
      ctx.log(`8 MiB written to ${va.id}`);

      // SIGKILL between the LV and its export; the retry after a restart converges.
      await stopAgent(agents.get(nodeA.name)!, 'SIGTERM');
      const crashing = await start(nodeA, { VBS_FAULT_POINT: 'agent.create-volume.after-lv' });
      const a2 = client(nodeA);
      await waitReady(ctx, a2, crashing);
      await assert.rejects(a2.createVolume({ name: 'pvc-a2', size_bytes: 16 * MiB }), 'the agent dies in the middle of CreateVolume');
      const exit = await crashing.exited;
      assert.equal(exit.signal, 'SIGKILL', `the agent was to die by SIGKILL at the fault point, got ${JSON.stringify(exit)}`);
      const restarted = await start(nodeA);
      const a3 = client(nodeA);
      await waitReady(ctx, a3, restarted);
      const v2 = (await a3.createVolume({ name: 'pvc-a2', size_bytes: 16 * MiB })).volume!;
      const named = (await a3.listVolumes()).volumes.filter((v) => v.name === 'pvc-a2');
      assert.equal(named.length, 1, 'exactly one volume carries the name after the retry');
      const lvs = await runner.run({ file: 'lvm', args: ['lvs', '--noheadings', '-o', 'lv_name', nodeA.vg], timeoutMs: 30_000 }, signal);
      assert.equal(lvs.stdout.split('\n').filter((l) => l.trim() === v2.id).length, 1, 'no orphan LV');
      const lio = new LioTarget({ configFs: new FsConfigFs() });
      assert.ok((await lio.readExport(v2.target!.iqn)) !== undefined, 'the export missing after the crash is there after the retry');
      ctx.log(`crash at agent.create-volume.after-lv, retry converged on ${v2.id}`);

      // LIO loses everything (as at a reboot) and the LVs are deactivated: the restarted agent
      // rebuilds the exports from the LV tags before it says ready, same IQN and serial.
      await stopAgent(restarted, 'SIGKILL');
      for (const exp of await lio.listExports()) {
        if (exp.targetIqn.startsWith(`${IQN_PREFIX}:`) && exp.portals.some((p) => p.ip === nodeA.ip)) {
          const backstore = exp.luns[0]?.backstore?.name;
          await lio.unexportVolume(exp.targetIqn, backstore ?? '');
        }
      }
      assert.equal((await lio.readExport(va.target!.iqn)), undefined, 'the export is gone from LIO');
      await runner.run({ file: 'lvm', args: ['vgchange', '-an', nodeA.vg], timeoutMs: 60_000 }, signal);
      const rebooted = await start(nodeA);
      const a4 = client(nodeA);
      await waitReady(ctx, a4, rebooted);
      const again = await attachAndCheck(ctx, a4, nodeClient(nodeA), iscsiadm, va.id, initiatorIqn, sessions);
      assert.equal(again.target.targetIqn, va.target!.iqn, 'the same target IQN');
      const readFileBack = join(ctx.workDir, 'read.bin');
      await runner.run(
        { file: 'dd', args: [`if=${again.device}`, `of=${readFileBack}`, 'bs=1M', `count=${written.length / MiB}`, 'iflag=direct', 'status=none'], timeoutMs: 60_000 },
        signal,
      );
      assert.equal(sha256(await readFile(readFileBack)), sha256(written), 'the data survived the loss of LIO state');
      await detach(iscsiadm, again.target, signal);
      ctx.log('exports rebuilt after LIO was wiped; data intact');

      // Clean up through the API, then stop the agents the way Kubernetes does.
      for (const v of [va, v2]) await a4.deleteVolume(v.id);
      await b.deleteVolume(vb.id);
      assert.deepEqual((await a4.listVolumes()).volumes, []);
      for (const node of NODES) {
        const agent = agents.get(node.name)!;
        const result = await stopAgent(agent, 'SIGTERM');
        assert.equal(result.exitCode, 0, `${node.name} exited with ${JSON.stringify(result)} on SIGTERM`);
      }
      assert.deepEqual((await lio.listExports()).filter((e) => e.targetIqn.startsWith(`${IQN_PREFIX}:`)), [], 'no target is left');
    } finally {
      for (const c of clients) c.close();
      for (const t of sessions) await detach(iscsiadm, t, signal).catch(() => {});
      for (const agent of agents.values()) await stopAgent(agent, 'SIGKILL').catch(() => {});
      for (const vg of vgs) await vg.destroy(ctx.log);
      for (const agent of agents.values()) ctx.log(`--- ${agent.name} log (last lines) ---\n${agent.output().split('\n').slice(-40).join('\n')}`);
    }
  },
};

async function waitReady(ctx: ScenarioContext, api: AgentWireApi, agent: AgentProcess) {
  return pollUntil(
    async () => {
      if (agent.hasExited()) throw new Error(`${agent.name} exited before it was ready:\n${agent.output()}`);
      const st = await api.getNodeStatus().catch(() => undefined);
      return st?.ready ? st : undefined;
    },
    { deadlineMs: Date.now() + 90_000, intervalMs: 500, what: `${agent.name} to be ready`, signal: ctx.signal },
  );
}

/** ControllerPublish's Export (the controller's identity: the target, no secret), then the node plugin's GetChapCredentials (its own identity), then the login. */
async function attachAndCheck(ctx: ScenarioContext, api: AgentWireApi, nodeApi: AgentWireApi, iscsiadm: Iscsiadm, volumeId: string, initiatorIqn: string, sessions: IscsiTarget[]) {
  const { target } = await api.exportVolume({ volume_id: volumeId, initiator_iqn: initiatorIqn });
  assert.ok(target?.portal, 'Export returns the target');
  const { chap } = await nodeApi.getChapCredentials(volumeId, initiatorIqn);
  if (chap) recordChap(`credentials of ${volumeId}`, { password: chap.password, mutualPassword: chap.mutual_password });
  assert.ok(chap, 'the node plugin identity of this initiator gets its CHAP credentials');
  const iscsiTarget: IscsiTarget = { targetIqn: target.iqn, portal: { ip: target.portal.ip, port: target.portal.port } };
  await iscsiadm.ensureNodeRecord({ target: iscsiTarget, chap: { username: chap.username, password: chap.password } }, ctx.signal);
  await iscsiadm.login(iscsiTarget, ctx.signal);
  sessions.push(iscsiTarget);
  const device = await waitForDevice(byPathDevice(iscsiTarget.portal, target.iqn, target.lun), { deadlineMs: 30_000, pollMs: 100, signal: ctx.signal });
  assert.equal(await verifyDeviceSerial(device, target.serial), 'vpd_pg80', 'the LUN carries the volume serial');
  return { target: iscsiTarget, device };
}

async function detach(iscsiadm: Iscsiadm, target: IscsiTarget, signal: AbortSignal) {
  await iscsiadm.logout(target, signal);
  await iscsiadm.deleteNodeRecord(target, signal);
}

async function stopAgent(agent: AgentProcess, sig: 'SIGTERM' | 'SIGKILL') {
  agent.kill(sig);
  return agent.exited;
}

interface Certificates {
  readonly controller: TlsMaterial;
  readonly rogue: TlsMaterial;
  /** This host's node plugin identity: AgentVolumes must refuse it (PERMISSION_DENIED); it may fetch its own initiator's CHAP credentials. */
  readonly node: TlsMaterial;
  /** From the cluster CA, with no vbs-csi identity: UNAUTHENTICATED. */
  readonly anonymous: TlsMaterial;
  readonly caPath: string;
  readonly leaves: ReadonlyMap<string, { readonly cert: string; readonly key: string }>;
}

/** A cluster CA with a server certificate per agent (its portal IP in the SAN) and a controller client certificate; plus a client of another CA. */
async function makeCertificates(dir: string, initiatorIqn: string): Promise<Certificates> {
  await mkdir(dir, { recursive: true });
  const ca = await createCertificateAuthority({ commonName: 'vbs-e2e cluster CA', validDays: 2 });
  const leaves = new Map<string, { cert: string; key: string }>();
  for (const node of NODES) {
    const leaf = await issueCertificate(ca, { commonName: node.name, dnsNames: [], ipAddresses: [node.ip], usages: 'server', identity: { kind: 'agent', storageNode: node.name }, validDays: 1 });
    const files = { cert: join(dir, `${node.name}.crt`), key: join(dir, `${node.name}.key`) };
    await writeFile(files.cert, leaf.certPem);
    await writeFile(files.key, recordSecret('tls-private-key', `${node.name} key`, leaf.keyPem), { mode: 0o600 });
    leaves.set(node.name, files);
  }
  const caPath = join(dir, 'ca.crt');
  await writeFile(caPath, ca.certPem);
  const controller = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
  const otherCa = await createCertificateAuthority({ commonName: 'someone else', validDays: 2 });
  const rogue = await issueCertificate(otherCa, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
  const node = await issueCertificate(ca, { commonName: 'worker', usages: 'client', identity: { kind: 'node', initiatorIqn }, validDays: 1 });
  const anonymous = await issueCertificate(ca, { commonName: 'controller', usages: 'client', validDays: 1 });
  return {
    node: { caPem: ca.certPem, certPem: node.certPem, keyPem: recordSecret('tls-private-key', 'node plugin key', node.keyPem) },
    anonymous: { caPem: ca.certPem, certPem: anonymous.certPem, keyPem: recordSecret('tls-private-key', 'identity-less client key', anonymous.keyPem) },
    controller: { caPem: ca.certPem, certPem: controller.certPem, keyPem: recordSecret('tls-private-key', 'controller key', controller.keyPem) },
    rogue: { caPem: ca.certPem, certPem: rogue.certPem, keyPem: recordSecret('tls-private-key', 'rogue client key', rogue.keyPem) },
    caPath,
    leaves,
  };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
