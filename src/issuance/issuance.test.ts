import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { checkServerIdentity, connect, createServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadKubeClient } from '../kube/kubeClient.ts';
import type { KubeClient } from '../kube/kubeClient.ts';
import { FakeKubeApi } from '../kube/testing/FakeKubeApi.ts';
import { createCertificateAuthority, loadTlsFiles } from '../tls/index.ts';
import { describeIdentity, identityOfPeerCertificate } from '../tls/identity.ts';
import { OwnCertificate } from './ownCertificate.ts';
import type { PemPair } from '../tls/index.ts';
import { CertificateRequester } from './CertificateRequester.ts';
import { CsrSigner } from './CsrSigner.ts';
import { NODE_NAME_EXTRA, ROLE_USAGES } from './signerPolicy.ts';
import type { SignerPolicy } from './signerPolicy.ts';

const quiet = pino({ level: 'silent' });
const DRIVER = 'vbs.csi.io';
const IQN = 'iqn.2026-11.io.example:worker-1';
const policy: SignerPolicy = {
  signers: { [`${DRIVER}/agent`]: 'agent', [`${DRIVER}/node`]: 'node' },
  requesters: { agent: 'system:serviceaccount:vbs:vbs-csi-agent', node: 'system:serviceaccount:vbs:vbs-csi-node' },
  agentDnsNames: ['vbs-csi-agent.vbs.svc'],
  maxValiditySeconds: 3 * 86_400,
};

