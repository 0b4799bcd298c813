import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkMirrorRecord, initialMirrorRecord, markAllInSync, markOutOfSync, maxBytesFor, MIN_REGION_BYTES, MiB, newestRecord, regionBytesFor, sameRecord } from './mirrorRecord.ts';

describe('mirrorRecord', () => {
  it('picks the smallest power-of-two region that keeps within 2^21 regions', () => {
    assert.equal(regionBytesFor(1 * MiB), MIN_REGION_BYTES);
    assert.equal(regionBytesFor(4 * 2 ** 40), 2 * MiB);
    assert.equal(regionBytesFor(4 * 2 ** 40 + 1), 4 * MiB);
    assert.equal(maxBytesFor(2 * MiB), 4 * 2 ** 40);
  });

  it('starts at generation 1 with every copy in sync', () => {
    const r = initialMirrorRecord(['a', 'b'], 2 ** 30);
    assert.deepEqual(r, { generation: 1, copies: [{ node: 'a', inSync: true }, { node: 'b', inSync: true }], regionBytes: 2 * MiB });
    assert.equal(checkMirrorRecord(r), undefined);
  });

  it('bumps the generation only when something changes', () => {
    const r = initialMirrorRecord(['a', 'b'], 2 ** 30);
    const out = markOutOfSync(r, [1]);
    assert.equal(out.generation, 2);
    assert.deepEqual(out.copies.map((c) => c.inSync), [true, false]);
    assert.equal(markOutOfSync(out, [1]), out);
    const back = markAllInSync(out);
    assert.equal(back.generation, 3);
    assert.ok(back.copies.every((c) => c.inSync));
    assert.equal(markAllInSync(back), back);
  });

  it('finds what is wrong with a record', () => {
    const r = initialMirrorRecord(['a', 'b'], 2 ** 30);
    assert.match(checkMirrorRecord({ ...r, generation: 0 })!, /generation/);
    assert.match(checkMirrorRecord({ ...r, copies: [{ node: 'a', inSync: true }, { node: 'a', inSync: true }] })!, /one storage node/);
    assert.match(checkMirrorRecord({ ...r, copies: r.copies.map((c) => ({ ...c, inSync: false })) })!, /no copy is in sync/);
    assert.match(checkMirrorRecord({ ...r, regionBytes: 3 * MiB })!, /power of two/);
    assert.match(checkMirrorRecord({ ...r, copies: [] })!, /0 copies/);
  });

  it('the newest record rules; two different records of one generation are a conflict', () => {
    const r1 = initialMirrorRecord(['a', 'b'], 2 ** 30);
    const r2 = markOutOfSync(r1, [1]);
    assert.deepEqual(newestRecord([r1, r2, r1]), { record: r2 });
    assert.deepEqual(newestRecord([r2, structuredClone(r2)]), { record: r2 });
    assert.ok('conflict' in newestRecord([r2, markOutOfSync(r1, [0])])!);
    assert.equal(newestRecord([]), undefined);
    assert.ok(sameRecord(r2, structuredClone(r2)));
    assert.ok(!sameRecord(r1, r2));
  });
});
