import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSpread, formatSpread } from '../../bench/lib/spreadCheck.ts';

const MiB = 2 ** 20;
const nodes = [
  { name: 'store-a', vg: 'vg-a', limitBytes: 48 * MiB },
  { name: 'store-b', vg: 'vg-b', limitBytes: 48 * MiB },
];
const lv = (vg: string, csiName: string | undefined, mib = 16) => ({ vg, sizeBytes: mib * MiB, csiName });

describe('checkSpread', () => {
  it('counts each node\'s LVs and provisioned bytes and finds nothing wrong when each name has one LV within the limits', () => {
    const verdict = checkSpread(nodes, [lv('vg-a', 'v1'), lv('vg-b', 'v2'), lv('vg-a', 'v3')], ['v1', 'v2', 'v3']);
    assert.deepEqual(verdict.problems, []);
    assert.deepEqual(verdict.perNode, [
      { name: 'store-a', count: 2, provisionedBytes: 32 * MiB, limitBytes: 48 * MiB },
      { name: 'store-b', count: 1, provisionedBytes: 16 * MiB, limitBytes: 48 * MiB },
    ]);
  });

  it('reports a node whose thin LVs promise more than its over-provisioning limit', () => {
    const verdict = checkSpread(nodes, [lv('vg-a', 'v1'), lv('vg-a', 'v2'), lv('vg-a', 'v3'), lv('vg-a', 'v4')], ['v1', 'v2', 'v3', 'v4']);
    assert.deepEqual(verdict.problems, [`store-a promises ${64 * MiB} bytes, past its limit of ${48 * MiB}`]);
  });

  it('accepts a node filled exactly to its limit', () => {
    const verdict = checkSpread(nodes, [lv('vg-a', 'v1'), lv('vg-a', 'v2'), lv('vg-a', 'v3')], ['v1', 'v2', 'v3']);
    assert.deepEqual(verdict.problems, []);
  });

  it('reports a name with no LV, a name with two, an LV of no expected name and an LV outside the nodes\' VGs', () => {
    const verdict = checkSpread(nodes, [lv('vg-a', 'v1'), lv('vg-b', 'v1'), lv('vg-b', undefined), lv('vg-x', 'v3')], ['v1', 'v2', 'v3']);
    assert.deepEqual(verdict.problems, [
      'an LV in vg-b of no expected name (untagged)',
      'an LV in vg-x, which is no storage node\'s VG',
      'v1 has 2 LVs',
      'v2 has 0 LVs',
    ]);
  });
});

describe('formatSpread', () => {
  it('shows each node\'s count and provisioned MiB against its limit', () => {
    assert.equal(
      formatSpread([
        { name: 'store-a', count: 34, provisionedBytes: 544 * MiB, limitBytes: 768 * MiB },
        { name: 'store-b', count: 33, provisionedBytes: 528 * MiB, limitBytes: 768 * MiB },
      ]),
      'store-a 34 (544/768 MiB), store-b 33 (528/768 MiB)',
    );
  });
});
