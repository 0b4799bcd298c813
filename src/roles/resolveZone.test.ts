import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeKubeApi } from '../kube/testing/FakeKubeApi.ts';
import { resolveZone } from './resolveZone.ts';

describe('resolveZone against a fake API server', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = await FakeKubeApi.start();
    api.nodes.set('worker-a', { labels: { 'topology.kubernetes.io/zone': 'eu-1a', 'kubernetes.io/os': 'linux' } });
    api.nodes.set('worker-b', { labels: { 'kubernetes.io/os': 'linux' } });
  });
  after(async () => api.close());
  const env = () => ({ KUBECONFIG: api.kubeconfigPath });

  it("takes the role's own Node's topology.kubernetes.io/zone label", async () => {
    const choice = await resolveZone({ configured: undefined, nodeName: 'worker-a', env: env() });
    assert.equal(choice.zone, 'eu-1a');
    assert.match(choice.from, /Node worker-a label topology\.kubernetes\.io\/zone/);
    assert.deepEqual(api.requests.at(-1) && { method: api.requests.at(-1)?.method, path: api.requests.at(-1)?.path }, { method: 'GET', path: '/api/v1/nodes/worker-a' });
  });

  it('--zone overrides the label, without calling the API', async () => {
    const before = api.requests.length;
    assert.deepEqual(await resolveZone({ configured: 'z9', nodeName: 'worker-a', env: env() }), { zone: 'z9', from: '--zone' });
    assert.equal(api.requests.length, before);
  });

  it('a Node without the label and no --zone is in the default zone, and the reason names the fix', async () => {
    const choice = await resolveZone({ configured: undefined, nodeName: 'worker-b', env: env() });
    assert.equal(choice.zone, 'default');
    assert.match(choice.from, /Node worker-b has no topology\.kubernetes\.io\/zone label and no --zone was given/);
    assert.match(choice.from, /kubectl label node worker-b topology\.kubernetes\.io\/zone=ZONE/);
  });

  it('a missing Node or a refusal says what to fix', async () => {
    await assert.rejects(resolveZone({ configured: undefined, nodeName: 'ghost', env: env() }), /cannot read Node ghost: HTTP 404: nodes "ghost" not found \(--node-id \/ NODE_NAME must be the Kubernetes node name/);
    api.failures.set('GET /api/v1/nodes/', { code: 403, reason: 'Forbidden', message: 'nodes "worker-a" is forbidden' });
    try {
      await assert.rejects(resolveZone({ configured: undefined, nodeName: 'worker-a', env: env() }), /HTTP 403: nodes "worker-a" is forbidden \(grant get on nodes; the chart does\)/);
    } finally {
      api.failures.clear();
    }
    await assert.rejects(resolveZone({ configured: undefined, nodeName: undefined, env: env() }), /no node name \(NODE_NAME or --node-id\)/);
  });

  it('outside a cluster (no API) the zone is "default"; a pod without a token is an error', async () => {
    const outside = await resolveZone({ configured: undefined, nodeName: 'worker-a', env: {} });
    assert.equal(outside.zone, 'default');
    await assert.rejects(resolveZone({ configured: undefined, nodeName: 'worker-a', env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), /no service account token/);
  });
});
