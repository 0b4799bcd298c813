import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedCluster, computeNodeLoad, sizeCluster } from '../../bench/placement/cluster.ts';
import { createPrng } from '../../bench/placement/prng.ts';
import { DEFAULT_WORKLOAD, GiB, generateWorkload } from '../../bench/placement/workload.ts';

describe('createPrng', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, ((p) => () => p.next())(createPrng(seed)));
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
  });

  it('stays in [0, 1)', () => {
    const prng = createPrng(7);
    for (let i = 0; i < 10_000; i++) {
      const x = prng.next();
      assert.ok(x >= 0 && x < 1, String(x));
    }
  });
});

describe('generateWorkload', () => {
  const volumes = generateWorkload({ seed: 1, ...DEFAULT_WORKLOAD });

  it('is deterministic for a seed', () => {
    assert.deepEqual(generateWorkload({ seed: 1, ...DEFAULT_WORKLOAD }), volumes);
  });

  it('makes whole-GiB sizes within the bounds and I/O at or above the minimum', () => {
    assert.equal(volumes.length, 1000);
    for (const v of volumes) {
      assert.ok(v.sizeBytes % GiB === 0 && v.sizeBytes >= DEFAULT_WORKLOAD.minSizeBytes && v.sizeBytes <= DEFAULT_WORKLOAD.maxSizeBytes, `${v.name} ${v.sizeBytes}`);
      assert.ok(v.iops >= DEFAULT_WORKLOAD.iopsMinimum, `${v.name} ${v.iops}`);
    }
  });

  it('skews the I/O: the busiest fifth of the volumes does most of it', () => {
    const sorted = volumes.map((v) => v.iops).sort((a, b) => b - a);
    const total = sorted.reduce((s, x) => s + x, 0);
    const topFifth = sorted.slice(0, 200).reduce((s, x) => s + x, 0);
    assert.ok(topFifth / total > 0.6, `top fifth does ${(topFifth / total).toFixed(2)}`);
  });
});

describe('computeNodeLoad', () => {
  const model = { iopsCapacity: 1000, serviceTimeMs: 0.5 };

  it('reports utilization capped at 1 but keeps the offered load uncapped', () => {
    assert.deepEqual(computeNodeLoad(500, model), { offered: 0.5, utilization: 0.5, averageLatencyMs: 1 });
    const over = computeNodeLoad(1500, model);
    assert.equal(over.offered, 1.5);
    assert.equal(over.utilization, 1);
  });

  it('lets latency grow with utilization and stay finite past saturation', () => {
    const latencies = [0, 200, 500, 800, 950, 2000].map((iops) => computeNodeLoad(iops, model).averageLatencyMs);
    for (let i = 1; i < latencies.length; i++) assert.ok(latencies[i]! >= latencies[i - 1]!, latencies.join(' '));
    assert.ok(Number.isFinite(latencies.at(-1)!));
  });
});

describe('sizeCluster and SimulatedCluster', () => {
  const volumes = [
    { name: 'a', sizeBytes: 9 * GiB, iops: 100 },
    { name: 'b', sizeBytes: 9 * GiB, iops: 300 },
  ];

  it('sizes equal nodes for the target fill and mean load', () => {
    const model = sizeCluster(volumes, { nodeCount: 2, targetFill: 0.9, targetUtilization: 0.5, serviceTimeMs: 1 });
    assert.equal(model.capacityBytes, 10 * GiB);
    assert.equal(model.iopsCapacity, 400);
  });

  it('accounts bytes and I/O per node and refuses a volume that does not fit', () => {
    const cluster = new SimulatedCluster({ nodeCount: 2, capacityBytes: 10 * GiB, iopsCapacity: 400, serviceTimeMs: 1 });
    cluster.place('node-00', volumes[0]!);
    assert.equal(cluster.freeBytes('node-00'), GiB);
    assert.equal(cluster.loadOf('node-00').offered, 0.25);
    assert.throws(() => cluster.place('node-00', volumes[1]!), /does not fit/);
    const [first] = cluster.candidates(5);
    assert.equal(first?.thinAllocatableBytes, GiB);
    assert.equal(first?.load.utilization, 0.25);
    assert.equal(first?.statusTakenAtMs, 5);
  });
});
