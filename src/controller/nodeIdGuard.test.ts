import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FailedPreconditionError, UnavailableError } from '../errors.ts';
import { loadKubeClient } from '../kube/kubeClient.ts';
import type { KubeClient } from '../kube/kubeClient.ts';
import { listCsiNodeIds } from '../kube/listCsiNodeIds.ts';
import { FakeKubeApi } from '../kube/testing/FakeKubeApi.ts';
import { duplicateNodeIdGuard, duplicateNodeIds, watchDuplicateNodeIds } from './nodeIdGuard.ts';

const DRIVER = 'vbs.csi.io';
const CLONED = 'iqn.1993-08.org.debian:01:cafebabe';

describe('duplicateNodeIdGuard over the CSINode objects of a fake Kubernetes API server', () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  let nowMs = 0;
  before(async () => {
    api = await FakeKubeApi.start();
    kube = await loadKubeClient({ kind: 'file', path: api.kubeconfigPath });
  });
  after(async () => api.close());
  beforeEach(() => {
    api.requests.length = 0;
    api.failures.clear();
    api.csiNodes = [
      { node: 'worker-1', drivers: [{ name: DRIVER, nodeID: CLONED }, { name: 'other.csi.io', nodeID: 'x' }] },
      { node: 'worker-2', drivers: [{ name: DRIVER, nodeID: CLONED }] },
      { node: 'worker-3', drivers: [{ name: DRIVER, nodeID: 'iqn.1993-08.org.debian:01:own' }] },
      // Another driver's node id equal to ours does not count.
      { node: 'worker-4', drivers: [{ name: 'other.csi.io', nodeID: 'iqn.1993-08.org.debian:01:own' }] },
    ];
  });
  const guard = () => duplicateNodeIdGuard({ list: () => listCsiNodeIds(kube, DRIVER), ttlMs: 10_000, now: () => nowMs });

  it('refuses a node id two nodes registered for this driver, naming both', async () => {
    await assert.rejects(guard().checkUnique(CLONED), (err: unknown) =>
      err instanceof FailedPreconditionError && /registered by 2 Kubernetes nodes: worker-1 and worker-2/.test(err.message) && /own initiator name/.test(err.message));
    assert.deepEqual(api.requests.map((r) => `${r.method} ${r.path}`), ['GET /apis/storage.k8s.io/v1/csinodes']);
  });

  it("lets one node's id through, and a node id no CSINode carries yet (registration may lag)", async () => {
    const g = guard();
    await g.checkUnique('iqn.1993-08.org.debian:01:own');
    await g.checkUnique('iqn.1993-08.org.debian:01:not-registered-yet');
  });

  it('lists once per ttl for a burst of checks, and again after it', async () => {
    const g = guard();
    await Promise.all(Array.from({ length: 10 }, () => g.checkUnique('iqn.1993-08.org.debian:01:own')));
    assert.equal(api.requests.length, 1);
    nowMs += 10_001;
    api.csiNodes = api.csiNodes.map((n) => (n.node === 'worker-2' ? { ...n, drivers: [{ name: DRIVER, nodeID: 'iqn.1993-08.org.debian:01:fixed' }] } : n));
    await g.checkUnique(CLONED);
    assert.equal(api.requests.length, 2, 'the fixed registration is seen after the ttl');
  });

  it('is UNAVAILABLE when the CSINode objects cannot be listed (never a publish on trust)', async () => {
    api.failures.set('GET /apis/storage.k8s.io/v1/csinodes', { code: 403, reason: 'Forbidden', message: 'csinodes.storage.k8s.io is forbidden' });
    await assert.rejects(guard().checkUnique(CLONED), (err: unknown) => err instanceof UnavailableError && /HTTP 403: csinodes.storage.k8s.io is forbidden/.test(err.message));
  });

  it('duplicateNodeIds names every shared id with its nodes; the watch tells of them at start and at each interval', async () => {
    assert.deepEqual([...duplicateNodeIds(await listCsiNodeIds(kube, DRIVER))], [[CLONED, ['worker-1', 'worker-2']]]);
    const told: string[] = [];
    const errors: string[] = [];
    const stop = watchDuplicateNodeIds({ list: () => listCsiNodeIds(kube, DRIVER), onDuplicate: (id, nodes) => told.push(`${id} ${nodes.join(',')}`), onError: (m) => errors.push(m), intervalMs: 20 });
    try {
      for (let i = 0; i < 300 && told.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(told.slice(0, 2), [`${CLONED} worker-1,worker-2`, `${CLONED} worker-1,worker-2`]);
      api.failures.set('GET /apis/storage.k8s.io/v1/csinodes', { code: 500, reason: 'InternalError', message: 'etcd down' });
      for (let i = 0; i < 300 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(errors[0] ?? '', /HTTP 500: etcd down/);
    } finally {
      stop();
    }
  });
});
