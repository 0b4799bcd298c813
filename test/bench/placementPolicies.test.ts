import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedCluster } from '../../bench/placement/cluster.ts';
import type { ClusterModel } from '../../bench/placement/cluster.ts';
import { compareWithBaseline } from '../../bench/placement/compare.ts';
import { capacityOnlyPolicy, ourPolicy, roundRobinPolicy } from '../../bench/placement/policies.ts';
import { formatPlacementReport, placementReportJson } from '../../bench/placement/report.ts';
import { runPlacementBenchmark } from '../../bench/placement/runPlacementBenchmark.ts';
import { summarizeSeedSpread } from '../../bench/placement/seedSpread.ts';
import { simulatePlacement } from '../../bench/placement/simulate.ts';
import type { PolicyOutcome } from '../../bench/placement/simulate.ts';
import { GiB } from '../../bench/placement/workload.ts';

const MODEL: ClusterModel = { nodeCount: 3, capacityBytes: 10 * GiB, iopsCapacity: 1000, serviceTimeMs: 0.5 };
const vol = (name: string, sizeGiB: number, iops = 10) => ({ name, sizeBytes: sizeGiB * GiB, iops });

describe('roundRobinPolicy', () => {
  it('takes the nodes in turn and skips a node without room', () => {
    const cluster = new SimulatedCluster(MODEL);
    cluster.place('node-01', vol('filler', 9));
    const policy = roundRobinPolicy();
    const picks = ['a', 'b', 'c', 'd'].map((name) => {
      const node = policy.choose(cluster, vol(name, 2), 0);
      if (node !== undefined) cluster.place(node, vol(name, 2));
      return node;
    });
    assert.deepEqual(picks, ['node-00', 'node-02', 'node-00', 'node-02']);
  });

  it('gives up when no node has room', () => {
    assert.equal(roundRobinPolicy().choose(new SimulatedCluster(MODEL), vol('huge', 11), 0), undefined);
  });
});

describe('capacityOnlyPolicy', () => {
  it('picks the node with the most free bytes, whatever its load', () => {
    const cluster = new SimulatedCluster(MODEL);
    cluster.place('node-00', vol('small-busy', 1, 900));
    cluster.place('node-01', vol('big-idle', 5, 0));
    cluster.place('node-02', vol('medium', 3, 0));
    assert.equal(capacityOnlyPolicy().choose(cluster, vol('new', 1), 0), 'node-00');
  });

  it('gives up when no node has room', () => {
    assert.equal(capacityOnlyPolicy().choose(new SimulatedCluster(MODEL), vol('huge', 11), 0), undefined);
  });
});

describe('ourPolicy', () => {
  it('picks the least loaded node with room', () => {
    const cluster = new SimulatedCluster(MODEL);
    cluster.place('node-00', vol('busy', 1, 900));
    cluster.place('node-01', vol('full-idle', 9, 0));
    cluster.place('node-02', vol('half-busy', 1, 500));
    assert.equal(ourPolicy().choose(cluster, vol('new', 2), 0), 'node-02');
  });

  it('reports a failure, not an exception, when no node has room', () => {
    assert.equal(ourPolicy().choose(new SimulatedCluster(MODEL), vol('huge', 11), 0), undefined);
  });
});

describe('simulatePlacement', () => {
  it('accounts every volume as placed or failed, and never overfills a node', () => {
    const volumes = Array.from({ length: 12 }, (_, i) => vol(`v${i}`, 3, i));
    for (const policy of [ourPolicy(), capacityOnlyPolicy(), roundRobinPolicy()]) {
      const out = simulatePlacement(volumes, MODEL, policy);
      assert.equal(out.placed + out.failed, volumes.length, policy.name);
      assert.equal(out.nodes.reduce((s, n) => s + n.volumeCount, 0), out.placed, policy.name);
      assert.equal(out.failed, 3, `${policy.name}: 3 volumes of 3 GiB fit on each 10 GiB node`);
      assert.deepEqual(out.failedVolumes, ['v9', 'v10', 'v11'], policy.name);
      for (const n of out.nodes) assert.ok(n.provisionedBytes <= MODEL.capacityBytes, `${policy.name} ${n.name}`);
    }
  });

  it('computes max and mean load over the nodes', () => {
    const out = simulatePlacement([vol('a', 1, 600), vol('b', 1, 300)], MODEL, roundRobinPolicy());
    assert.equal(out.maxLoad, 0.6);
    assert.equal(out.meanLoad, 0.3);
    assert.equal(out.maxOverMean, 2);
  });
});

describe('compareWithBaseline', () => {
  const outcome = (maxOverMean: number, failed: number) => ({ maxOverMean, failed }) as PolicyOutcome;

  it('meets the target at 30 % lower max/mean with no extra failures', () => {
    assert.equal(compareWithBaseline(outcome(1.4, 0), outcome(2, 0)).meetsTarget, true);
    assert.equal(compareWithBaseline(outcome(1.5, 0), outcome(2, 0)).meetsTarget, false);
    assert.equal(compareWithBaseline(outcome(1.0, 1), outcome(2, 0)).meetsTarget, false);
  });

  it('says how much lower, as a ratio and in percent', () => {
    const c = compareWithBaseline(outcome(1.2, 0), outcome(1.6, 0));
    assert.ok(Math.abs(c.maxOverMeanRatio - 0.75) < 1e-12, String(c.maxOverMeanRatio));
    assert.ok(Math.abs(c.reductionPercent - 25) < 1e-9, String(c.reductionPercent));
  });
});

describe('runPlacementBenchmark', () => {
  it('is reproducible from its seed and compares the three policies on one workload', () => {
    const a = runPlacementBenchmark(3);
    assert.deepEqual(placementReportJson(runPlacementBenchmark(3)), placementReportJson(a));
    assert.deepEqual(a.outcomes.map((o) => o.policy), ['ours', 'capacity-only', 'round-robin']);
    for (const o of a.outcomes) assert.equal(o.placed + o.failed, 1000);
    const report = formatPlacementReport(a, summarizeSeedSpread(3, 2));
    assert.match(report, /seed 3\b/);
    assert.match(report, /^capacity-only +\d/m);
    assert.match(report, /over 2 seeds \(3\.\.4\)/);
  });
});
