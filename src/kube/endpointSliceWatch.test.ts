import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadKubeClient } from './kubeClient.ts';
import type { KubeClient } from './kubeClient.ts';
import { ServiceEndpoints, endpointsOf } from './endpointSliceWatch.ts';
import { FakeKubeApi } from './testing/FakeKubeApi.ts';
import type { FakeEndpointSlice } from './testing/FakeKubeApi.ts';

function slice(name: string, endpoints: FakeEndpointSlice['endpoints'], opts: { service?: string; namespace?: string; addressType?: FakeEndpointSlice['addressType'] } = {}): FakeEndpointSlice {
  return {
    metadata: { name, namespace: opts.namespace ?? 'vbs', labels: { 'kubernetes.io/service-name': opts.service ?? 'vbs-csi-agent' } },
    addressType: opts.addressType ?? 'IPv4',
    endpoints,
    ports: [{ name: 'agent-api', port: 9500, protocol: 'TCP' }],
  };
}
const pod = (ip: string, node: string, ready?: boolean, terminating?: boolean) => ({
  addresses: [ip],
  nodeName: node,
  targetRef: { kind: 'Pod', name: `agent-${node}`, namespace: 'vbs' },
  ...(ready !== undefined || terminating !== undefined ? { conditions: { ...(ready !== undefined ? { ready } : {}), ...(terminating !== undefined ? { terminating } : {}) } } : {}),
});

/** Resolves when `check` holds (a throw counts as not yet), polling the cache. */
async function eventually(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  const holds = () => {
    try {
      return check();
    } catch {
      return false;
    }
  };
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('endpointsOf (pure)', () => {
  it('keeps not-ready endpoints, reads the node and pod, the port by name, brackets IPv6 and skips FQDN slices', () => {
    const slices = [
      slice('a', [pod('10.0.0.2', 'n2', false), pod('10.0.0.1', 'n1')]),
      slice('b', [pod('fd00::3', 'n3', true, true)], { addressType: 'IPv6' }),
      slice('c', [pod('agent.example', 'n4')], { addressType: 'FQDN' }),
    ];
    assert.deepEqual(endpointsOf(slices as never, 'agent-api'), [
      { address: '10.0.0.1:9500', node: 'n1', pod: 'vbs/agent-n1', ready: true, terminating: false },
      { address: '10.0.0.2:9500', node: 'n2', pod: 'vbs/agent-n2', ready: false, terminating: false },
      { address: '[fd00::3]:9500', node: 'n3', pod: 'vbs/agent-n3', ready: true, terminating: true },
    ]);
    assert.deepEqual(endpointsOf(slices as never, 'other'), [], 'no such port name: nothing to dial');
    assert.deepEqual(endpointsOf(slices as never, 9600).map((e) => e.address)[0], '10.0.0.1:9600');
  });
});

describe('ServiceEndpoints against a fake API server (list, then watch)', () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  before(async () => {
    api = await FakeKubeApi.start();
    kube = await loadKubeClient({ kind: 'file', path: api.kubeconfigPath });
  });
  after(async () => api.close());

  it('lists the Service\'s slices only, then follows added, changed and deleted slices through the watch', async () => {
    api.putEndpointSlice(slice('agents-1', [pod('10.0.0.1', 'n1')]));
    api.putEndpointSlice(slice('other-1', [pod('10.9.9.9', 'x')], { service: 'other' }));
    api.putEndpointSlice(slice('agents-elsewhere', [pod('10.8.8.8', 'y')], { namespace: 'elsewhere' }));
    let changes = 0;
    const endpoints = new ServiceEndpoints(kube, { namespace: 'vbs', service: 'vbs-csi-agent', port: 'agent-api', onChange: () => changes++ });
    assert.throws(() => endpoints.current(), /not listed yet/);
    await endpoints.start();
    try {
      assert.deepEqual(endpoints.current().map((e) => e.address), ['10.0.0.1:9500']);
      const list = api.requests.find((r) => r.path === '/apis/discovery.k8s.io/v1/namespaces/vbs/endpointslices');
      assert.ok(list);
      await eventually(() => api.watchCount === 1, 'the watch');

      // The pod turns not ready (readiness probe failing): still there, marked.
      api.putEndpointSlice(slice('agents-1', [pod('10.0.0.1', 'n1', false)]));
      await eventually(() => endpoints.current()[0]?.ready === false, 'the not-ready update');
      api.putEndpointSlice(slice('agents-2', [pod('10.0.0.2', 'n2')]));
      await eventually(() => endpoints.current().length === 2, 'the second slice');
      api.deleteEndpointSlice('vbs', 'agents-1');
      await eventually(() => endpoints.current().map((e) => e.address).join() === '10.0.0.2:9500', 'the deletion');
      api.putEndpointSlice(slice('other-1', [pod('10.9.9.8', 'x')], { service: 'other' }));
      assert.ok(changes >= 3);
      assert.equal(endpoints.current().length, 1, "another Service's slices never show");
    } finally {
      await endpoints.stop();
    }
  });

  it('re-watches when the server ends the watch, and a refused list says what to grant, then recovers', async () => {
    api.endpointSlices.clear();
    api.putEndpointSlice(slice('agents-1', [pod('10.0.0.1', 'n1')]));
    const errors: string[] = [];
    const endpoints = new ServiceEndpoints(kube, { namespace: 'vbs', service: 'vbs-csi-agent', port: 'agent-api', onError: (m) => errors.push(m), retryMs: 50 });
    await endpoints.start();
    try {
      await eventually(() => api.watchCount === 1, 'the watch');
      api.dropWatches('end');
      await eventually(() => api.watchCount === 1, 'a new watch', 8_000);
      api.putEndpointSlice(slice('agents-2', [pod('10.0.0.2', 'n2')]));
      await eventually(() => endpoints.current().length === 2, 'the change after the re-watch');
      api.dropWatches('reset');
      await eventually(() => api.watchCount === 1, 'a new watch after a reset', 8_000);
      api.putEndpointSlice(slice('agents-3', [pod('10.0.0.3', 'n3')]));
      await eventually(() => endpoints.current().length === 3, 'the change after the reset');

      // RBAC taken away: the watch breaks, and the re-list is refused.
      api.failures.set('GET /apis/discovery.k8s.io/', { code: 403, reason: 'Forbidden', message: 'endpointslices.discovery.k8s.io is forbidden' });
      api.dropWatches();
      await eventually(() => errors.some((e) => e.includes('403')), 'the refusal');
      assert.match(errors[0] ?? '', /^connection lost: terminated$/);
      assert.match(errors.find((e) => e.includes('403')) ?? '', /^HTTP 403 Forbidden \(grant list and watch on endpointslices\.discovery\.k8s\.io in that namespace/);
      // Between retries current() throws (the cache may be stale) with the reason.
      await eventually(() => {
        try {
          endpoints.current();
          return false;
        } catch (err: unknown) {
          return /watch broken, retrying: HTTP 403/.test((err as Error).message);
        }
      }, 'current() to throw the refusal');
      api.failures.clear();
      await eventually(() => endpoints.current().length === 3, 'the recovery', 8_000);
    } finally {
      await endpoints.stop();
    }
  });
});
