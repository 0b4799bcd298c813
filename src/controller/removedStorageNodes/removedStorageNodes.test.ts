import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { UnavailableError } from '../../errors.ts';
import { loadKubeClient } from '../../kube/kubeClient.ts';
import type { KubeClient } from '../../kube/kubeClient.ts';
import { FakeKubeApi } from '../../kube/testing/FakeKubeApi.ts';
import { checkRemovalNote, configMapRemovedStorageNodes, fileRemovedStorageNodes, openRemovedStorageNodes } from './index.ts';
import type { RemovedStorageNodes } from './index.ts';

const T1 = new Date('2026-12-07T02:00:00.000Z');
const T2 = new Date('2026-12-08T02:00:00.000Z');

/** What both adapters must do, whatever they store in. */
function behavesAsTheRecord(make: (now: () => Date) => Promise<RemovedStorageNodes>): void {
  it('starts empty, adds a node once (the first record stays), lists by name, and restores', async () => {
    let now = T1;
    const record = await make(() => now);
    assert.deepEqual(await record.list(), []);
    assert.deepEqual(await record.add({ name: 'store-b', note: 'disk array died' }), { name: 'store-b', removedAt: T1.toISOString(), note: 'disk array died' });
    now = T2;
    assert.deepEqual(await record.add({ name: 'store-b', note: 'again' }), { name: 'store-b', removedAt: T1.toISOString(), note: 'disk array died' }, 'idempotent');
    await record.add({ name: 'store-a', note: '' });
    assert.deepEqual((await record.list()).map((n) => n.name), ['store-a', 'store-b']);
    assert.equal(await record.restore('store-b'), true);
    assert.equal(await record.restore('store-b'), false, 'restoring twice');
    assert.deepEqual((await record.list()).map((n) => n.name), ['store-a']);
  });

  it('keeps what it wrote for a second reader (another process: the controller after a restart)', async () => {
    const writer = await make(() => T1);
    await writer.add({ name: 'store-c', note: 'x' });
    const reader = await make(() => T2);
    assert.deepEqual(await reader.list(), [{ name: 'store-c', removedAt: T1.toISOString(), note: 'x' }]);
  });
}

describe('fileRemovedStorageNodes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-removed-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  behavesAsTheRecord(async (now) => fileRemovedStorageNodes(join(dir, 'sub', 'removed.json'), { now }));

  it('writes the same values as the ConfigMap, and refuses a file it cannot understand rather than guess', async () => {
    const path = join(dir, 'removed.json');
    await fileRemovedStorageNodes(path, { now: () => T1 }).add({ name: 'store-b', note: '' });
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { removedStorageNodes: { 'store-b': JSON.stringify({ removedAt: T1.toISOString(), note: '' }) } });
    await writeFile(path, '{"removed": [');
    await assert.rejects(fileRemovedStorageNodes(path).list(), (err: unknown) => err instanceof UnavailableError && /is not what vbs-csi writes/.test(err.message));
  });

  it('serializes concurrent additions of one process', async () => {
    const record = fileRemovedStorageNodes(join(dir, 'removed.json'));
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => record.add({ name: `store-${n}`, note: '' })));
    assert.equal((await record.list()).length, 4);
  });
});

