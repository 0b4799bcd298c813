import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, ResourceExhaustedError, UnavailableError } from '../errors.ts';
import { chooseMirrorPlacement } from './chooseMirrorPlacement.ts';
import { GiB, node, none, request } from './testing/candidates.ts';
import type { ReservedBytes } from './types.ts';

const load = (utilization: number) => ({ utilization, averageLatencyMs: 0 });

describe('chooseMirrorPlacement', () => {
  it('puts each copy on a distinct node, best ranked first (load, then room)', () => {
    const nodes = [node('a', { load: load(0.9) }), node('b', { thinAllocatableBytes: 50 * GiB }), node('c'), node('d', { load: load(0.5) })];
    assert.deepEqual(chooseMirrorPlacement(nodes, request(), 2, none).nodes, ['c', 'b']);
    assert.deepEqual(chooseMirrorPlacement(nodes, request(), 3, none).nodes, ['c', 'b', 'd']);
    assert.deepEqual(chooseMirrorPlacement([...nodes].reverse(), request(), 3, none).nodes, ['c', 'b', 'd'], 'same answer for reversed input');
  });

  it('prefers distinct zones over a better ranked node in a zone already used', () => {
    const nodes = [node('a1', { zone: 'a' }), node('a2', { zone: 'a' }), node('b1', { zone: 'b', load: load(0.8) })];
    assert.deepEqual(chooseMirrorPlacement(nodes, request(), 2, none).nodes, ['a1', 'b1']);
  });

  it('spreads over as many zones as have eligible nodes, then fills with distinct nodes', () => {
    const nodes = [node('a1', { zone: 'a' }), node('a2', { zone: 'a' }), node('a3', { zone: 'a' }), node('b1', { zone: 'b', load: load(0.8) })];
    const decision = chooseMirrorPlacement(nodes, request(), 3, none);
    assert.deepEqual(decision.nodes, ['a1', 'b1', 'a2']);
    assert.match(decision.explanation, /copy 2 on a2: .*every eligible zone already has a copy/);
  });

  it('does not count a zone whose only node is not eligible', () => {
    const nodes = [node('a1', { zone: 'a' }), node('a2', { zone: 'a', load: load(0.5) }), node('b1', { zone: 'b', thinAllocatableBytes: GiB })];
    assert.deepEqual(chooseMirrorPlacement(nodes, request(), 2, none).nodes, ['a1', 'a2']);
  });

  it('applies requisite zones and labels to every copy, and preferred zones to the ranking', () => {
    const nodes = [node('a1', { zone: 'a' }), node('b1', { zone: 'b', labels: { tier: 'ssd' } }), node('c1', { zone: 'c', labels: { tier: 'ssd' } }), node('c2', { zone: 'c', labels: { tier: 'ssd' } })];
    assert.deepEqual(chooseMirrorPlacement(nodes, request({ requisiteZones: ['a', 'c'] }), 2, none).nodes, ['a1', 'c1']);
    assert.deepEqual(chooseMirrorPlacement(nodes, request({ requiredLabels: { tier: 'ssd' }, preferredZones: ['c'] }), 3, none).nodes, ['c1', 'b1', 'c2']);
    assert.deepEqual(chooseMirrorPlacement(nodes, request({ requiredLabels: { tier: 'ssd' }, requisiteZones: ['c'] }), 2, none).nodes, ['c1', 'c2']);
  });

  it('counts reservations against each node', () => {
    const nodes = [node('a'), node('b'), node('c', { thinAllocatableBytes: 90 * GiB })];
    const reserved: ReservedBytes = (name) => (name === 'a' ? 95 * GiB : 0);
    assert.deepEqual(chooseMirrorPlacement(nodes, request(), 2, reserved).nodes, ['b', 'c']);
  });

  it('refuses with RESOURCE_EXHAUSTED saying how many nodes were eligible and why the others were not', () => {
    const nodes = [node('a'), node('b', { thinAllocatableBytes: GiB }), node('c', { labels: { tier: 'hdd' } })];
    assert.throws(
      () => chooseMirrorPlacement(nodes, request({ requiredLabels: {} }), 3, none),
      (err: unknown) => {
        assert.ok(err instanceof ResourceExhaustedError, String(err));
        assert.match(err.message, /no 3 storage nodes can each hold a copy of 10 GiB thin: 2 of 3 storage nodes eligible \(a, c\), 3 needed \(one per copy\); rejected: b: 1 GiB allocatable/);
        return true;
      },
    );
  });

  it('refuses with UNAVAILABLE when nodes that could not be judged would make up the count', () => {
    const nodes = [node('a'), node('b', { reachable: false, unreachableReason: 'connection refused' })];
    assert.throws(() => chooseMirrorPlacement(nodes, request(), 2, none), (err: unknown) => err instanceof UnavailableError && /1 of 2 storage nodes eligible \(a\).*b: unreachable \(connection refused\); retry/.test(err.message));
    assert.throws(() => chooseMirrorPlacement(nodes, request(), 3, none), ResourceExhaustedError, 'three copies cannot fit even if b answers');
  });

  it('refuses a copy count below one and a pinned node', () => {
    assert.throws(() => chooseMirrorPlacement([node('a')], request(), 0, none), InvalidArgumentError);
    assert.throws(() => chooseMirrorPlacement([node('a'), node('b')], request({ onlyNode: 'a' }), 2, none), InvalidArgumentError);
  });

  it('explains each copy', () => {
    const { explanation } = chooseMirrorPlacement([node('a', { zone: 'x' }), node('b', { zone: 'y' })], request(), 2, none);
    assert.match(explanation, /^placed 2 copies of 10 GiB thin; copy 0 on a: .*; copy 1 on b: the only eligible node, a zone no other copy is in; .*2 of 2 considered nodes eligible$/);
  });
});
