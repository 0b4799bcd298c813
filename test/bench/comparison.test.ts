import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateComparison } from '../../bench/lib/comparison.ts';
import type { Comparison } from '../../bench/lib/comparison.ts';

const latency = (driver: number[], raw: number[], bound = 1.1): Comparison => ({
  measure: 'CreateVolume',
  unit: 'ms',
  subject: { name: 'driver', samples: driver },
  baseline: { name: 'raw', samples: raw },
  target: { kind: 'max', bound },
});

describe('evaluateComparison', () => {
  test('the ratio is the subject median over the baseline median, not a ratio of means', () => {
    const e = evaluateComparison(latency([100, 110, 1000], [100, 100, 100]));
    assert.equal(e.ratio, 1.1);
    assert.equal(e.subject.p50, 110);
  });
  test('a latency target is met at or below its bound and missed above it', () => {
    assert.equal(evaluateComparison(latency([110], [100])).meetsTarget, true);
    assert.equal(evaluateComparison(latency([111], [100])).meetsTarget, false);
  });
  test('a throughput target is met at or above its bound', () => {
    const fio = (driver: number): Comparison => ({ measure: 'fio', unit: 'IOPS', subject: { name: 'driver', samples: [driver] }, baseline: { name: 'raw', samples: [1000] }, target: { kind: 'min', bound: 0.95 } });
    assert.equal(evaluateComparison(fio(950)).meetsTarget, true);
    assert.equal(evaluateComparison(fio(940)).meetsTarget, false);
  });
  test('without a target there is a ratio and no verdict', () => {
    const { target: _dropped, ...noTarget } = latency([200], [100]);
    const e = evaluateComparison(noTarget);
    assert.equal(e.ratio, 2);
    assert.equal(e.meetsTarget, undefined);
  });
  test('a baseline with a zero median cannot give a ratio', () => {
    assert.throws(() => evaluateComparison(latency([1], [0])), /no ratio/);
  });
});
