import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResourceExhaustedError } from '../errors.ts';
import type { ThinPool, VolumeGroup } from '../lvm/index.ts';
import { InMemoryLvm } from './testing/InMemoryLvm.ts';
import { sumProvisionedBytes, validateThickAdmission, validateThinAdmission } from './validateAdmission.ts';

const GiB = 1024 ** 3;
const POLICY = { overprovisionRatio: 2, dataLimitPercent: 90, metadataLimitPercent: 80 };
const POOL: ThinPool = { vgName: 'vg0', name: 'pool', sizeBytes: 10 * GiB, dataPercent: 10, metadataPercent: 10, metadataSizeBytes: 0, usedBytes: GiB, health: 'ok', isActive: true, isZeroing: true };

describe('validateThinAdmission', () => {
  const cases: Array<{ name: string; pool?: Partial<ThinPool>; provisioned: number; request: number; ratio?: boolean; refusal?: RegExp }> = [
    { name: 'admits a request that fits the over-provisioned size exactly', provisioned: 15 * GiB, request: 5 * GiB },
    { name: 'refuses one byte more, naming ratio and remedy', provisioned: 15 * GiB, request: 5 * GiB + 1, refusal: /5368709120 bytes allocatable .* at ratio 2.*extend the pool/ },
    { name: 'refuses at the data limit', pool: { dataPercent: 90 }, provisioned: 0, request: 1, refusal: /data 90% at or over the 90% limit/ },
    { name: 'refuses at the metadata limit', pool: { metadataPercent: 80 }, provisioned: 0, request: 1, refusal: /metadata 80% at or over the 80% limit.*poolmetadatasize/ },
    { name: 'refuses while the pool is out of data', pool: { health: 'out-of-data' }, provisioned: 0, request: 1, refusal: /out-of-data/ },
    { name: 'refuses while the pool is inactive (its fill level is unknown)', pool: { isActive: false }, provisioned: 0, request: 1, refusal: /inactive/ },
    { name: 'lets a snapshot past the ratio', provisioned: 20 * GiB, request: 5 * GiB, ratio: false },
    { name: 'but not past the data limit', pool: { dataPercent: 95 }, provisioned: 0, request: 1, ratio: false, refusal: /data 95%/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const run = () => validateThinAdmission({ ...POOL, ...c.pool }, c.provisioned, c.request, POLICY, { countsTowardRatio: c.ratio ?? true });
      if (c.refusal) assert.throws(run, (err: unknown) => err instanceof ResourceExhaustedError && c.refusal!.test(err.message));
      else run();
    });
  }
});

describe('validateThickAdmission', () => {
  test('admits up to the free space of the VG and refuses beyond it', () => {
    const vg: VolumeGroup = { name: 'vg0', uuid: 'u', sizeBytes: 10 * GiB, freeBytes: GiB, extentSizeBytes: 4 << 20, extentCount: 2560, freeExtentCount: 256 };
    validateThickAdmission(vg, GiB);
    assert.throws(() => validateThickAdmission(vg, GiB + 1), /vg0 has 1073741824 bytes free.*vgextend/);
  });
});

describe('sumProvisionedBytes', () => {
  test('sums the thin LVs of the pool, snapshots included, and nothing else', () => {
    const lvm = new InMemoryLvm();
    const lvs = [
      lvm.seed({ name: 'a', sizeBytes: GiB }),
      lvm.seed({ name: 'snap', sizeBytes: GiB, isActive: false, hasActivationSkip: true, origin: 'a' }),
      lvm.seed({ name: 'thick', sizeBytes: 5 * GiB, thin: false }),
    ];
    assert.equal(sumProvisionedBytes(lvs, 'pool'), 2 * GiB);
    assert.equal(sumProvisionedBytes(lvs, 'other-pool'), 0);
  });
});
