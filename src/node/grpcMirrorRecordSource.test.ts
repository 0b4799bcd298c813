import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AgentCredentialsPort, SetMirrorRecordRequest } from '../agentApi/types.ts';
import { FailedPreconditionError } from '../errors.ts';
import { initialMirrorRecord, markOutOfSync, MIRROR_HEADER_BYTES } from '../replication/mirrorRecord.ts';
import { createCertificateAuthority, issueCertificate } from '../tls/index.ts';
import type { TlsMaterial } from '../tls/index.ts';
import { GrpcMirrorRecordSource, LocalMirrorRecordSource } from './grpcMirrorRecordSource.ts';
import type { MirrorRecordClient } from './grpcMirrorRecordSource.ts';

const GEN1 = initialMirrorRecord(['store-a', 'store-b'], 2 ** 30);
const REQ = { volumeId: 'vbs-vol-abcdefghijklmnopqrstuvwxyz', storageNode: 'store-b', agentAddress: '10.0.0.6:9500', initiatorIqn: 'iqn.2026-11.io.test:worker-1' };

/** An agent's mirror record calls in memory; records what it was asked. */
function fakeAgent(asked: unknown[]): Pick<AgentCredentialsPort, 'mirrorRecord' | 'setMirrorRecord'> {
  return {
    mirrorRecord: async (req) => {
      asked.push(['read', req]);
      return { slot: 1, headerBytes: MIRROR_HEADER_BYTES, record: GEN1 };
    },
    setMirrorRecord: async (req: SetMirrorRecordRequest) => {
      asked.push(['set', req]);
      return { applied: true, current: { slot: 1, headerBytes: MIRROR_HEADER_BYTES, record: req.record } };
    },
  };
}

describe('GrpcMirrorRecordSource', () => {
  let tls: TlsMaterial;
  before(async () => {
    const ca = await createCertificateAuthority({ commonName: 'test CA', validDays: 2 });
    const node = await issueCertificate(ca, { commonName: 'node', identity: { kind: 'node', initiatorIqn: REQ.initiatorIqn }, usages: 'client', validDays: 1 });
    tls = { caPem: ca.certPem, certPem: node.certPem, keyPem: node.keyPem };
  });

  it('asks the copy agent at its address, one connection per call, closed after it', async () => {
    const asked: unknown[] = [];
    const opened: string[] = [];
    let closed = 0;
    const source = new GrpcMirrorRecordSource({
      tls,
      connect: (address, creds, timeoutMs): MirrorRecordClient => {
        opened.push(`${address} ${timeoutMs}`);
        assert.ok(creds._isSecure(), 'mutual TLS, never plaintext');
        return { ...fakeAgent(asked), close: () => void closed++ };
      },
    });
    assert.deepEqual((await source.read(REQ)).record, GEN1);
    const next = markOutOfSync(GEN1, [0]);
    const set = await source.compareAndSet({ ...REQ, expectedGeneration: 1, record: next });
    assert.equal(set.applied, true);
    assert.deepEqual(opened, ['10.0.0.6:9500 20000', '10.0.0.6:9500 20000']);
    assert.equal(closed, 2);
    assert.deepEqual(asked, [
      ['read', { volumeId: REQ.volumeId, initiatorIqn: REQ.initiatorIqn }],
      ['set', { volumeId: REQ.volumeId, initiatorIqn: REQ.initiatorIqn, expectedGeneration: 1, record: next }],
    ]);
  });

  it('closes the connection when the call fails', async () => {
    let closed = 0;
    const source = new GrpcMirrorRecordSource({
      tls,
      connect: () => ({
        mirrorRecord: async () => {
          throw new FailedPreconditionError('not a replicated copy');
        },
        setMirrorRecord: async () => {
          throw new Error('unused');
        },
        close: () => void closed++,
      }),
    });
    await assert.rejects(source.read(REQ), FailedPreconditionError);
    assert.equal(closed, 1);
  });
});

describe('LocalMirrorRecordSource', () => {
  it('asks the in-process agent for its own storage node copy, and refuses others without a remote', async () => {
    const asked: unknown[] = [];
    const source = new LocalMirrorRecordSource({ agent: fakeAgent(asked), storageNode: 'store-b' });
    assert.deepEqual((await source.read(REQ)).record, GEN1);
    assert.equal(asked.length, 1);
    await assert.rejects(source.read({ ...REQ, storageNode: 'store-a' }), /another storage node.*node certificate/);
  });
});
