import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, credentials, status } from '@grpc/grpc-js';
import type { ChannelOptions, ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { loadAgentProto } from './loadProtos.ts';
import { serve } from './serve.ts';
import type { RunningServer } from './serve.ts';
import { unary } from './csiClients.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import { createCertificateAuthority, issueCertificate } from '../tls/createCertificates.ts';
import type { LeafCertificateOptions } from '../tls/createCertificates.ts';
import { clientCredentials, serverCredentials } from '../tls/credentials.ts';
import type { ClientTlsOptions } from '../tls/credentials.ts';
import type { PemPair } from '../tls/pemPair.ts';
import type { TlsMaterial } from '../tls/loadTlsFiles.ts';

// A real grpc-js server on 127.0.0.1 with the agent's AgentStatus service behind mutual TLS,
// and clients holding certificates made at test time. Every refusal must come from the TLS
// handshake: the handler is never reached.

const DAY_MS = 86_400_000;

function material(ca: PemPair, leaf: PemPair): TlsMaterial {
  return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
}

function leafOptions(commonName: string, usages: LeafCertificateOptions['usages'], extra: Partial<LeafCertificateOptions> = {}): LeafCertificateOptions {
  return { commonName, usages, validDays: 1, ...extra };
}

describe('mutual TLS between the controller and an agent', () => {
  let clusterCa: PemPair;
  let controller: TlsMaterial;
  let running: RunningServer;
  let port: number;
  let handlerCalls = 0;

  before(async () => {
    clusterCa = await createCertificateAuthority({ commonName: 'vbs-csi test cluster CA', validDays: 2 });
    const agent = await issueCertificate(clusterCa, leafOptions('agent-a', 'server', { dnsNames: ['agent-a.vbs-agent.test'], ipAddresses: ['127.0.0.1'] }));
    controller = material(clusterCa, await issueCertificate(clusterCa, leafOptions('controller', 'client')));

    const server = new Server();
    server.addService(loadAgentProto().vbs.agent.v1.AgentStatus.service, {
      GetNodeStatus: (_call: unknown, cb: (err: null, res: { node_name: string; ready: boolean }) => void) => {
        handlerCalls += 1;
        cb(null, { node_name: 'agent-a', ready: true });
      },
    });
    running = await serve({
      server,
      endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      log: pino({ level: 'silent' }),
      credentials: serverCredentials(material(clusterCa, agent)),
    });
    port = Number(running.address.split(':').pop());
  });

  after(() => running.shutdown(1000));

  /** One GetNodeStatus call over a fresh channel; `host` is what the client dials (and checks the certificate against). */
  async function getNodeStatus(
    creds: TlsMaterial,
    opts: { host?: string; tls?: ClientTlsOptions; channel?: ChannelOptions } = {},
  ): Promise<NodeStatus__Output> {
    const Client = loadAgentProto().vbs.agent.v1.AgentStatus;
    const client = new Client(`${opts.host ?? '127.0.0.1'}:${port}`, clientCredentials(creds, opts.tls), opts.channel ?? {});
    try {
      return await unary<NodeStatus__Output>((o, cb) => client.GetNodeStatus({}, o, cb), 5000);
    } finally {
      client.close();
    }
  }

  /** Asserts the call fails with `code` and that the server-side handler did not run. */
  async function assertRefused(call: Promise<unknown>, code = status.UNAVAILABLE): Promise<ServiceError> {
    const before = handlerCalls;
    const err = await call.then(
      () => assert.fail('the call succeeded'),
      (e: unknown) => e as ServiceError,
    );
    if (process.env['VBS_TLS_TEST_DEBUG']) console.log(err.details);
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    assert.equal(handlerCalls, before, 'the handler ran');
    return err;
  }

  test('answers a client whose certificate comes from the cluster CA', async () => {
    const before = handlerCalls;
    const res = await getNodeStatus(controller);
    assert.equal(res.node_name, 'agent-a');
    assert.equal(handlerCalls, before + 1);
  });

  test('refuses a client that presents no certificate', async () => {
    // Trusts the cluster CA (so it accepts the agent) but has no certificate of its own to show.
    const Client = loadAgentProto().vbs.agent.v1.AgentStatus;
    const client = new Client(`127.0.0.1:${port}`, credentials.createSsl(Buffer.from(clusterCa.certPem)), {});
    try {
      await assertRefused(unary((o, cb) => client.GetNodeStatus({}, o, cb), 5000));
    } finally {
      client.close();
    }
  });

  test('refuses a client whose certificate comes from another CA', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'vbs-csi test cluster CA', validDays: 2 });
    const impostor = await issueCertificate(otherCa, leafOptions('controller', 'client'));
    // It trusts the real CA, so only the server's check of the client can refuse it.
    await assertRefused(getNodeStatus({ caPem: clusterCa.certPem, certPem: impostor.certPem, keyPem: impostor.keyPem }));
  });

  test('refuses a client whose certificate has expired', async () => {
    const expired = await issueCertificate(clusterCa, leafOptions('controller', 'client', { now: new Date(Date.now() - 3 * DAY_MS) }));
    await assertRefused(getNodeStatus(material(clusterCa, expired)));
  });

  test('refuses a client presenting a server-only certificate (another agent cannot call an agent)', async () => {
    const otherAgent = await issueCertificate(clusterCa, leafOptions('agent-b', 'server', { ipAddresses: ['127.0.0.1'] }));
    await assertRefused(getNodeStatus(material(clusterCa, otherAgent)));
  });

  test('answers a client whose certificate is for both server and client use', async () => {
    const allInOne = await issueCertificate(clusterCa, leafOptions('all-in-one', 'both', { ipAddresses: ['127.0.0.1'] }));
    assert.equal((await getNodeStatus(material(clusterCa, allInOne))).node_name, 'agent-a');
  });

  test('a client that does not trust the cluster CA refuses the agent', async () => {
    // Its own certificate is a good one: only its check of the agent can fail.
    const otherCa = await createCertificateAuthority({ commonName: 'vbs-csi test cluster CA', validDays: 2 });
    const err = await assertRefused(getNodeStatus({ ...controller, caPem: otherCa.certPem, keyPem: controller.keyPem }));
    assert.match(err.details, /certificate/i);
  });

  test('the client refuses an agent whose certificate does not name the host it dialled', async () => {
    // The agent's certificate names 127.0.0.1 and agent-a.vbs-agent.test, not localhost.
    const err = await assertRefused(getNodeStatus(controller, { host: 'localhost' }));
    assert.match(err.details, /localhost|altnames|Hostname/i);
  });

  test('dialling an address, the client can check the agent certificate against the name it expects', async () => {
    assert.equal((await getNodeStatus(controller, { host: 'localhost', tls: { expectedServerName: 'agent-a.vbs-agent.test' } })).node_name, 'agent-a');
    await assertRefused(getNodeStatus(controller, { tls: { expectedServerName: 'agent-b.vbs-agent.test' } }));
  });

  test('grpc.ssl_target_name_override also selects the name checked', async () => {
    const channel = { 'grpc.ssl_target_name_override': 'agent-a.vbs-agent.test' };
    assert.equal((await getNodeStatus(controller, { host: 'localhost', channel })).node_name, 'agent-a');
  });
});
