import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { parseVolumeParameters } from './volumeParameters.ts';

describe('parseVolumeParameters', () => {
  it('defaults to thin ext4 on any node', () => {
    assert.deepEqual(parseVolumeParameters(undefined), { thin: true, fsType: 'ext4', requiredLabels: {} });
  });

  it('reads provisioning, fsType, tier and nodeLabels, ignoring the sidecar keys', () => {
    assert.deepEqual(
      parseVolumeParameters({ provisioning: 'thick', fsType: 'xfs', tier: 'ssd', nodeLabels: 'rack=r1, tier=ssd', 'csi.storage.k8s.io/pvc/name': 'data' }),
      { thin: false, fsType: 'xfs', requiredLabels: { rack: 'r1', tier: 'ssd' } },
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
});