describe('in-cluster issuance: requester and signer through the Kubernetes API (fake server)', () => {
  let api: FakeKubeApi;
  let dir: string;
  let ca: PemPair;
  let controller: KubeClient;
  let agentOn1: KubeClient;
  let nodeOn1: KubeClient;
  let signer: CsrSigner;
  before(async () => {
    api = await FakeKubeApi.start();
    dir = await mkdtemp(join(tmpdir(), 'vbs-issuance-'));
    ca = await createCertificateAuthority({ commonName: 'test CA', validDays: 30 });
    api.callers.set('controller', { username: 'system:serviceaccount:vbs:vbs-csi-controller' });
    api.callers.set('agent-1', { username: policy.requesters.agent, extra: { [NODE_NAME_EXTRA]: ['storage-1'] } });
    api.callers.set('node-1', { username: policy.requesters.node, extra: { [NODE_NAME_EXTRA]: ['worker-1'] } });
    controller = await loadKubeClient({ kind: 'file', path: await api.kubeconfigFor('controller') });
    agentOn1 = await loadKubeClient({ kind: 'file', path: await api.kubeconfigFor('agent-1') });
    nodeOn1 = await loadKubeClient({ kind: 'file', path: await api.kubeconfigFor('node-1') });
    signer = new CsrSigner({ kube: controller, policy, driverName: DRIVER, ca: async () => ca, log: quiet });
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    api.csrs.clear();
    api.csiNodes = [];
  });

  const paths = (name: string) => ({ caPath: join(dir, name, 'ca.crt'), certPath: join(dir, name, 'tls.crt'), keyPath: join(dir, name, 'tls.key') });
  const requester = (kube: KubeClient, role: 'agent' | 'node', name: string, identity: ConstructorParameters<typeof CertificateRequester>[0]['identity'], dnsNames?: string[]) =>
    new CertificateRequester({ kube, signerName: `${DRIVER}/${role}`, identity, usages: ROLE_USAGES[role], paths: paths(name), namePrefix: `vbs-csi-${role}-${name}`, validSeconds: 86_400, log: quiet, pollMs: 20, waitMs: 3_000, ...(dnsNames ? { dnsNames } : {}) });

  /** Runs the signer every 20 ms while `work` runs, as the controller would every few seconds. */
  async function withSigner<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const loop = (async () => {
      while (!done) {
        await signer.pass();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      return await work;
    } finally {
      done = true;
      await loop;
    }
  }

  it('an agent gets its own node\'s certificate: files the agent loads, signed by the cluster CA, key never sent', async () => {
    const r = requester(agentOn1, 'agent', 'a1', { kind: 'agent', storageNode: 'storage-1' }, ['vbs-csi-agent.vbs.svc']);
    const held = await withSigner(r.requestOnce());
    const tls = await loadTlsFiles(paths('a1'));
    assert.match(tls.subjectAltName, /URI:urn:vbs-csi:agent:storage-1/);
    assert.match(tls.subjectAltName, /DNS:vbs-csi-agent\.vbs\.svc/);
    assert.equal(new X509Certificate(tls.certPem).verify(new X509Certificate(ca.certPem).publicKey), true);
    assert.equal(tls.caPem.trim(), ca.certPem.trim());
    assert.ok(held.notAfter.getTime() - Date.now() <= 86_400_000 + 1000, 'the lifetime asked for');
    assert.equal((await stat(paths('a1').keyPath)).mode & 0o777, 0o600);
    const keyPem = await readFile(paths('a1').keyPath, 'utf8');
    const b64 = keyPem.replace(/-----[A-Z ]+-----|\s/g, '');
    assert.ok(api.requests.every((q) => !q.body.includes(b64.slice(0, 40))), 'the private key never goes to the API server');
    const [csr] = api.csrs.values();
    assert.deepEqual(csr?.status.conditions?.map((c) => [c.type, c.reason]), [['Approved', 'VbsCsiPolicy']]);
    assert.equal(csr?.spec.username, policy.requesters.agent, 'the API server, not the requester, recorded who asked');
    // Approval and signing were the controller's calls.
    const writes = api.requests.filter((q) => q.method === 'PUT');
    assert.ok(writes.length === 2 && writes.every((q) => q.authorization === 'Bearer controller'));
  });

  it('an agent asking for another node\'s identity is denied, and the requester reports why', async () => {
    const r = requester(agentOn1, 'agent', 'a2', { kind: 'agent', storageNode: 'storage-2' }, ['vbs-csi-agent.vbs.svc']);
    await assert.rejects(withSigner(r.requestOnce()), /denied: NodeMismatch: the requester runs on node storage-1/);
    await assert.rejects(readFile(paths('a2').certPath), { code: 'ENOENT' }, 'nothing written');
  });

  it('a node plugin waits for its CSINode, then gets the initiator its node registered', async () => {
    const r = requester(nodeOn1, 'node', 'n1', { kind: 'node', initiatorIqn: IQN });
    const pending = r.requestOnce();
    await withSigner(new Promise((res) => setTimeout(res, 150)));
    assert.equal([...api.csrs.values()][0]?.status.conditions, undefined, 'no CSINode yet: neither approved nor denied');
    api.csiNodes = [{ node: 'worker-1', drivers: [{ name: 'other.csi.io', nodeID: 'x' }, { name: DRIVER, nodeID: IQN }] }];
    await withSigner(pending);
    const tls = await loadTlsFiles(paths('n1'));
    assert.match(tls.subjectAltName, new RegExp(`^URI:urn:vbs-csi:node:${IQN.replace(/\./g, '\\.')}$`));
  });

  it('a node plugin asking for another worker\'s initiator is denied', async () => {
    api.csiNodes = [{ node: 'worker-1', drivers: [{ name: DRIVER, nodeID: IQN }] }];
    const r = requester(nodeOn1, 'node', 'n2', { kind: 'node', initiatorIqn: 'iqn.2026-11.io.example:worker-2' });
    await assert.rejects(withSigner(r.requestOnce()), /denied: NodeIdMismatch/);
  });

  it('a request approved by hand but outside the policy is not signed: it is marked Failed', async () => {
    api.callers.set('agent-other-sa', { username: 'system:serviceaccount:vbs:default', extra: { [NODE_NAME_EXTRA]: ['storage-1'] } });
    const other = await loadKubeClient({ kind: 'file', path: await api.kubeconfigFor('agent-other-sa') });
    const r = requester(other, 'agent', 'a3', { kind: 'agent', storageNode: 'storage-1' }, ['vbs-csi-agent.vbs.svc']);
    const pending = r.requestOnce();
    await new Promise((res) => setTimeout(res, 50));
    const csr = [...api.csrs.values()][0];
    assert.ok(csr);
    csr.status.conditions = [{ type: 'Approved', status: 'True', reason: 'KubectlApprove' }];
    await assert.rejects(withSigner(pending), /failed: WrongRequester/);
    assert.equal(csr.status.certificate, undefined);
  });

  it('the issued certificates work in real mutual TLS: the controller (own certificate) and a node plugin reach the agent by its Service name', async () => {
    api.csiNodes = [{ node: 'worker-1', drivers: [{ name: DRIVER, nodeID: IQN }] }];
    await withSigner(requester(agentOn1, 'agent', 'm-agent', { kind: 'agent', storageNode: 'storage-1' }, ['vbs-csi-agent.vbs.svc']).requestOnce());
    await withSigner(requester(nodeOn1, 'node', 'm-node', { kind: 'node', initiatorIqn: IQN }).requestOnce());
    const caDir = join(dir, 'm-ca');
    await mkdir(caDir, { recursive: true });
    await writeFile(join(caDir, 'tls.crt'), ca.certPem);
    await writeFile(join(caDir, 'tls.key'), ca.keyPem);
    await new OwnCertificate({ caDir, paths: paths('m-controller'), validSeconds: 86_400, log: quiet }).renewIfDue();
    const agent = await loadTlsFiles(paths('m-agent'));
    const server = createServer({ ca: agent.caPem, cert: agent.certPem, key: agent.keyPem, requestCert: true, rejectUnauthorized: true }, (socket) => {
      socket.end(identityOfPeerCertificate(socket.getPeerCertificate()) ? describeIdentity(identityOfPeerCertificate(socket.getPeerCertificate())) : 'none');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const call = async (who: string) => {
      const tls = await loadTlsFiles(paths(who));
      return new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, servername: 'vbs-csi-agent.vbs.svc', ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, checkServerIdentity: (_h, cert) => checkServerIdentity('vbs-csi-agent.vbs.svc', cert) }, () => undefined);
        let text = '';
        socket.on('data', (d) => (text += String(d)));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    };
    try {
      assert.equal(await call('m-controller'), 'urn:vbs-csi:controller');
      assert.equal(await call('m-node'), `urn:vbs-csi:node:${IQN}`);
    } finally {
      server.close();
    }
  });

  it('two signers (controller replicas) at once issue each request once; the loser of the race reports nothing', async () => {
    const second = new CsrSigner({ kube: controller, policy, driverName: DRIVER, ca: async () => ca, log: quiet });
    const r = requester(agentOn1, 'agent', 'race', { kind: 'agent', storageNode: 'storage-1' }, ['vbs-csi-agent.vbs.svc']);
    const pending = r.requestOnce();
    await new Promise((res) => setTimeout(res, 50));
    const [a, b] = await Promise.all([signer.pass(), second.pass()]);
    await pending;
    assert.deepEqual([...(a ?? []), ...(b ?? [])].map((o) => o.outcome), ['issued'], 'one issued, no failure reported');
    const csr = [...api.csrs.values()][0];
    assert.deepEqual(csr?.status.conditions?.map((c) => c.type), ['Approved'], 'approved once');
  });

  it('ensure() keeps a certificate that is not due, and renews one two thirds into its life', async () => {
    let now = new Date();
    const r = new CertificateRequester({
      kube: agentOn1, signerName: `${DRIVER}/agent`, identity: { kind: 'agent', storageNode: 'storage-1' }, dnsNames: ['vbs-csi-agent.vbs.svc'], usages: ROLE_USAGES.agent,
      paths: paths('a4'), namePrefix: 'vbs-csi-agent-storage-1', validSeconds: 3 * 3600, log: quiet, pollMs: 20, waitMs: 3_000, now: () => now,
    });
    const first = await withSigner(r.ensure());
    assert.equal((await r.ensure()).serialNumber, first.serialNumber, 'not due: no new request');
    assert.equal(api.csrs.size, 1);
    now = new Date(r.renewalDue(first).getTime() + 1000);
    const second = await withSigner(r.ensure());
    assert.notEqual(second.serialNumber, first.serialNumber);
    assert.equal(api.csrs.size, 2);
  });
});
