import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Server } from '@grpc/grpc-js';
import { pino } from 'pino';
import { createAgentVolumesHandlers } from '../../src/agent/handlers/agentVolumesHandlers.ts';
import { connectAgent } from '../../src/agentApi/client.ts';
import type { AgentClient } from '../../src/agentApi/client.ts';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../src/errors.ts';
import { adaptUnary } from '../../src/grpc/adaptUnary.ts';
import { loadAgentProto } from '../../src/grpc/loadProtos.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { serveOverMutualTls } from '../../src/grpc/testing/serveOverMutualTls.ts';
import { MiB, TestCluster } from '../cluster/controllerHarness.ts';
import type { TestAgent } from '../cluster/controllerHarness.ts';

/**
 * The contract end to end: a real AgentVolumes behind the agent's real gRPC handlers, reached
 * through agentApi's client over mutual TLS, answers exactly what it answers in process. Whatever
 * is lost or bent on the way (a field, a CHAP shape, an error class) shows up as a difference.
 */
describe('the controller–agent contract over gRPC', () => {
  const log = pino({ level: 'silent' });
  let cluster: TestCluster;
  let agent: TestAgent;
  let running: RunningServer;
  let client: AgentClient;

  before(async () => {
    cluster = await TestCluster.create({ agents: [{ name: 'store-a' }] });
    agent = cluster.agent('store-a');
    const server = new Server();
    const proto = loadAgentProto().vbs.agent.v1;
    server.addService(proto.AgentVolumes.service, createAgentVolumesHandlers(agent.volumes, log));
    server.addService(proto.AgentStatus.service, { GetNodeStatus: adaptUnary('agent.GetNodeStatus', log, (_req, { signal }) => agent.wireNodeStatus(signal)) });
    let clientCreds;
    ({ running, clientCreds } = await serveOverMutualTls(server, log));
    client = connectAgent(running.address, clientCreds);
  });
  after(async () => {
    client.close();
    await running.shutdown(5_000);
    await cluster.destroy();
  });

  test('volumes, snapshots, clones and exports read the same remotely as in process', async () => {
    const vol = await client.createVolume({ name: 'pvc-1', sizeBytes: 64 * MiB, thick: false });
    assert.deepEqual(vol, await agent.volumes.getVolume(vol.id));
    const snap = await client.createSnapshot({ name: 'snap-1', sourceVolumeId: vol.id });
    assert.deepEqual(snap, await agent.volumes.getSnapshot(snap.id));
    const restored = await client.createVolume({ name: 'pvc-2', sizeBytes: 64 * MiB, thick: false, contentSource: { kind: 'snapshot', id: snap.id } });
    assert.deepEqual(restored.contentSource, { kind: 'snapshot', id: snap.id });

    const mutual = await client.exportVolume({ volumeId: vol.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w1', readOnly: true, mutualChap: true });
    assert.deepEqual(mutual, await agent.volumes.exportVolume({ volumeId: vol.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w1', readOnly: true, mutualChap: true }));
    assert.deepEqual(Object.keys(mutual), ['target'], 'the controller gets the target, never a secret');
    assert.ok((await agent.volumes.chapCredentials({ volumeId: vol.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w1' })).chap.mutual, 'the ACL is mutual');
    await client.exportVolume({ volumeId: vol.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w2', readOnly: false, mutualChap: false });
    assert.equal((await agent.volumes.chapCredentials({ volumeId: vol.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w2' })).chap.mutual, undefined);

    assert.deepEqual(await client.getVolume(vol.id), await agent.volumes.getVolume(vol.id));
    assert.deepEqual(await client.listVolumes(), await agent.volumes.listVolumes());
    assert.deepEqual(await client.listSnapshots({ sourceVolumeId: vol.id }), await agent.volumes.listSnapshots({ sourceVolumeId: vol.id }));
    assert.deepEqual(await client.listSnapshots({}), await agent.volumes.listSnapshots({}));
    assert.deepEqual(await client.expandVolume(vol.id, 128 * MiB), await agent.volumes.getVolume(vol.id));

    await client.unexportVolume({ volumeId: vol.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w2' });
    assert.deepEqual((await client.getVolume(vol.id)).initiators.map((i) => i.iqn), ['iqn.1993-08.org.debian:01:w1']);
    const status = await client.getNodeStatus();
    assert.equal(status.name, 'store-a');
    assert.equal(status.volumeCount, 2);
  });

  test("the agent's domain errors arrive as the same domain errors", async () => {
    await assert.rejects(client.getVolume('vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa'), NotFoundError);
    await assert.rejects(client.getVolume('not-an-id'), InvalidArgumentError);
    await client.createVolume({ name: 'pvc-3', sizeBytes: 16 * MiB, thick: false });
    await assert.rejects(client.createVolume({ name: 'pvc-3', sizeBytes: 32 * MiB, thick: false }), AlreadyExistsError);
  });
});
