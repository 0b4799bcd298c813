import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAssembly } from './assembly.ts';
import type { CopyView } from './assembly.ts';
import { initialMirrorRecord, markOutOfSync } from './mirrorRecord.ts';

const gen1 = initialMirrorRecord(['store-a', 'store-b'], 10 * 2 ** 30);
const gen2 = markOutOfSync(gen1, [1]); // b went out while a kept the writes

const view = (slot: number, node: string, over: Partial<CopyView> = {}): CopyView => ({ slot, node, reachable: true, superblock: 'present', ...over });

describe('decideAssembly', () => {
  it('assembles every copy when all are reachable and in sync', () => {
    const d = decideAssembly([view(0, 'store-a', { record: gen1 }), view(1, 'store-b', { record: gen1 })]);
    assert.deepEqual(d, { kind: 'assemble', record: gen1, legs: [0, 1], rebuild: [], nosync: false, stale: [], missing: [] });
  });

  it('refuses the stale copy alone, naming where the data is and what to do', () => {
    // a is unreachable and holds gen2; b still holds gen1 in its tags (it was away when gen2 was written).
    const d = decideAssembly([view(0, 'store-a', { reachable: false }), view(1, 'store-b', { record: gen1 })]);
    // b's own record (gen1) says both in sync: a is in sync and unreachable, so still refused.
    assert.equal(d.kind, 'refuse');
    const d2 = decideAssembly([view(0, 'store-a', { reachable: false }), view(1, 'store-b', { record: gen2 })]);
    assert.equal(d2.kind, 'refuse');
    if (d2.kind !== 'refuse') return;
    assert.match(d2.message, /generation 2/);
    assert.match(d2.message, /copy 0 on store-a cannot be reached/);
    assert.match(d2.message, /copy 1 on store-b is stale/);
    assert.match(d2.message, /Nothing was written/);
  });

  it('assembles the fresh copy alone (degraded), the stale one missing', () => {
    const d = decideAssembly([view(0, 'store-a', { record: gen2 }), view(1, 'store-b', { reachable: false })]);
    assert.deepEqual(d, { kind: 'assemble', record: gen2, legs: [0], rebuild: [], nosync: false, stale: [], missing: [1] });
  });

  it('assembles both when the stale copy is back; md resyncs it from the bitmap, no rebuild', () => {
    const d = decideAssembly([view(0, 'store-a', { record: gen2 }), view(1, 'store-b', { record: gen1 })]);
    assert.deepEqual(d, { kind: 'assemble', record: gen2, legs: [0, 1], rebuild: [], nosync: false, stale: [1], missing: [] });
  });

  it('rebuilds a blank replacement copy in an existing set, but not a blank new set', () => {
    const d = decideAssembly([view(0, 'store-a', { record: gen2 }), view(1, 'store-b', { record: gen2, superblock: 'blank' })]);
    assert.equal(d.kind, 'assemble');
    if (d.kind === 'assemble') assert.deepEqual(d.rebuild, [1]);
    const fresh = decideAssembly([view(0, 'store-a', { record: gen1, superblock: 'blank' }), view(1, 'store-b', { record: gen1, superblock: 'blank' })]);
    assert.equal(fresh.kind, 'assemble');
    if (fresh.kind === 'assemble') assert.deepEqual(fresh.rebuild, []);
  });

  it('skips the initial resync (nosync) only for a new set: generation 1, every copy blank and reachable', () => {
    const blank = { record: gen1, superblock: 'blank' as const };
    const fresh = decideAssembly([view(0, 'store-a', blank), view(1, 'store-b', blank)]);
    assert.equal(fresh.kind === 'assemble' && fresh.nosync, true);
    // once assembled (a superblock on any copy), md's own metadata decides: never nosync again
    const again = decideAssembly([view(0, 'store-a', { record: gen1 }), view(1, 'store-b', blank)]);
    assert.equal(again.kind === 'assemble' && again.nosync, false);
    // a later generation means a failure happened: the copies may differ
    const later = markOutOfSync(gen1, [1]);
    const afterFailure = decideAssembly([view(0, 'store-a', { record: later, superblock: 'blank' }), view(1, 'store-b', { record: later, superblock: 'blank' })]);
    assert.equal(afterFailure.kind === 'assemble' && afterFailure.nosync, false);
  });

  it('refuses when the only in-sync copies are blank and a stale one carries the metadata', () => {
    const d = decideAssembly([view(0, 'store-a', { record: gen2, superblock: 'blank' }), view(1, 'store-b', { record: gen2 })]);
    assert.equal(d.kind, 'refuse');
  });

  it('three copies: one lost out of sync is fine, an in-sync one lost is not', () => {
    const r = markOutOfSync(initialMirrorRecord(['a', 'b', 'c'], 2 ** 30), [2]);
    const ok = decideAssembly([view(0, 'a', { record: r }), view(1, 'b', { record: r }), view(2, 'c', { reachable: false })]);
    assert.deepEqual(ok.kind === 'assemble' && ok.legs, [0, 1]);
    const no = decideAssembly([view(0, 'a', { record: r }), view(1, 'b', { reachable: false }), view(2, 'c', { reachable: true, record: r })]);
    assert.equal(no.kind, 'refuse');
    if (no.kind === 'refuse') assert.match(no.message, /copy 1 on b cannot be reached/);
  });

  it('refuses two different records of one generation', () => {
    const other = markOutOfSync(gen1, [0]);
    const d = decideAssembly([view(0, 'store-a', { record: gen2 }), view(1, 'store-b', { record: other })]);
    assert.equal(d.kind, 'refuse');
    if (d.kind === 'refuse') assert.match(d.message, /disagree.*generation 2/);
  });

  it('refuses when nothing is reachable, or no record could be read', () => {
    const none = decideAssembly([view(0, 'store-a', { reachable: false }), view(1, 'store-b', { reachable: false })]);
    assert.equal(none.kind, 'refuse');
    if (none.kind === 'refuse') assert.match(none.message, /no copy is reachable/);
    const noRecord = decideAssembly([view(0, 'store-a'), view(1, 'store-b')]);
    assert.equal(noRecord.kind, 'refuse');
    if (noRecord.kind === 'refuse') assert.match(noRecord.message, /no reachable copy's agent gave its record/);
  });

  it('refuses a record that places the copies elsewhere than publish_context', () => {
    const d = decideAssembly([view(0, 'store-a', { record: gen1 }), view(1, 'store-c', { record: gen1 })]);
    assert.equal(d.kind, 'refuse');
    if (d.kind === 'refuse') assert.match(d.message, /publish the volume again/);
  });
});
