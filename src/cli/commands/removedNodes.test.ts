import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { FakeKubeApi } from '../../kube/testing/FakeKubeApi.ts';
import { runCli } from '../runCli.ts';

async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { env, out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
  return { code, out, err };
}

describe('vbs-csi nodes remove | restore | removed', () => {
  let dir: string;
  let record: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-cli-removed-'));
    record = `file:${join(dir, 'removed.json')}`;
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('refuses a removal without --confirm-node-is-gone, saying what it means, and writes nothing', async () => {
    const r = await cli(['nodes', 'remove', 'store-b', '--removed-storage-nodes', record]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--confirm-node-is-gone is required: .*deletes and unpublishes of store-b volumes with success without reaching it/);
    await assert.rejects(readFile(join(dir, 'removed.json')), { code: 'ENOENT' });
  });

  it('removes, lists and restores through a file record; a second removal keeps the first', async () => {
    const env = { VBS_REMOVED_STORAGE_NODES: record };
    const removed = await cli(['nodes', 'remove', 'store-b', '--confirm-node-is-gone', '--note', 'array died, INC-7'], env);
    assert.equal(removed.code, 0, removed.err);
    assert.match(removed.out, /^removed store-b \(file .*removed.json\)\n$/);
    assert.match(removed.err, /undo with: vbs-csi nodes restore store-b/);
    const again = await cli(['nodes', 'remove', 'store-b', '--confirm-node-is-gone'], env);
    assert.match(again.out, /store-b was already removed at \d{4}-/);
    const list = await cli(['nodes', 'removed', '--json'], env);
    assert.deepEqual(JSON.parse(list.out).map((n: { name: string; note: string }) => [n.name, n.note]), [['store-b', 'array died, INC-7']]);
    assert.match((await cli(['nodes', 'removed'], env)).out, /NAME\s+REMOVED AT\s+NOTE\nstore-b\s+\S+\s+array died, INC-7/);
    assert.equal((await cli(['nodes', 'restore', 'store-b'], env)).out, 'restored store-b\n');
    assert.match((await cli(['nodes', 'restore', 'store-b'], env)).out, /store-b was not removed/);
    assert.match((await cli(['nodes', 'removed'], env)).out, /no storage node is removed/);
  });

  it('checks the name, the record and the note before touching anything', async () => {
    assert.match((await cli(['nodes', 'remove', 'Store_B', '--confirm-node-is-gone', '--removed-storage-nodes', record])).err, /"Store_B" is not a storage node name/);
    assert.match((await cli(['nodes', 'removed'])).err, /--removed-storage-nodes is required \(or VBS_REMOVED_STORAGE_NODES\)/);
    assert.match((await cli(['nodes', 'removed', '--removed-storage-nodes', 'configmap:x'])).err, /expected configmap:NAMESPACE\/NAME/);
    assert.match((await cli(['nodes', 'remove', 'store-b', '--confirm-node-is-gone', '--note', 'a\nb', '--removed-storage-nodes', record])).err, /--note: the note must be one line/);
  });

  describe('with a ConfigMap record on a fake Kubernetes API server', () => {
    let api: FakeKubeApi;
    before(async () => {
      api = await FakeKubeApi.start();
    });
    after(async () => api.close());

    it('writes the ConfigMap through KUBECONFIG, and exits 75 (try again) when the API refuses', async () => {
      const env = { KUBECONFIG: api.kubeconfigPath, VBS_REMOVED_STORAGE_NODES: 'configmap:vbs-csi/removed-nodes' };
      const r = await cli(['nodes', 'remove', 'store-b', '--confirm-node-is-gone'], env);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(Object.keys(api.data('vbs-csi', 'removed-nodes') ?? {}), ['store-b']);
      api.failures.set('GET /api/v1/namespaces/vbs-csi/configmaps', { code: 403, reason: 'Forbidden', message: 'forbidden' });
      const denied = await cli(['nodes', 'removed'], env);
      assert.equal(denied.code, 75);
      assert.match(denied.err, /vbs-csi nodes removed: cannot get ConfigMap vbs-csi\/removed-nodes .*HTTP 403/);
    });
  });
});
