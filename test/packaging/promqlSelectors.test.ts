import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promqlReferences } from './promqlSelectors.ts';

describe('promqlReferences', () => {
  it('finds metric names with their matchers, and grouping labels, skipping functions, strings and durations', () => {
    const refs = promqlReferences(
      'sum by (namespace, pod) (increase(a_total{namespace="x",result=~"error|up"}[15m])) > 0 unless on (pod) max(b_ratio) > 0.5 * 86400 - time()',
    );
    assert.deepEqual(refs.selectors, [
      { metric: 'a_total', labels: ['namespace', 'result'] },
      { metric: 'b_ratio', labels: [] },
    ]);
    assert.deepEqual(refs.groupingLabels, ['namespace', 'pod', 'pod']);
  });

  it('reads a bare selector and a selector with spaces before its matchers', () => {
    assert.deepEqual(promqlReferences('up == 0').selectors, [{ metric: 'up', labels: [] }]);
    assert.deepEqual(promqlReferences('up {job="a"} offset 5m').selectors, [{ metric: 'up', labels: ['job'] }]);
  });

  it('refuses matchers it cannot attach to a metric name', () => {
    assert.throws(() => promqlReferences('{__name__="x"}'), /without a metric name/);
  });
});
