import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { percentile, summarize } from '../../bench/lib/percentile.ts';

describe('percentile', () => {
  test('the 50th percentile of an odd count is the middle sample, whatever the input order', () => {
    assert.equal(percentile([5, 1, 3], 50), 3);
  });
  test('the 50th percentile of an even count is the mean of the middle two', () => {
    assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
  });
  test('the 99th percentile of 15 samples lies between the two largest, close to the largest', () => {
    const samples = Array.from({ length: 15 }, (_, i) => i + 1); // 1..15
    assert.ok(Math.abs(percentile(samples, 99) - 14.86) < 1e-9);
  });
  test('0 and 100 are the minimum and the maximum; one sample is every percentile', () => {
    assert.equal(percentile([7, 2, 9], 0), 2);
    assert.equal(percentile([7, 2, 9], 100), 9);
    assert.equal(percentile([42], 99), 42);
  });
  test('no samples, a percentile outside 0-100 or a non-finite sample is refused', () => {
    assert.throws(() => percentile([], 50), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1, Number.NaN], 50), RangeError);
  });
  test('summarize gives count, p50, p99, min, max and mean', () => {
    assert.deepEqual(summarize([3, 1, 2]), { count: 3, p50: 2, p99: 2.98, min: 1, max: 3, mean: 2 });
  });
});
