import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeLoadScore, isWithinLoadTolerance } from './policy.ts';

describe('computeLoadScore', () => {
  const cases: Array<{ name: string; utilization: number; averageLatencyMs: number; score: number }> = [
    { name: 'scores an idle, fast node 0', utilization: 0, averageLatencyMs: 0, score: 0 },
    { name: 'adds utilization and latency as a fraction of 50 ms', utilization: 0.25, averageLatencyMs: 10, score: 0.45 },
    { name: 'counts 50 ms as fully slow', utilization: 0, averageLatencyMs: 50, score: 1 },
    { name: 'caps latency past 50 ms at 1', utilization: 0.5, averageLatencyMs: 5000, score: 1.5 },
    { name: 'caps utilization that overshoots 1', utilization: 1.07, averageLatencyMs: 0, score: 1 },
    { name: 'treats a negative figure as 0', utilization: -0.1, averageLatencyMs: -3, score: 0 },
    { name: 'treats a utilization that is not a number as saturated', utilization: Number.NaN, averageLatencyMs: 0, score: 1 },
    { name: 'treats an infinite latency as fully slow', utilization: 0, averageLatencyMs: Number.POSITIVE_INFINITY, score: 1 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.ok(Math.abs(computeLoadScore(c) - c.score) < 1e-12, `${computeLoadScore(c)} != ${c.score}`);
    });
  }
});

describe('isWithinLoadTolerance', () => {
  const cases: Array<{ name: string; score: number; best: number; within: boolean }> = [
    { name: 'counts the best score itself as within', score: 0.3, best: 0.3, within: true },
    { name: 'counts 0.05 above the best as within, despite float rounding', score: 0.2, best: 0.15, within: true },
    { name: 'counts 0.051 above the best as outside', score: 0.351, best: 0.3, within: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(isWithinLoadTolerance(c.score, c.best), c.within));
});
