import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAgentServer } from '../agent/createAgentServer.ts';
import { parseConfig } from '../config/parseConfig.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import { unary } from '../grpc/csiClients.ts';
import { loadAgentProto } from '../grpc/loadProtos.ts';
import { serve } from '../grpc/serve.ts';
import { checkOwnIdentity } from '../tls/checkOwnIdentity.ts';
import { clientCredentials, loadTlsFiles, runCertsCommand, serverCredentials } from '../tls/index.ts';
import { loadControllerTls } from './loadControllerTls.ts';

// The README's path: `vbs-csi certs --out DIR --controller controller --agent NAME,ip=…`, then
// `vbs-csi all-in-one --tls-ca DIR/ca.crt --tls-cert DIR/NAME.crt --tls-key DIR/NAME.key`. The
// all-in-one's controller must reach its own agent over real mutual TLS with those files.

const quiet = { write: () => true };

describe('all-in-one with the certificates the README documents', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vbs-aio-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  function allInOneConfig(dir: string) {
    const parsed = parseConfig(
      ['all-in-one', '--node-id', 'aio', '--storage-node-name', 'agent-a', '--vg', 'vg1', '--portal', '127.0.0.1', '--agent-listen', 'tcp://127.0.0.1:0',
        '--tls-ca', join(dir, 'ca.crt'), '--tls-cert', join(dir, 'agent-a.crt'), '--tls-key', join(dir, 'agent-a.key'), '--chap-key-file', '/chap'],
      {},
    );
    assert.ok(parsed.ok, !parsed.ok ? parsed.errors.join('; ') : '');
    return parsed.config;
  }

  test('validates, and its controller reaches its own agent', async () => {
    const dir = join(root, 'pki');
    assert.equal(await runCertsCommand(['--out', dir, '--controller', 'controller', '--agent', 'agent-a,ip=127.0.0.1'], quiet, quiet), 0);
    const config = allInOneConfig(dir);

    const agentTls = await loadTlsFiles(config.agent!.tls);
    checkOwnIdentity(agentTls, { kind: 'agent', storageNode: config.agent!.nodeName }, 'vbs-csi certs --agent');
    const server = createAgentServer(pino({ level: 'silent' }));
    server.addService(loadAgentProto().vbs.agent.v1.AgentStatus.service, {
      GetNodeStatus: (_c: unknown, cb: (e: null, r: object) => void) => cb(null, { node_name: 'agent-a', ready: true }),
    });
    const running = await serve({ server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log: pino({ level: 'silent' }), credentials: serverCredentials(agentTls) });
    try {
      const controllerTls = await loadControllerTls(config.controller!);
      const Client = loadAgentProto().vbs.agent.v1.AgentStatus;
      const client = new Client(running.address, clientCredentials(controllerTls), {});
      try {
        const res = await unary<NodeStatus__Output>((o, cb) => client.GetNodeStatus({}, o, cb), 5000);
        assert.equal(res.node_name, 'agent-a');
      } finally {
        client.close();
      }
    } finally {
      await running.shutdown(1000);
    }
  });

  test('without a controller certificate, start-up says what is missing and how to make it', async () => {
    const dir = join(root, 'agent-only');
    assert.equal(await runCertsCommand(['--out', dir, '--agent', 'agent-a,ip=127.0.0.1'], quiet, quiet), 0);
    await assert.rejects(loadControllerTls(allInOneConfig(dir).controller!), (err: Error) => {
      assert.match(err.message, /controller\.crt: the certificate file does not exist\. The all-in-one's controller calls its own agent as urn:vbs-csi:controller/);
      assert.match(err.message, /vbs-csi certs --out DIR --controller controller/);
      return true;
    });
  });

  test("refuses the agent's own certificate as the controller's, saying why", async () => {
    const dir = join(root, 'pki');
    const config = allInOneConfig(dir);
    const wrong = { ...config.controller!, tls: { ...config.controller!.tls, certPath: join(dir, 'agent-a.crt'), keyPath: join(dir, 'agent-a.key') }, clientTlsBesideCa: false };
    await assert.rejects(loadControllerTls(wrong), /agent-a\.crt: the certificate is for urn:vbs-csi:agent:agent-a, but this role needs urn:vbs-csi:controller/);
  });
});
