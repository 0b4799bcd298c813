import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildLvName } from './buildLvName.ts';
import { validateLvName } from './validateNames.ts';

describe('buildLvName', () => {
  it('is deterministic, so a retried create computes the same name', () => {
    assert.equal(buildLvName('pvc-1', 'volume'), buildLvName('pvc-1', 'volume'));
  });

  it('gives different ids different names', () => {
    assert.notEqual(buildLvName('pvc-1', 'volume'), buildLvName('pvc-2', 'volume'));
  });

  it('prefixes by kind so a volume and a snapshot with the same id never collide', () => {
    assert.match(buildLvName('x', 'volume'), /^vbs-vol-[a-z2-7]{26}$/);
    assert.match(buildLvName('x', 'snapshot'), /^vbs-snap-[a-z2-7]{26}$/);
  });

  it('stays short and valid for a 128-byte unicode id', () => {
    const name = buildLvName('😀'.repeat(32), 'snapshot');
    assert.ok(name.length <= 35, name);
    assert.doesNotThrow(() => validateLvName(name));
  });

  it('matches a known value (pins the hash and the base32 alphabet)', () => {
    assert.equal(buildLvName('pvc-1', 'volume'), `vbs-vol-${expectedBase32('pvc-1')}`);
  });
});

/** An independent base32 of the first 130 bits of sha256, via a bit string. */
function expectedBase32(id: string): string {
  const bits = [...createHash('sha256').update(id).digest()].map((b) => b.toString(2).padStart(8, '0')).join('');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  for (let i = 0; i < 26; i++) out += alphabet[Number.parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
  return out;
}
