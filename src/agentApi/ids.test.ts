import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildAgentId, isSnapshotId, isVolumeId, kindOfAgentId } from './ids.ts';

describe('agent ids', () => {
  it('are deterministic, so a retried create computes the same id', () => {
    assert.equal(buildAgentId('pvc-1', 'volume'), buildAgentId('pvc-1', 'volume'));
  });

  it('differ between names', () => {
    assert.notEqual(buildAgentId('pvc-1', 'volume'), buildAgentId('pvc-2', 'volume'));
  });

  it('are prefixed by kind so a volume and a snapshot of the same name never collide', () => {
    assert.match(buildAgentId('x', 'volume'), /^vbs-vol-[a-z2-7]{26}$/);
    assert.match(buildAgentId('x', 'snapshot'), /^vbs-snap-[a-z2-7]{26}$/);
  });

  it('stay short for a 128-byte unicode name', () => {
    assert.ok(buildAgentId('😀'.repeat(32), 'snapshot').length <= 35);
  });

  it('match a known value (pins the hash and the base32 alphabet)', () => {
    assert.equal(buildAgentId('pvc-1', 'volume'), `vbs-vol-${expectedBase32('pvc-1')}`);
  });

  it('are recognised by kind, whatever name they were made from', () => {
    for (const name of ['pvc-1', '', '😀'.repeat(32), 'a/b c']) {
      const vol = buildAgentId(name, 'volume');
      const snap = buildAgentId(name, 'snapshot');
      assert.ok(isVolumeId(vol) && !isSnapshotId(vol), vol);
      assert.ok(isSnapshotId(snap) && !isVolumeId(snap), snap);
      assert.equal(kindOfAgentId(vol), 'volume');
      assert.equal(kindOfAgentId(snap), 'snapshot');
    }
  });

  it('refuse what the agent never gives out', () => {
    const vol = buildAgentId('pvc-1', 'volume');
    for (const id of ['', 'pvc-1', vol.toUpperCase(), `${vol}a`, vol.slice(0, -1), vol.replace(/.$/, '1'), vol.replace(/.$/, '_'), `x${vol}`, 'vbs-vol-', 'vbs-snap-']) {
      assert.equal(kindOfAgentId(id), undefined, id);
    }
  });
});

/** An independent base32 of the first 130 bits of sha256, via a bit string. */
function expectedBase32(name: string): string {
  const bits = [...createHash('sha256').update(name).digest()].map((b) => b.toString(2).padStart(8, '0')).join('');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  for (let i = 0; i < 26; i++) out += alphabet[Number.parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
  return out;
}
