import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BENCH_RECORD_MARKER, formatBenchRecord, parseBenchRecords } from '../../bench/lib/benchRecord.ts';
import type { Comparison } from '../../bench/lib/comparison.ts';

const comparison: Comparison = {
  measure: 'fio 4k randread QD16',
  unit: 'IOPS',
  subject: { name: 'driver dm device', samples: [812.5, 790] },
  baseline: { name: 'same LUN, login by hand', samples: [830, 801] },
  target: { kind: 'min', bound: 0.95 },
  note: 'TCG',
};

describe('bench records in a scenario log', () => {
  test('a comparison survives the log line, behind the runner\'s elapsed-time prefix', () => {
    const lines = ['+1.234s [3.0 s] start the driver: 3000 ms', `+95.100s ${formatBenchRecord(comparison)}`];
    assert.deepEqual(parseBenchRecords(lines), [comparison]);
  });
  test('lines without the marker are ignored, and several records keep their order', () => {
    const second: Comparison = { measure: 'CreateVolume', unit: 'ms', subject: { name: 'driver', samples: [1] }, baseline: { name: 'raw', samples: [1] } };
    assert.deepEqual(parseBenchRecords([formatBenchRecord(comparison), 'noise', formatBenchRecord(second)]), [comparison, second]);
  });
  test('a marked line that is not JSON, or not a comparison, is an error rather than a silently missing figure', () => {
    assert.throws(() => parseBenchRecords([`${BENCH_RECORD_MARKER}{oops`]), /not JSON/);
    assert.throws(() => parseBenchRecords([`${BENCH_RECORD_MARKER}{"measure":"x","unit":"furlongs"}`]), /unit/);
    const noSamples = { ...comparison, subject: { name: 'driver', samples: [] } };
    assert.throws(() => parseBenchRecords([`${BENCH_RECORD_MARKER}${JSON.stringify(noSamples)}`]), /subject series without finite samples/);
    const badTarget = { ...comparison, target: { kind: 'about', bound: 1 } };
    assert.throws(() => parseBenchRecords([`${BENCH_RECORD_MARKER}${JSON.stringify(badTarget)}`]), /malformed target/);
  });
});
