import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { parseVolumeParameters } from './volumeParameters.ts';

describe('parseVolumeParameters', () => {
  it('defaults to thin ext4 on any node', () => {
    assert.deepEqual(parseVolumeParameters(undefined), { thin: true, fsType: 'ext4', requiredLabels: {}, replicas: 1 });
  });

  it('reads provisioning, fsType, tier and nodeLabels, ignoring the sidecar keys', () => {
    assert.deepEqual(
      parseVolumeParameters({ provisioning: 'thick', fsType: 'xfs', tier: 'ssd', nodeLabels: 'rack=r1, tier=ssd', 'csi.storage.k8s.io/pvc/name': 'data' }),
      { thin: false, fsType: 'xfs', requiredLabels: { rack: 'r1', tier: 'ssd' }, replicas: 1 },
    );
  });

  it('refuses unknown keys, bad values and a tier that nodeLabels contradicts', () => {
    assert.throws(() => parseVolumeParameters({ tire: 'ssd' }), (err: unknown) => err instanceof InvalidArgumentError && /"tire"/.test(err.message));
    assert.throws(() => parseVolumeParameters({ provisioning: 'fat' }), InvalidArgumentError);
    assert.throws(() => parseVolumeParameters({ fsType: 'btrfs' }), InvalidArgumentError);
    assert.throws(() => parseVolumeParameters({ tier: '' }), InvalidArgumentError);
    assert.throws(() => parseVolumeParameters({ tier: 'a b' }), InvalidArgumentError);
    assert.throws(() => parseVolumeParameters({ nodeLabels: 'rack' }), InvalidArgumentError);
    assert.throws(() => parseVolumeParameters({ nodeLabels: '=x' }), InvalidArgumentError);
    assert.throws(() => parseVolumeParameters({ tier: 'ssd', nodeLabels: 'tier=hdd' }), /disagree/);
  });

  it('reads replicas 1, 2 or 3 and refuses anything else, naming the value', () => {
    assert.equal(parseVolumeParameters({ replicas: '1' }).replicas, 1);
    assert.equal(parseVolumeParameters({ replicas: '2' }).replicas, 2);
    assert.equal(parseVolumeParameters({ replicas: '3' }).replicas, 3);
    for (const bad of ['0', '4', '', ' 2', '2.0', 'two', '02']) {
      assert.throws(() => parseVolumeParameters({ replicas: bad }), (err: unknown) => err instanceof InvalidArgumentError && err.message.includes(JSON.stringify(bad)), bad);
    }
  });
});
