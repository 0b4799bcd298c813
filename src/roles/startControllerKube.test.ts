import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../config/parseConfig.ts';
import { FakeKubeApi } from '../kube/testing/FakeKubeApi.ts';
import { runCertsCommand } from '../tls/index.ts';
import { startController } from './startController.ts';

const quiet = { write: () => true };

/** A port nothing listens on: dialling it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('startController with the Kubernetes API (a fake API server through KUBECONFIG)', () => {
  let dir: string;
  let api: FakeKubeApi;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-ctl-kube-'));
    assert.equal(await runCertsCommand(['--out', dir, '--controller', 'controller'], quiet, quiet), 0);
    api = await FakeKubeApi.start();
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('--agents-service watches the EndpointSlices; an agent pod that never answered gets StorageNodeUnreachable on its Node', async () => {
    const port = await closedPort();
    api.putEndpointSlice({
      metadata: { name: 'vbs-csi-agent-abc', namespace: 'vbs', labels: { 'kubernetes.io/service-name': 'vbs-csi-agent' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], nodeName: 'store-x', targetRef: { kind: 'Pod', name: 'vbs-csi-agent-x', namespace: 'vbs' }, conditions: { ready: false } }],
      ports: [{ name: 'agent-api', port }],
    });
    const parsed = parseConfig(
      ['controller', '--agents-service', 'vbs/vbs-csi-agent:agent-api', '--tls-ca', join(dir, 'ca.crt'), '--client-tls-cert', join(dir, 'controller.crt'), '--client-tls-key', join(dir, 'controller.key'), '--status-interval-seconds', '1'],
      {},
    );
    assert.ok(parsed.ok && parsed.config.controller, !parsed.ok ? parsed.errors.join('; ') : '');
    const running = await startController(parsed.config.controller, pino({ level: 'silent' }), undefined, { driverName: 'vbs.csi.io', env: { KUBECONFIG: api.kubeconfigPath, HOSTNAME: 'controller-0' } });
    try {
      const deadline = Date.now() + 10_000;
      const unreachable = () => [...api.events.values()].find((e) => e['reason'] === 'StorageNodeUnreachable');
      while (!unreachable() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const event = unreachable();
      assert.ok(event, `no Event; requests: ${api.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
      assert.deepEqual(event['involvedObject'], { kind: 'Node', apiVersion: 'v1', name: 'store-x' });
      assert.match(String(event['message']), new RegExp(`pod vbs/vbs-csi-agent-x on Kubernetes node store-x at 127\\.0\\.0\\.1:${port} \\(not ready\\)`));
      assert.equal(event['reportingInstance'], 'controller-0');
      assert.ok(api.requests.some((r) => r.path === '/apis/discovery.k8s.io/v1/namespaces/vbs/endpointslices'), 'listed the slices');
      assert.ok(api.requests.some((r) => r.path === '/apis/storage.k8s.io/v1/csinodes'), 'scanned the CSINodes for duplicate node ids');
    } finally {
      running.stop();
    }
  });

  test('--agents-service without a Kubernetes API is a start-up error that says so', async () => {
    const parsed = parseConfig(['controller', '--agents-service', 'vbs/vbs-csi-agent:agent-api', '--tls-ca', join(dir, 'ca.crt'), '--client-tls-cert', join(dir, 'controller.crt'), '--client-tls-key', join(dir, 'controller.key')], {});
    assert.ok(parsed.ok && parsed.config.controller);
    await assert.rejects(startController(parsed.config.controller, pino({ level: 'silent' }), undefined, { driverName: 'vbs.csi.io', env: {} }), /--agents-service vbs\/vbs-csi-agent needs the Kubernetes API/);
  });
});
