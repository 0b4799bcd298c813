import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatComparisonTable, formatFigure } from '../../bench/lib/formatTable.ts';
import type { Comparison } from '../../bench/lib/comparison.ts';
import { summarize } from '../../bench/lib/percentile.ts';

const create: Comparison = {
  measure: 'CreateVolume 32 MiB thin',
  unit: 'ms',
  subject: { name: 'driver', samples: [2400, 2600, 2500] },
  baseline: { name: 'raw', samples: [2000, 2000, 2100] },
  target: { kind: 'max', bound: 1.1 },
};
const fio = (name: string, note?: string): Comparison => ({
  measure: `fio ${name}`,
  unit: 'IOPS',
  subject: { name: 'driver', samples: [960] },
  baseline: { name: 'raw', samples: [1000] },
  target: { kind: 'min', bound: 0.95 },
  ...(note !== undefined ? { note } : {}),
});

describe('formatComparisonTable', () => {
  test('one row per comparison with both medians, the ratio, the target and the verdict', () => {
    const lines = formatComparisonTable([create, fio('4k randread')]).split('\n');
    assert.match(lines[0] ?? '', /^measure\s+subject\s+p50 \(p99\)\s+baseline\s+p50 \(p99\)\s+ratio\s+target\s+verdict$/);
    assert.match(lines[2] ?? '', /^CreateVolume 32 MiB thin\s+driver\s+2500 \(2598\) ms n=3\s+raw\s+2000 \(2098\) ms n=3\s+1\.25\s+<= 1\.10\s+MISSED$/);
    assert.match(lines[3] ?? '', /^fio 4k randread\s+driver\s+960 IOPS\s+raw\s+1000 IOPS\s+0\.96\s+>= 0\.95\s+met$/);
  });
  test('columns line up: every row puts its ratio at the same offset', () => {
    const lines = formatComparisonTable([create, fio('4k randread')]).split('\n');
    const at = (line: string | undefined) => line?.search(/\d\.\d\d\s+[<>]=/);
    assert.equal(at(lines[2]), at(lines[3]));
  });
  test('notes are numbered after the table, a note shared by rows printed once', () => {
    const text = formatComparisonTable([fio('a', 'TCG is CPU-bound'), fio('b', 'TCG is CPU-bound'), fio('c', 'scaled down')]);
    assert.match(text, /fio a \[1\]/);
    assert.match(text, /fio b \[1\]/);
    assert.match(text, /fio c \[2\]/);
    assert.match(text, /\n\n\[1\] TCG is CPU-bound\n\[2\] scaled down$/);
  });
  test('a row without a target has no verdict', () => {
    const { target: _t, ...informative } = fio('raw vs local');
    assert.match(formatComparisonTable([informative]).split('\n')[2] ?? '', /0\.96\s+-$/);
  });
});

describe('formatFigure', () => {
  test('one sample is shown alone; several as p50 (p99) with their count; small figures keep decimals', () => {
    assert.equal(formatFigure(summarize([812.4]), 'IOPS'), '812 IOPS');
    assert.equal(formatFigure(summarize([12.34, 12.5]), 'MiB/s'), '12.4 (12.5) MiB/s n=2');
    assert.equal(formatFigure(summarize([1.234]), 'MiB/s'), '1.23 MiB/s');
  });
});
