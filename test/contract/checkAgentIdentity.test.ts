import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createAgentServer } from '../../src/agent/createAgentServer.ts';
import { UnavailableError } from '../../src/errors.ts';
import { loadAgentProto } from '../../src/grpc/loadProtos.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { clientCredentials, createCertificateAuthority, issueCertificate, serverCredentials } from '../../src/tls/index.ts';
import type { PemPair, TlsMaterial } from '../../src/tls/index.ts';
import { ServerIdentityRecorder, agentIdentityMismatch, withCheckedIdentity } from '../../src/controller/checkAgentIdentity.ts';
import { connectAgent } from '../../src/agentApi/client.ts';

describe('agentIdentityMismatch', () => {
  test('accepts only an agent identity naming the reported storage node', () => {
    assert.equal(agentIdentityMismatch('10.0.0.5:9500', 'agent-a', { kind: 'agent', storageNode: 'agent-a' }), undefined);
    assert.match(
      agentIdentityMismatch('10.0.0.5:9500', 'agent-a', { kind: 'agent', storageNode: 'agent-b' }) ?? '',
      /the agent at 10\.0\.0\.5:9500 reports storage node "agent-a" but its certificate is for urn:vbs-csi:agent:agent-b/,
    );
    assert.match(agentIdentityMismatch('a:1', 'agent-a', undefined) ?? '', /certificate is for a certificate with no vbs-csi identity/);
    assert.notEqual(agentIdentityMismatch('a:1', 'agent-a', { kind: 'controller' }), undefined);
  });
});

describe('the controller checks the identity of the agent it reached (real mutual TLS)', () => {
  let ca: PemPair;
  let controller: TlsMaterial;
  const servers: RunningServer[] = [];

  /** An agent server whose certificate names `certName` and whose status reports `reports`. */
  async function agentServer(certName: string, reports: string): Promise<string> {
    const leaf = await issueCertificate(ca, { commonName: certName, ipAddresses: ['127.0.0.1'], usages: 'server', identity: { kind: 'agent', storageNode: certName }, validDays: 1 });
    const server = createAgentServer(pino({ level: 'silent' }));
    server.addService(loadAgentProto().vbs.agent.v1.AgentStatus.service, {
      GetNodeStatus: (_c: unknown, cb: (e: null, r: object) => void) => cb(null, { node_name: reports, ready: true }),
    });
    const running = await serve({ server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log: pino({ level: 'silent' }), credentials: serverCredentials({ caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem }) });
    servers.push(running);
    return running.address;
  }
  function connect(address: string) {
    const seen = new ServerIdentityRecorder();
    return withCheckedIdentity(address, connectAgent(address, clientCredentials(controller, { onServerCertificate: seen.record })), () => seen.current());
  }

  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'identity test CA', validDays: 2 });
    const c = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
    controller = { caPem: ca.certPem, certPem: c.certPem, keyPem: c.keyPem };
  });
  after(async () => {
    for (const s of servers) await s.shutdown(500);
  });

  test('believes an agent whose certificate names the node it reports', async () => {
    const agent = connect(await agentServer('agent-a', 'agent-a'));
    try {
      assert.equal((await agent.getNodeStatus()).name, 'agent-a');
    } finally {
      agent.close();
    }
  });

  test("refuses an agent that claims another storage node's name", async () => {
    const address = await agentServer('agent-b', 'agent-a');
    const agent = connect(address);
    try {
      await assert.rejects(agent.getNodeStatus(), (err: Error) => {
        assert.ok(err instanceof UnavailableError);
        assert.match(err.message, new RegExp(`the agent at ${address.replace(/\./g, '\\.')} reports storage node "agent-a" but its certificate is for urn:vbs-csi:agent:agent-b`));
        return true;
      });
    } finally {
      agent.close();
    }
  });
});
