import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../errors.ts';
import { checkThinAdmission, computeThinPoolStatus, validateThinCapacityPolicy } from './capacity.ts';
import type { ThinPoolFigures } from './capacity.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const base: ThinPoolFigures = {
  name: 'vbs/pool',
  poolSizeBytes: 10 * GiB,
  dataPercent: 12.5,
  metadataPercent: 3.1,
  provisionedBytes: 8 * GiB,
  overprovisionRatio: 2,
  dataLimitPercent: 90,
  metadataLimitPercent: 80,
  health: 'ok',
};

describe('computeThinPoolStatus', () => {
  it('copies the pool figures into the status', () => {
    assert.deepEqual(computeThinPoolStatus(base), {
      name: 'vbs/pool',
      size_bytes: 10 * GiB,
      data_percent: 12.5,
      metadata_percent: 3.1,
      provisioned_bytes: 8 * GiB,
      overprovision_ratio: 2,
      allocatable_bytes: 12 * GiB,
      health: 'ok',
    });
  });

  const cases: Array<{ name: string; change: Partial<ThinPoolFigures>; allocatable: number; health: string }> = [
    { name: 'promises size × ratio minus what is provisioned', change: {}, allocatable: 12 * GiB, health: 'ok' },
    { name: 'promises no more than the pool holds at ratio 1', change: { overprovisionRatio: 1 }, allocatable: 2 * GiB, health: 'ok' },
    { name: 'rounds a fractional promise down to whole bytes', change: { poolSizeBytes: 3, overprovisionRatio: 1.5, provisionedBytes: 0 }, allocatable: 4, health: 'ok' },
    { name: 'promises nothing, never a negative amount, when already over-provisioned', change: { provisionedBytes: 25 * GiB }, allocatable: 0, health: 'ok' },
    { name: 'promises everything an empty pool may hold', change: { provisionedBytes: 0 }, allocatable: 20 * GiB, health: 'ok' },
    { name: 'still promises just below the data limit', change: { dataPercent: 89.99 }, allocatable: 12 * GiB, health: 'ok' },
    { name: 'promises nothing at the data limit, and says why', change: { dataPercent: 90 }, allocatable: 0, health: 'data 90% at or over the 90% limit' },
    { name: 'promises nothing over the metadata limit, and says why', change: { metadataPercent: 85.5 }, allocatable: 0, health: 'metadata 85.5% at or over the 80% limit' },
    { name: 'names the metadata limit first when both are exceeded', change: { metadataPercent: 99, dataPercent: 99 }, allocatable: 0, health: 'metadata 99% at or over the 80% limit' },
    { name: 'promises nothing from a pool that ran out of data, with lvm\'s word for it', change: { health: 'out-of-data', dataPercent: 100 }, allocatable: 0, health: 'out-of-data' },
    { name: 'promises nothing from a pool with read-only metadata', change: { health: 'metadata-read-only' }, allocatable: 0, health: 'metadata-read-only' },
    { name: 'promises nothing from an inactive pool', change: { health: 'inactive' }, allocatable: 0, health: 'inactive' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const status = computeThinPoolStatus({ ...base, ...c.change });
      assert.equal(status.allocatable_bytes, c.allocatable);
      assert.equal(status.health, c.health);
    });
  }
});

describe('checkThinAdmission', () => {
  const status = computeThinPoolStatus(base);

  it('admits a volume that fits, up to exactly what is allocatable', () => {
    assert.equal(checkThinAdmission(status, 100 * MiB), undefined);
    assert.equal(checkThinAdmission(status, 12 * GiB), undefined);
  });

  it('refuses one byte more, saying what is allocatable, provisioned, the ratio and the request', () => {
    assert.equal(
      checkThinAdmission(status, 12 * GiB + 1),
      'thin pool vbs/pool has 12884901888 bytes allocatable of 8589934592 provisioned at ratio 2 (pool size 10737418240); 12884901889 requested',
    );
  });

  it('refuses any volume from a pool over its data limit, with the reason', () => {
    const full = computeThinPoolStatus({ ...base, dataPercent: 95.2 });
    assert.equal(
      checkThinAdmission(full, 4 * MiB),
      'thin pool vbs/pool has 0 bytes allocatable of 8589934592 provisioned at ratio 2 (pool size 10737418240, data 95.2% at or over the 90% limit); 4194304 requested',
    );
  });

  it('refuses even a zero-byte request from an unhealthy pool', () => {
    assert.match(checkThinAdmission(computeThinPoolStatus({ ...base, health: 'failed' }), 0) ?? '', /\(pool size \d+, failed\); 0 requested$/);
  });
});

describe('validateThinCapacityPolicy', () => {
  const good = { overprovisionRatio: 1.5, dataLimitPercent: 90, metadataLimitPercent: 100 };
  it('accepts a positive ratio and limits in (0, 100]', () => {
    validateThinCapacityPolicy(good);
  });

  const bad: Array<{ name: string; change: Record<string, number>; error: RegExp }> = [
    { name: 'a ratio of 0', change: { overprovisionRatio: 0 }, error: /overprovision ratio must be a positive number, got 0/ },
    { name: 'a ratio that is not a number', change: { overprovisionRatio: Number.NaN }, error: /got NaN/ },
    { name: 'a data limit over 100', change: { dataLimitPercent: 101 }, error: /data limit must be a percentage in \(0, 100\], got 101/ },
    { name: 'a metadata limit of 0', change: { metadataLimitPercent: 0 }, error: /metadata limit .* got 0/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} with InvalidArgumentError`, () => {
      assert.throws(() => validateThinCapacityPolicy({ ...good, ...c.change }), (err: unknown) => err instanceof InvalidArgumentError && c.error.test(err.message));
    });
  }
});
