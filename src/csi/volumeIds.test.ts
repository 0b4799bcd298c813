import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAgentId } from '../agentApi/ids.ts';
import { MAX_STORAGE_NODE_NAME, MIRROR_ID_PREFIX, formatMirrorVolumeId, formatObjectId, isStorageNodeName, parseAnyVolumeId, parseMirrorVolumeId, parseSnapshotId, parseVolumeId } from './volumeIds.ts';

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

  it('round-trip a replicated volume id @mirror/<LV id>, which never reads as a single-copy one', () => {
    const id = formatMirrorVolumeId(VOL);
    assert.equal(id, `${MIRROR_ID_PREFIX}${VOL}`);
    assert.deepEqual(parseMirrorVolumeId(id), { id: VOL });
    assert.equal(parseVolumeId(id), undefined);
    assert.deepEqual(parseAnyVolumeId(id), { kind: 'mirror', id: VOL });
    assert.deepEqual(parseAnyVolumeId(`store-a/${VOL}`), { kind: 'single', node: 'store-a', id: VOL });
    assert.equal(parseMirrorVolumeId(`store-a/${VOL}`), undefined);
    assert.ok(Buffer.byteLength(id) <= 128);
  });

  it('refuse a mirror id that is not one of ours', () => {
    for (const bad of [MIRROR_ID_PREFIX, `${MIRROR_ID_PREFIX}${SNAP}`, `@mirror/store-a/${VOL}`, `@Mirror/${VOL}`, `@mirror${VOL}`, ` @mirror/${VOL}`, `@mirror/${VOL}/`]) {
      assert.equal(parseMirrorVolumeId(bad), undefined, bad);
      assert.equal(parseAnyVolumeId(bad), undefined, bad);
    }
  });
});
