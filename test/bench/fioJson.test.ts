import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseFioJson } from '../../bench/lib/fioJson.ts';

// fio-3.33's report of a 1 s 4k randrw job, with the "note:" line fio prints before the JSON.
const REPORT = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'fio', 'randrw-4k-with-note.txt'), 'utf8');

describe('parseFioJson', () => {
  test('reads IOPS, MiB/s and mean completion latency of both directions, past the note fio printed first', () => {
    const f = parseFioJson(REPORT);
    assert.ok(Math.abs(f.readIops - 8986.013986) < 1e-6);
    assert.ok(Math.abs(f.writeIops - 8974.025974) < 1e-6);
    assert.ok(Math.abs(f.readMiBps - 36806713 / 2 ** 20) < 1e-9);
    assert.ok(Math.abs(f.writeMiBps - 36757610 / 2 ** 20) < 1e-9);
    assert.ok(Math.abs(f.readMeanLatencyUs - 83.044591996) < 1e-6);
    assert.ok(Math.abs(f.writeMeanLatencyUs - 7.45093176) < 1e-6);
  });
  test('output without a JSON report is an error that shows what fio printed', () => {
    assert.throws(() => parseFioJson('fio: failed to open /dev/sdz'), /printed no JSON report: fio: failed/);
  });
  test('a report with a job error, or without exactly one job, is refused', () => {
    const report = JSON.parse(REPORT.slice(REPORT.indexOf('{'))) as { jobs: Record<string, unknown>[] };
    const job = report.jobs[0] ?? {};
    assert.throws(() => parseFioJson(JSON.stringify({ ...report, jobs: [{ ...job, error: 5 }] })), /error 5/);
    assert.throws(() => parseFioJson(JSON.stringify({ ...report, jobs: [job, job] })), /one fio job/);
  });
  test('a direction whose figures are missing is refused rather than read as zero', () => {
    const report = JSON.parse(REPORT.slice(REPORT.indexOf('{'))) as { jobs: Record<string, unknown>[] };
    const job = report.jobs[0] ?? {};
    assert.throws(() => parseFioJson(JSON.stringify({ jobs: [{ ...job, read: { bw_bytes: 1 } }] })), /read\.iops/);
  });
});
