import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAgentId } from '../agentApi/ids.ts';
import { MAX_STORAGE_NODE_NAME, formatObjectId, isStorageNodeName, parseSnapshotId, parseVolumeId } from './volumeIds.ts';

const VOL = buildAgentId('pvc-1', 'volume');
const SNAP = buildAgentId('snap-1', 'snapshot');

describe('volume and snapshot ids', () => {
  it('round-trip <storage node>/<LV id> and tell volumes from snapshots', () => {
    assert.deepEqual(parseVolumeId(formatObjectId({ node: 'store-a.example', id: VOL })), { node: 'store-a.example', id: VOL });
    assert.deepEqual(parseSnapshotId(`store-a/${SNAP}`), { node: 'store-a', id: SNAP });
    assert.equal(parseVolumeId(`store-a/${SNAP}`), undefined);
    assert.equal(parseSnapshotId(`store-a/${VOL}`), undefined);
  });

  it('refuses what cannot be ours', () => {
    for (const bad of ['', VOL, `/${VOL}`, `Store-A/${VOL}`, `store_a/${VOL}`, `store-a/${VOL}/x`, `store-a/../${VOL}`, 'store-a/vbs-vol-short', `-a/${VOL}`]) {
      assert.equal(parseVolumeId(bad), undefined, bad);
    }
  });

  it('keeps the longest id within CSI 128 bytes, snapshots included', () => {
    const longest = 'n'.repeat(MAX_STORAGE_NODE_NAME);
    assert.ok(isStorageNodeName(longest));
    assert.equal(isStorageNodeName(`${longest}n`), false);
    for (const id of [formatObjectId({ node: longest, id: VOL }), formatObjectId({ node: longest, id: SNAP })]) {
      assert.ok(Buffer.byteLength(id) <= 128, `${id.length} bytes`);
    }
    assert.ok(parseSnapshotId(formatObjectId({ node: longest, id: SNAP })));
  });
});
