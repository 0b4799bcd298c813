import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { manifestsDir, renderManifests } from '../../scripts/render-manifests.ts';
import { yamlFilesIn } from './support.ts';

describe('manifests/ is the chart default rendering', () => {
  const expected = renderManifests();

  for (const [name, content] of expected) {
    it(`manifests/${name} is up to date (else: npm run manifests)`, () => {
      assert.equal(readFileSync(join(manifestsDir, name), 'utf8'), content, `manifests/${name} is stale: run \`npm run manifests\``);
    });
  }

  it('holds no YAML file the generator does not write', () => {
    assert.deepEqual([...yamlFilesIn('manifests').keys()].sort(), [...expected.keys()].map((n) => `manifests/${n}`).sort());
  });

  it('carries the objects issue 6 lists, in the vbs-csi namespace', () => {
    const objects = [...yamlFilesIn('manifests').values()].flat();
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    for (const want of [
      'Namespace/vbs-csi',
      'CSIDriver/vbs.csi.io',
      'Deployment/vbs-csi-controller',
      'DaemonSet/vbs-csi-node',
      'DaemonSet/vbs-csi-agent',
      'Service/vbs-csi-agent',
      'ClusterRole/vbs-csi-controller',
      'Role/vbs-csi-controller',
      'StorageClass/vbs-thin',
      'VolumeSnapshotClass/vbs-snapshot',
      'Secret/vbs-csi-chap',
      'Secret/vbs-csi-agent-tls',
      'Secret/vbs-csi-controller-tls',
    ]) {
      assert.ok(kinds.includes(want), `${want} in manifests/`);
    }
    const clusterScoped = new Set(['Namespace', 'CSIDriver', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'VolumeSnapshotClass']);
    for (const o of objects) {
      assert.equal(o.metadata.namespace, clusterScoped.has(o.kind) ? undefined : 'vbs-csi', `${o.kind}/${o.metadata.name}`);
    }
  });
});
