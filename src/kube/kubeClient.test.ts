import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IN_CLUSTER_TOKEN_PATH, describeKubeError, findKubeConfig, kubeStatusOf, loadKubeClient } from './kubeClient.ts';
import { FakeKubeApi } from './testing/FakeKubeApi.ts';

describe('findKubeConfig', () => {
  const exists = (files: string[]) => (p: string) => files.includes(p);
  it('prefers the pod: KUBERNETES_SERVICE_HOST with a service account token', () => {
    assert.deepEqual(findKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBECONFIG: '/k' }, allowHomeConfig: true, fileExists: exists([IN_CLUSTER_TOKEN_PATH]) }), { kind: 'in-cluster' });
    assert.deepEqual(findKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, allowHomeConfig: false, fileExists: exists([]) }), undefined, 'no token: not in a pod');
  });

  it('then the first file of KUBECONFIG, then ~/.kube/config only when allowed', () => {
    assert.deepEqual(findKubeConfig({ env: { KUBECONFIG: ':/a:/b' }, allowHomeConfig: false, fileExists: exists([]) }), { kind: 'file', path: '/a' });
    const home = { env: {}, home: '/home/op', fileExists: exists(['/home/op/.kube/config']) };
    assert.deepEqual(findKubeConfig({ ...home, allowHomeConfig: true }), { kind: 'file', path: '/home/op/.kube/config' });
    assert.equal(findKubeConfig({ ...home, allowHomeConfig: false }), undefined, 'the controller does not pick up a user kubeconfig');
  });
});

describe('loadKubeClient against a fake API server', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = await FakeKubeApi.start();
  });
  after(async () => api.close());

  it('reads a kubeconfig file, sends its token, and describes API errors by status and message', async () => {
    const kube = await loadKubeClient({ kind: 'file', path: api.kubeconfigPath });
    assert.equal(kube.source, `kubeconfig ${api.kubeconfigPath}`);
    const err = await kube.core.readNamespacedConfigMap({ name: 'nope', namespace: 'ns' }).catch((e: unknown) => e);
    assert.equal(kubeStatusOf(err), 404);
    assert.equal(describeKubeError(err), 'HTTP 404: configmaps "nope" not found');
    assert.equal(api.requests.at(-1)?.authorization, 'Bearer fake-token');
    assert.equal(kubeStatusOf(new Error('ECONNREFUSED')), undefined, 'a transport failure has no status');
  });
});

describe('@kubernetes/client-node stays optional', () => {
  it('is loaded only by src/kube/kubeClient.ts, on first use; everything else imports its types only', async () => {
    const srcDir = join(import.meta.dirname, '..');
    const files = (await readdir(srcDir, { recursive: true })).filter((f) => f.endsWith('.ts') && !f.startsWith('generated'));
    const loaders: string[] = [];
    for (const f of files) {
      const text = await readFile(join(srcDir, f), 'utf8');
      // A value import (static or dynamic); `import type ... from` is erased before Node runs the file.
      const value = [...text.matchAll(/^\s*import\s+(?!type\b)[^;]*?from\s+'@kubernetes\/client-node'/gm), ...text.matchAll(/import\(\s*'@kubernetes\/client-node'\s*\)/g)];
      if (value.length > 0) loaders.push(relative(srcDir, join(srcDir, f)));
    }
    assert.deepEqual(loaders, ['kube/kubeClient.ts']);
    const kubeClient = await readFile(join(srcDir, 'kube', 'kubeClient.ts'), 'utf8');
    assert.doesNotMatch(kubeClient, /^import\s+(?!type\b)[^;]*'@kubernetes\/client-node'/m, 'only a dynamic import there');
  });
});
