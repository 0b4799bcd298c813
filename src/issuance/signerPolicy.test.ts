import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NODE_NAME_EXTRA, decideCsr } from './signerPolicy.ts';
import type { CsrFacts, SignerPolicy } from './signerPolicy.ts';

const policy: SignerPolicy = {
  signers: { 'vbs.csi.io/agent': 'agent', 'vbs.csi.io/node': 'node' },
  requesters: { agent: 'system:serviceaccount:vbs:vbs-csi-agent', node: 'system:serviceaccount:vbs:vbs-csi-node' },
  agentDnsNames: ['vbs-csi-agent.vbs.svc'],
  maxValiditySeconds: 30 * 86_400,
};
const IQN = 'iqn.2026-11.io.example:worker-1';
const agentReq = (over: Partial<CsrFacts> = {}): CsrFacts => ({
  name: 'r',
  signerName: 'vbs.csi.io/agent',
  username: 'system:serviceaccount:vbs:vbs-csi-agent',
  extra: { [NODE_NAME_EXTRA]: ['storage-1'] },
  usages: ['digital signature', 'server auth'],
  expirationSeconds: 86_400,
  uris: ['urn:vbs-csi:agent:storage-1'],
  dnsNames: ['vbs-csi-agent.vbs.svc'],
  otherNames: [],
  ...over,
});
const nodeReq = (over: Partial<CsrFacts> = {}): CsrFacts =>
  agentReq({ signerName: 'vbs.csi.io/node', username: 'system:serviceaccount:vbs:vbs-csi-node', extra: { [NODE_NAME_EXTRA]: ['worker-1'] }, usages: ['client auth', 'digital signature'], uris: [`urn:vbs-csi:node:${IQN}`], dnsNames: [], ...over });

describe('decideCsr: who may get which certificate', () => {
  it('issues an agent the identity of the node its pod runs on, with the agents\' Service name, for at most the policy\'s lifetime', () => {
    const d = decideCsr(agentReq({ expirationSeconds: 365 * 86_400 }), policy);
    assert.equal(d.kind, 'issue');
    assert.deepEqual(d.kind === 'issue' && [d.identity, d.dnsNames, d.usages, d.validSeconds], [{ kind: 'agent', storageNode: 'storage-1' }, ['vbs-csi-agent.vbs.svc'], 'server', 30 * 86_400]);
    assert.equal((decideCsr(agentReq({ expirationSeconds: 3600 }), policy) as { validSeconds: number }).validSeconds, 3600, 'a shorter request is honoured');
  });

  it('denies an agent that asks for another node\'s identity (a compromised storage node impersonating another)', () => {
    const d = decideCsr(agentReq({ uris: ['urn:vbs-csi:agent:storage-2'] }), policy);
    assert.deepEqual(d.kind === 'deny' && d.reason, 'NodeMismatch');
  });

  it('denies requests from any other user, even for a valid identity', () => {
    for (const username of ['system:serviceaccount:vbs:vbs-csi-node', 'system:serviceaccount:other:vbs-csi-agent', 'admin']) {
      assert.deepEqual(decideCsr(agentReq({ username }), policy).kind, 'deny', username);
    }
    assert.deepEqual((decideCsr(agentReq({ signerName: 'example.com/x' }), policy) as { reason: string }).reason, 'UnknownSigner');
  });

  it('denies a request without exactly one node binding (a legacy token, or a cluster before 1.32)', () => {
    for (const extra of [{}, { [NODE_NAME_EXTRA]: [] }, { [NODE_NAME_EXTRA]: ['a', 'b'] }, { [NODE_NAME_EXTRA]: [''] }]) {
      assert.deepEqual((decideCsr(agentReq({ extra }), policy) as { reason: string }).reason, 'NoNodeBinding');
    }
  });

  it('denies more than the role carries: other usages, DNS names, IPs, a second or a foreign identity', () => {
    const reason = (f: Partial<CsrFacts>) => (decideCsr(agentReq(f), policy) as { reason?: string }).reason;
    assert.equal(reason({ usages: ['digital signature', 'server auth', 'client auth'] }), 'WrongUsages');
    assert.equal(reason({ usages: ['digital signature', 'client auth'] }), 'WrongUsages');
    assert.equal(reason({ dnsNames: ['kubernetes.default.svc'] }), 'ExtraNames');
    assert.equal(reason({ otherNames: ['ip:10.0.0.1'] }), 'ExtraNames');
    assert.equal(reason({ uris: ['urn:vbs-csi:agent:storage-1', 'urn:vbs-csi:controller'] }), 'WrongIdentity');
    assert.equal(reason({ uris: ['urn:vbs-csi:controller'] }), 'WrongIdentity');
    assert.equal(reason({ uris: [] }), 'WrongIdentity');
    assert.equal((decideCsr(nodeReq({ uris: ['urn:vbs-csi:agent:worker-1'] }), policy) as { reason: string }).reason, 'WrongIdentity', 'a node plugin cannot become an agent');
  });

  it('issues a node plugin the initiator its node registered in CSINode, after looking it up', () => {
    assert.deepEqual(decideCsr(nodeReq(), policy), { kind: 'lookup-node-id', node: 'worker-1' });
    const d = decideCsr(nodeReq(), policy, IQN);
    assert.deepEqual(d.kind === 'issue' && [d.identity, d.dnsNames, d.usages], [{ kind: 'node', initiatorIqn: IQN }, [], 'client']);
  });

  it('denies a node plugin that asks for another initiator than its node registered (a compromised worker asking as another)', () => {
    const d = decideCsr(nodeReq({ uris: ['urn:vbs-csi:node:iqn.2026-11.io.example:worker-2'] }), policy, IQN);
    assert.deepEqual(d.kind === 'deny' && d.reason, 'NodeIdMismatch');
  });

  it('waits while the node\'s CSINode does not register the driver yet', () => {
    assert.equal(decideCsr(nodeReq(), policy, null).kind, 'wait');
  });
});
