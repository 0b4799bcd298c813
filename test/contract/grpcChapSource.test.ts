import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { createAgentCredentialsHandlers } from '../../src/agent/handlers/agentCredentialsHandlers.ts';
import type { AgentCredentialsPort } from '../../src/agentApi/types.ts';
import { FailedPreconditionError, UnavailableError } from '../../src/errors.ts';
import { loadAgentProto } from '../../src/grpc/loadProtos.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { createCertificateAuthority, issueCertificate, serverCredentials } from '../../src/tls/index.ts';
import type { TlsMaterial } from '../../src/tls/index.ts';
import { GrpcChapSource } from '../../src/node/grpcChapSource.ts';
import { parseIdentityUri } from '../../src/tls/identity.ts';

const IQN_A = 'iqn.2026-12.io.example:worker-a';
const IQN_B = 'iqn.2026-12.io.example:worker-b';
const TARGET = { iqn: 'iqn.2026-11.io.vbs:vol', portal: { ip: '127.0.0.1', port: 3260 }, lun: 0, serial: 'abc' };
const log = pino({ level: 'silent' });

/** The agent's AgentCredentials handler and the node's client, over real mutual TLS. */
describe('AgentCredentials over mutual TLS: GrpcChapSource and the agent handler', () => {
  let running: RunningServer;
  let asked: { volumeId: string; initiatorIqn: string }[];
  let ca: { certPem: string; keyPem: string };
  let node: (uri: string | undefined) => Promise<TlsMaterial>;
  const port: AgentCredentialsPort = {
    async chapCredentials(req) {
      asked.push(req);
      if (req.volumeId === 'vbs-vol-unpublished') throw new FailedPreconditionError(`volume ${req.volumeId} is not published to ${req.initiatorIqn}`);
      return { target: TARGET, chap: { username: 'u', password: 'p', mutual: { username: 'tu', password: 'tp' } } };
    },
    // Not what GrpcChapSource asks (test/contract/mirrorRecordOverGrpc.test.ts covers these).
    mirrorRecord: async (req) => Promise.reject(new FailedPreconditionError(`volume ${req.volumeId} is not a copy of a replicated volume`)),
    setMirrorRecord: async (req) => Promise.reject(new FailedPreconditionError(`volume ${req.volumeId} is not a copy of a replicated volume`)),
  };

  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'test CA', validDays: 2 });
    const agentCert = await issueCertificate(ca, { commonName: 'agent', ipAddresses: ['127.0.0.1'], identity: { kind: 'agent', storageNode: 'store-a' }, usages: 'server', validDays: 1 });
    const server = new Server();
    server.addService(loadAgentProto().vbs.agent.v1.AgentCredentials.service, createAgentCredentialsHandlers(port, log));
    running = await serve({ server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log, credentials: serverCredentials({ caPem: ca.certPem, certPem: agentCert.certPem, keyPem: agentCert.keyPem }) });
    node = async (uri) => {
      const leaf = await issueCertificate(ca, { commonName: 'node', ...(uri ? { identity: parseIdentityUri(uri)! } : {}), usages: 'client', validDays: 1 });
      return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
    };
  });
  after(async () => running.shutdown(1000));

  const req = (over: Partial<Parameters<GrpcChapSource['fetch']>[0]> = {}) => ({
    volumeId: 'vbs-vol-1',
    storageNode: 'store-a',
    agentAddress: running.address,
    initiatorIqn: IQN_A,
    ...over,
  });

  test('the node of the initiator gets the credentials, mutual included, and the target IQN', async () => {
    asked = [];
    const source = new GrpcChapSource({ tls: await node(`urn:vbs-csi:node:${IQN_A}`) });
    assert.deepEqual(await source.fetch(req()), { chap: { username: 'u', password: 'p', mutual: { username: 'tu', password: 'tp' } }, targetIqn: TARGET.iqn });
    assert.deepEqual(asked, [{ volumeId: 'vbs-vol-1', initiatorIqn: IQN_A }]);
  });

  test("another initiator's node, the controller and a certificate without identity are refused before the agent looks", async () => {
    asked = [];
    for (const [uri, code] of [
      [`urn:vbs-csi:node:${IQN_B}`, status.PERMISSION_DENIED],
      ['urn:vbs-csi:controller', status.PERMISSION_DENIED],
      [undefined, status.UNAUTHENTICATED],
    ] as const) {
      const source = new GrpcChapSource({ tls: await node(uri) });
      await assert.rejects(source.fetch(req()), (err: { code?: number; message: string }) => {
        assert.equal(err.code, code, err.message);
        assert.match(err.message, /vbs-csi certs --node/);
        return true;
      });
    }
    assert.deepEqual(asked, [], 'no secret was looked up for a refused caller');
  });

  test('a volume not published to this node is FAILED_PRECONDITION, passed on', async () => {
    const source = new GrpcChapSource({ tls: await node(`urn:vbs-csi:node:${IQN_A}`) });
    await assert.rejects(source.fetch(req({ volumeId: 'vbs-vol-unpublished' })), (err: Error) => err instanceof FailedPreconditionError && /not published/.test(err.message));
  });

  test('an agent that is not the storage node of the volume is never asked (identity checked, not the address)', async () => {
    asked = [];
    const source = new GrpcChapSource({ tls: await node(`urn:vbs-csi:node:${IQN_A}`) });
    await assert.rejects(source.fetch(req({ storageNode: 'store-b' })), (err: Error) => err instanceof UnavailableError && /urn:vbs-csi:agent:store-b/.test(err.message));
    assert.deepEqual(asked, []);
  });

  test('an unreachable agent is UNAVAILABLE', async () => {
    const source = new GrpcChapSource({ tls: await node(`urn:vbs-csi:node:${IQN_A}`), timeoutMs: 2000 });
    await assert.rejects(source.fetch(req({ agentAddress: '127.0.0.1:1' })), UnavailableError);
  });
});
