import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { AgentVolumes } from '../../src/agent/AgentVolumes.ts';
import { createAgentServer } from '../../src/agent/createAgentServer.ts';
import { createAgentCredentialsHandlers } from '../../src/agent/handlers/agentCredentialsHandlers.ts';
import { createAgentVolumesHandlers } from '../../src/agent/handlers/agentVolumesHandlers.ts';
import { InMemoryLvm } from '../../src/agent/testing/InMemoryLvm.ts';
import { RecordingZeroer } from '../../src/agent/testing/RecordingZeroer.ts';
import { connectAgent } from '../../src/agentApi/client.ts';
import type { AgentClient } from '../../src/agentApi/client.ts';
import { FailedPreconditionError } from '../../src/errors.ts';
import { loadAgentProto } from '../../src/grpc/loadProtos.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { LioTarget } from '../../src/lio/index.ts';
import { SimulatedLioConfigFs } from '../../src/lio/testing/SimulatedLioConfigFs.ts';
import { MIRROR_HEADER_BYTES, initialMirrorRecord, markAllInSync, markOutOfSync } from '../../src/replication/mirrorRecord.ts';
import { clientCredentials, createCertificateAuthority, issueCertificate, serverCredentials } from '../../src/tls/index.ts';
import type { PemPair } from '../../src/tls/index.ts';

const MiB = 1024 * 1024;
const WORKER_A = 'iqn.2026-12.io.example:worker-a';
const WORKER_B = 'iqn.2026-12.io.example:worker-b';

/**
 * A replicated volume's copy end to end: a real AgentVolumes behind the agent's server (caller
 * policy included) and its handlers, over mutual TLS. The controller creates the copy and
 * publishes it; the node it is published to reads and moves its record with its own node
 * certificate through agentApi's client; every other caller is refused.
 */
describe("a copy's record over gRPC: the controller creates, the node it is published to reads and compare-and-sets", () => {
  const log = pino({ level: 'silent' });
  let sim: SimulatedLioConfigFs;
  let volumes: AgentVolumes;
  let running: RunningServer;
  const clients: Record<'controller' | 'nodeA' | 'nodeB', AgentClient> = {} as never;

  before(async () => {
    sim = await SimulatedLioConfigFs.create();
    volumes = new AgentVolumes({
      lvm: new InMemoryLvm(),
      lio: new LioTarget({ configFs: sim }),
      chapKey: Buffer.alloc(32, 3),
      portal: { ip: '127.0.0.2', port: 3260 },
      storageNode: 'store-a',
      iqnPrefix: 'iqn.2026-12.io.vbs-test',
      overprovisionRatio: 2,
      zeroer: new RecordingZeroer(),
      log,
    });
    const ca = await createCertificateAuthority({ commonName: 'mirror test CA', validDays: 2 });
    const agentCert = await issueCertificate(ca, { commonName: 'store-a', ipAddresses: ['127.0.0.1'], usages: 'server', identity: { kind: 'agent', storageNode: 'store-a' }, validDays: 1 });
    const server = createAgentServer(log);
    const proto = loadAgentProto().vbs.agent.v1;
    server.addService(proto.AgentVolumes.service, createAgentVolumesHandlers(volumes, log));
    server.addService(proto.AgentCredentials.service, createAgentCredentialsHandlers(volumes, log));
    running = await serve({ server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log, credentials: serverCredentials({ caPem: ca.certPem, certPem: agentCert.certPem, keyPem: agentCert.keyPem }) });
    const connect = (leaf: PemPair) => connectAgent(running.address, clientCredentials({ caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem }), 10_000);
    clients.controller = connect(await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 }));
    clients.nodeA = connect(await issueCertificate(ca, { commonName: 'worker-a', usages: 'client', identity: { kind: 'node', initiatorIqn: WORKER_A }, validDays: 1 }));
    clients.nodeB = connect(await issueCertificate(ca, { commonName: 'worker-b', usages: 'client', identity: { kind: 'node', initiatorIqn: WORKER_B }, validDays: 1 }));
  });
  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await running.shutdown(5_000);
    await sim.destroy();
  });

  test('create, publish, read, compare-and-set, and the refusals', async () => {
    const record = initialMirrorRecord(['store-a', 'store-b'], 64 * MiB);
    const vol = await clients.controller.createVolume({ name: 'pvc-m', sizeBytes: 64 * MiB, thick: false, mirror: { slot: 0, record } });
    assert.deepEqual(vol.mirror, { slot: 0, headerBytes: MIRROR_HEADER_BYTES, record });
    assert.equal(vol.sizeBytes, 64 * MiB);
    assert.deepEqual(vol, await volumes.getVolume(vol.id), 'the same remotely as in process');
    await clients.controller.exportVolume({ volumeId: vol.id, initiatorIqn: WORKER_A, readOnly: false, mutualChap: false });

    assert.deepEqual(await clients.nodeA.mirrorRecord({ volumeId: vol.id, initiatorIqn: WORKER_A }), vol.mirror);
    const degraded = markOutOfSync(record, [1]);
    const set = { volumeId: vol.id, initiatorIqn: WORKER_A, expectedGeneration: 1, record: degraded };
    const applied = await clients.nodeA.setMirrorRecord(set);
    assert.deepEqual(applied, { applied: true, current: { slot: 0, headerBytes: MIRROR_HEADER_BYTES, record: degraded } });
    assert.deepEqual(await clients.nodeA.setMirrorRecord(set), applied, 'a retry');
    const lost = await clients.nodeA.setMirrorRecord({ ...set, record: { ...markAllInSync(record), generation: 2 } });
    assert.deepEqual(lost, { applied: false, current: applied.current }, 'a second generation 2 loses and learns the first');
    assert.deepEqual((await clients.controller.getVolume(vol.id)).mirror, applied.current, 'the controller sees the record move');

    // Another node, asking about the initiator the copy is published to: refused before the agent
    // looks. (agentApi's client reports PERMISSION_DENIED as a plain error naming the code: toDomainError.)
    const denied = /failed with PERMISSION_DENIED: .* may only ask about what is published to its own initiator/;
    await assert.rejects(clients.nodeB.mirrorRecord({ volumeId: vol.id, initiatorIqn: WORKER_A }), denied);
    await assert.rejects(clients.nodeB.setMirrorRecord({ ...set, expectedGeneration: 2, record: markAllInSync(degraded) }), denied);
    // About itself: the copy is not published to it.
    await assert.rejects(clients.nodeB.mirrorRecord({ volumeId: vol.id, initiatorIqn: WORKER_B }), FailedPreconditionError);
    // The controller may not call AgentCredentials at all; a node may not call AgentVolumes.
    await assert.rejects(clients.controller.mirrorRecord({ volumeId: vol.id, initiatorIqn: WORKER_A }), /PERMISSION_DENIED: .*GetMirrorRecord: urn:vbs-csi:controller may not call it; only the node plugins may/);
    await assert.rejects(clients.nodeA.getVolume(vol.id), /PERMISSION_DENIED: .* only the controller may/);
    assert.deepEqual((await volumes.getVolume(vol.id)).mirror, applied.current, 'no refused call changed anything');
  });
});
