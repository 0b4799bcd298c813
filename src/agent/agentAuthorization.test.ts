import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { ServiceError, sendUnaryData } from '@grpc/grpc-js';
import { pino } from 'pino';
import { loadAgentProto } from '../grpc/loadProtos.ts';
import { serve } from '../grpc/serve.ts';
import type { RunningServer } from '../grpc/serve.ts';
import { unary } from '../grpc/csiClients.ts';
import { adaptUnary } from '../grpc/adaptUnary.ts';
import { clientCredentials, createCertificateAuthority, issueCertificate, serverCredentials } from '../tls/index.ts';
import type { PemPair, TlsMaterial } from '../tls/index.ts';
import { requireNodeCaller } from './callerPolicy.ts';
import { createAgentServer } from './createAgentServer.ts';

// The agent's server (createAgentServer) over real mutual TLS on 127.0.0.1: who may call what is
// decided by the identity in the client certificate, before any handler runs.

const WORKER_IQN = 'iqn.2026-01.io.example:worker-1';

describe('agent authorization by caller identity', () => {
  let ca: PemPair;
  let running: RunningServer;
  let port: number;
  const handled: string[] = [];
  const logLines: string[] = [];
  const mat = (leaf: PemPair): TlsMaterial => ({ caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem });
  const certs: Record<string, TlsMaterial> = {};
  /** What the call metrics heard (src/metrics/CallMetrics.ts counts exactly these): "service method code". */
  const observed: string[] = [];

  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'authz test CA', validDays: 2 });
    const agent = await issueCertificate(ca, { commonName: 'agent-a', ipAddresses: ['127.0.0.1'], usages: 'server', identity: { kind: 'agent', storageNode: 'agent-a' }, validDays: 1 });
    certs['controller'] = mat(await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 }));
    certs['node'] = mat(await issueCertificate(ca, { commonName: 'worker-1', usages: 'client', identity: { kind: 'node', initiatorIqn: WORKER_IQN }, validDays: 1 }));
    certs['agent'] = mat(agent);
    certs['anonymous'] = mat(await issueCertificate(ca, { commonName: 'controller', usages: 'client', validDays: 1 }));

    const log = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
    const server = createAgentServer(log, (service) => ({ observe: (method, code) => observed.push(`${service} ${method} ${code}`) }));
    const proto = loadAgentProto().vbs.agent.v1;
    const record = (name: string, answer: object) => (_call: unknown, cb: sendUnaryData<object>) => {
      handled.push(name);
      cb(null, answer);
    };
    server.addService(proto.AgentStatus.service, { GetNodeStatus: record('GetNodeStatus', { node_name: 'agent-a', ready: true }) });
    server.addService(proto.AgentVolumes.service, { ListVolumes: record('ListVolumes', { volumes: [] }) });
    // As the chap handler is built: adaptUnary hands it the caller's identity (ctx.caller).
    server.addService(proto.AgentCredentials.service, {
      GetChapCredentials: adaptUnary('agent.GetChapCredentials', pino({ level: 'silent' }), async (request: { initiator_iqn: string }, ctx) => {
        handled.push('GetChapCredentials');
        requireNodeCaller(ctx.caller, request.initiator_iqn);
        return {};
      }),
    });
    running = await serve({ server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log: pino({ level: 'silent' }), credentials: serverCredentials(mat(agent)) });
    port = Number(running.address.split(':').pop());
  });
  after(() => running.shutdown(1000));

  async function call(who: string, service: 'AgentStatus' | 'AgentVolumes' | 'AgentCredentials', method: string, request: object = {}): Promise<unknown> {
    const Client = loadAgentProto().vbs.agent.v1[service] as unknown as new (...a: unknown[]) => Record<string, (...a: unknown[]) => void> & { close(): void };
    const client = new Client(`127.0.0.1:${port}`, clientCredentials(certs[who]!), {});
    try {
      return await unary((o, cb) => client[method]!(request, o, cb), 5000);
    } finally {
      client.close();
    }
  }
  async function refused(p: Promise<unknown>, code: status): Promise<ServiceError> {
    const before = handled.length;
    const err = await p.then(() => assert.fail('the call succeeded'), (e: unknown) => e as ServiceError);
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    assert.equal(handled.length, before, 'a handler ran');
    return err;
  }

  test('the controller may call AgentStatus and AgentVolumes', async () => {
    assert.equal(((await call('controller', 'AgentStatus', 'GetNodeStatus')) as { node_name: string }).node_name, 'agent-a');
    await call('controller', 'AgentVolumes', 'ListVolumes');
    assert.deepEqual(handled.slice(-2), ['GetNodeStatus', 'ListVolumes']);
  });

  test('a node plugin is refused AgentVolumes and AgentStatus with PERMISSION_DENIED, and the log names it', async () => {
    const err = await refused(call('node', 'AgentVolumes', 'ListVolumes'), status.PERMISSION_DENIED);
    assert.match(err.details, /urn:vbs-csi:node:iqn\.2026-01\.io\.example:worker-1 may not call it; only the controller may/);
    await refused(call('node', 'AgentStatus', 'GetNodeStatus'), status.PERMISSION_DENIED);
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['method'] === '/vbs.agent.v1.AgentVolumes/ListVolumes');
    assert.equal(line?.['identity'], `urn:vbs-csi:node:${WORKER_IQN}`);
    assert.equal(line?.['code'], 'PERMISSION_DENIED');
    assert.match(String(line?.['peer']), /127\.0\.0\.1:\d+/);
    assert.doesNotMatch(logLines.join(''), /PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  test('a node plugin may ask for its own initiator’s credentials only; the controller may not ask at all', async () => {
    await call('node', 'AgentCredentials', 'GetChapCredentials', { volume_id: 'agent-a/v', initiator_iqn: WORKER_IQN });
    const other = await call('node', 'AgentCredentials', 'GetChapCredentials', { volume_id: 'agent-a/v', initiator_iqn: 'iqn.2026-01.io.example:worker-2' }).catch((e: ServiceError) => e);
    assert.equal((other as ServiceError).code, status.PERMISSION_DENIED);
    assert.match((other as ServiceError).details, /may only ask about what is published to its own initiator/);
    await refused(call('controller', 'AgentCredentials', 'GetChapCredentials', { volume_id: 'agent-a/v', initiator_iqn: WORKER_IQN }), status.PERMISSION_DENIED);
  });

  test("an agent's server certificate cannot be used to call an agent", async () => {
    // OpenSSL refuses a serverAuth-only certificate as a client in the handshake; were it let
    // through, the policy refuses agent identities everything.
    await refused(call('agent', 'AgentStatus', 'GetNodeStatus'), status.UNAVAILABLE);
  });

  test('a certificate from the cluster CA without a vbs-csi identity is UNAUTHENTICATED', async () => {
    const err = await refused(call('anonymous', 'AgentVolumes', 'ListVolumes'), status.UNAUTHENTICATED);
    assert.match(err.details, /carries no vbs-csi identity/);
  });

  test('refused calls are heard by the call metrics by service, method and code, as served ones are', async () => {
    observed.length = 0;
    await refused(call('anonymous', 'AgentStatus', 'GetNodeStatus'), status.UNAUTHENTICATED);
    await refused(call('node', 'AgentVolumes', 'ListVolumes'), status.PERMISSION_DENIED);
    await call('controller', 'AgentStatus', 'GetNodeStatus');
    assert.deepEqual(observed, ['vbs.agent.v1.AgentStatus agent.GetNodeStatus UNAUTHENTICATED', 'vbs.agent.v1.AgentVolumes agent.ListVolumes PERMISSION_DENIED']);
  });
});