describe('configMapRemovedStorageNodes against a fake Kubernetes API server', () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  const ref = { namespace: 'vbs-csi', name: 'vbs-csi-removed-storage-nodes' };
  before(async () => {
    api = await FakeKubeApi.start();
    kube = await loadKubeClient({ kind: 'file', path: api.kubeconfigPath });
  });
  after(async () => api.close());
  beforeEach(() => {
    api.configMaps.clear();
    api.failures.clear();
    api.requests.length = 0;
  });

  behavesAsTheRecord(async (now) => configMapRemovedStorageNodes(kube, ref, { now }));

  it('creates the ConfigMap on the first removal, then changes one key at a time with JSON merge patches', async () => {
    const record = configMapRemovedStorageNodes(kube, ref, { now: () => T1 });
    await record.add({ name: 'store-b', note: 'n' });
    assert.deepEqual(
      api.requests.map((r) => `${r.method} ${r.path}`),
      [
        'GET /api/v1/namespaces/vbs-csi/configmaps/vbs-csi-removed-storage-nodes',
        'PATCH /api/v1/namespaces/vbs-csi/configmaps/vbs-csi-removed-storage-nodes',
        'POST /api/v1/namespaces/vbs-csi/configmaps',
      ],
    );
    assert.deepEqual(api.configMaps.get('vbs-csi/vbs-csi-removed-storage-nodes')?.metadata.labels, { 'app.kubernetes.io/name': 'vbs-csi', 'app.kubernetes.io/component': 'removed-storage-nodes' });
    // Someone else's key, added meanwhile, must survive ours.
    api.configMaps.get('vbs-csi/vbs-csi-removed-storage-nodes')!.data!['store-x'] = '{"removedAt":"","note":"by hand"}';
    api.requests.length = 0;
    await record.add({ name: 'store-c', note: '' });
    await record.restore('store-b');
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    assert.deepEqual(patches.map((p) => [p.contentType, JSON.parse(p.body)]), [
      ['application/merge-patch+json', { data: { 'store-c': JSON.stringify({ removedAt: T1.toISOString(), note: '' }) } }],
      ['application/merge-patch+json', { data: { 'store-b': null } }],
    ]);
    assert.deepEqual(Object.keys(api.data(ref.namespace, ref.name) ?? {}).sort(), ['store-c', 'store-x']);
  });

  it('adds its key when another writer created the ConfigMap between its patch and its create', async () => {
    const record = configMapRemovedStorageNodes(kube, ref, { now: () => T1 });
    // The first PATCH finds nothing; by the POST, someone created it: the POST conflicts, the second PATCH lands.
    let patches = 0;
    const original = kube.core.patchNamespacedConfigMap.bind(kube.core);
    const racing: KubeClient = {
      ...kube,
      core: Object.assign(Object.create(kube.core) as typeof kube.core, {
        patchNamespacedConfigMap: async (...args: Parameters<typeof original>) => {
          if (patches++ === 0) {
            const result = original(...args);
            await result.catch(() => {});
            api.configMaps.set(`${ref.namespace}/${ref.name}`, { metadata: { name: ref.name, namespace: ref.namespace, resourceVersion: '1' }, data: { 'store-y': '{}' } });
            return result;
          }
          return original(...args);
        },
      }),
    };
    await configMapRemovedStorageNodes(racing, ref, { now: () => T1 }).add({ name: 'store-b', note: '' });
    assert.deepEqual(Object.keys(api.data(ref.namespace, ref.name) ?? {}).sort(), ['store-b', 'store-y']);
    assert.ok(api.requests.some((r) => r.method === 'POST'));
    assert.deepEqual((await record.list()).map((n) => n.name), ['store-b', 'store-y']);
  });

  it('fails UNAVAILABLE naming the object, the cause and the missing permission; never reads an error as "nothing removed"', async () => {
    const record = configMapRemovedStorageNodes(kube, ref);
    api.failures.set('GET /api/v1/namespaces/vbs-csi/configmaps', { code: 403, reason: 'Forbidden', message: 'configmaps "vbs-csi-removed-storage-nodes" is forbidden: User "system:serviceaccount:vbs-csi:x" cannot get resource "configmaps"' });
    await assert.rejects(record.list(), (err: unknown) =>
      err instanceof UnavailableError && /cannot get ConfigMap vbs-csi\/vbs-csi-removed-storage-nodes/.test(err.message) && /HTTP 403: configmaps .* is forbidden/.test(err.message) && /needs get on configmaps in vbs-csi/.test(err.message));
    api.failures.set('GET /api/v1/namespaces/vbs-csi/configmaps', { code: 500, reason: 'InternalError', message: 'etcd timeout' });
    await assert.rejects(record.list(), /HTTP 500: etcd timeout/);
  });

  it('gives up on a silent API server after its timeout', async () => {
    api.delayMs = 500;
    try {
      await assert.rejects(configMapRemovedStorageNodes(kube, ref, { timeoutMs: 50 }).list(), (err: unknown) => err instanceof UnavailableError && /no answer from the Kubernetes API/.test(err.message));
    } finally {
      api.delayMs = 0;
    }
  });

  it('is opened from a location, finding the API as the role allows', async () => {
    const opened = await openRemovedStorageNodes({ kind: 'configmap', ...ref }, { env: { KUBECONFIG: api.kubeconfigPath }, allowHomeConfig: false });
    assert.equal(opened.where, 'ConfigMap vbs-csi/vbs-csi-removed-storage-nodes');
    assert.deepEqual(await opened.list(), []);
    await assert.rejects(openRemovedStorageNodes({ kind: 'configmap', ...ref }, { env: {}, allowHomeConfig: false }), /needs the Kubernetes API: run in a pod, or set KUBECONFIG; outside a cluster use file:PATH/);
    assert.equal((await openRemovedStorageNodes({ kind: 'file', path: '/tmp/x.json' }, { env: {}, allowHomeConfig: false })).where, 'file /tmp/x.json');
  });
});

describe('checkRemovalNote', () => {
  it('takes one printable line of at most 200 characters', () => {
    assert.equal(checkRemovalNote('disk array died, INC-42'), undefined);
    assert.match(checkRemovalNote('a\nb') ?? '', /one line/);
    assert.match(checkRemovalNote('x'.repeat(201)) ?? '', /at most 200/);
  });
});
