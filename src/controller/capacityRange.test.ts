import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_VOLUME_BYTES } from '../agentApi/limits.ts';
import { InvalidArgumentError, OutOfRangeError } from '../errors.ts';
import { DEFAULT_VOLUME_BYTES, MiB, XFS_MIN_BYTES, chooseVolumeSize, fitsRange, parseCapacityRange } from './capacityRange.ts';

const EXTENT = 4 * MiB;

describe('capacity ranges', () => {
  it('parses required and limit, 0 meaning unset', () => {
    assert.deepEqual(parseCapacityRange(null), { requiredBytes: 0, limitBytes: 0 });
    assert.deepEqual(parseCapacityRange({ required_bytes: 5, limit_bytes: 10 }), { requiredBytes: 5, limitBytes: 10 });
    assert.throws(() => parseCapacityRange({ required_bytes: -1, limit_bytes: 0 }), InvalidArgumentError);
    assert.throws(() => parseCapacityRange({ required_bytes: -(2 ** 63), limit_bytes: 0 }), InvalidArgumentError);
    assert.throws(() => parseCapacityRange({ required_bytes: 0, limit_bytes: -5 }), InvalidArgumentError);
    assert.throws(() => parseCapacityRange({ required_bytes: 10, limit_bytes: 5 }), OutOfRangeError);
  });

  it('answers OUT_OF_RANGE for a required size past the largest volume, even past 2^53', () => {
    assert.deepEqual(parseCapacityRange({ required_bytes: MAX_VOLUME_BYTES, limit_bytes: 0 }), { requiredBytes: MAX_VOLUME_BYTES, limitBytes: 0 });
    for (const required of [MAX_VOLUME_BYTES + 1, 2 ** 60, 2 ** 63]) {
      assert.throws(() => parseCapacityRange({ required_bytes: required, limit_bytes: 0 }), OutOfRangeError, String(required));
    }
  });

  it('takes a limit past 2^53 as a bound that never binds', () => {
    assert.deepEqual(parseCapacityRange({ required_bytes: MiB, limit_bytes: 2 ** 63 }), { requiredBytes: MiB, limitBytes: 2 ** 63 });
    assert.equal(chooseVolumeSize({ requiredBytes: MiB, limitBytes: 2 ** 63 }, { minimumBytes: 0, extentSizeBytes: EXTENT }), EXTENT);
  });

  it('rounds up to whole extents, answering OUT_OF_RANGE past the limit', () => {
    assert.equal(chooseVolumeSize({ requiredBytes: 100 * MiB + 1, limitBytes: 0 }, { minimumBytes: 0, extentSizeBytes: EXTENT }), 104 * MiB);
    assert.equal(chooseVolumeSize({ requiredBytes: 100 * MiB + 1, limitBytes: 104 * MiB }, { minimumBytes: 0, extentSizeBytes: EXTENT }), 104 * MiB);
    assert.throws(() => chooseVolumeSize({ requiredBytes: 100 * MiB + 1, limitBytes: 102 * MiB }, { minimumBytes: 0, extentSizeBytes: EXTENT }), OutOfRangeError);
    assert.equal(chooseVolumeSize({ requiredBytes: 1, limitBytes: 0 }, { minimumBytes: 0, extentSizeBytes: 0 }), EXTENT, 'unknown extent: LVM default 4 MiB');
  });

  it('defaults to 1 GiB, or the limit when smaller, or the source size', () => {
    assert.equal(chooseVolumeSize({ requiredBytes: 0, limitBytes: 0 }, { minimumBytes: 0, extentSizeBytes: EXTENT }), DEFAULT_VOLUME_BYTES);
    assert.equal(chooseVolumeSize({ requiredBytes: 0, limitBytes: 200 * MiB }, { minimumBytes: 0, extentSizeBytes: EXTENT }), 200 * MiB);
    assert.equal(chooseVolumeSize({ requiredBytes: 0, limitBytes: 0 }, { minimumBytes: 0, sourceBytes: 300 * MiB, extentSizeBytes: EXTENT }), 300 * MiB);
  });

  it('never goes below the source or the filesystem minimum', () => {
    assert.equal(chooseVolumeSize({ requiredBytes: 10 * MiB, limitBytes: 0 }, { minimumBytes: XFS_MIN_BYTES, extentSizeBytes: EXTENT }), 300 * MiB);
    assert.equal(chooseVolumeSize({ requiredBytes: 10 * MiB, limitBytes: 0 }, { minimumBytes: 0, sourceBytes: 100 * MiB, extentSizeBytes: EXTENT }), 100 * MiB);
    assert.throws(() => chooseVolumeSize({ requiredBytes: 10 * MiB, limitBytes: 200 * MiB }, { minimumBytes: XFS_MIN_BYTES, extentSizeBytes: EXTENT }), /at least/);
  });

  it('fitsRange compares an existing size with a repeated request', () => {
    assert.ok(fitsRange(104 * MiB, { requiredBytes: 100 * MiB + 1, limitBytes: 0 }));
    assert.ok(!fitsRange(104 * MiB, { requiredBytes: 200 * MiB, limitBytes: 0 }));
    assert.ok(!fitsRange(104 * MiB, { requiredBytes: 0, limitBytes: 100 * MiB }));
  });
});
