import { evaluateComparison } from './comparison.ts';
import type { Comparison, EvaluatedComparison } from './comparison.ts';
import type { Summary } from './percentile.ts';

/**
 * Pure: the benchmark summary table, one row per comparison, with the ratio of medians and the
 * verdict against its target; notes follow the table, numbered from the rows that carry them
 * (a note shared by several rows is printed once).
 */
export function formatComparisonTable(comparisons: readonly Comparison[]): string {
  const evaluated = comparisons.map(evaluateComparison);
  const notes: string[] = [];
  const header = ['measure', 'subject', 'p50 (p99)', 'baseline', 'p50 (p99)', 'ratio', 'target', 'verdict'];
  const rows = evaluated.map((e) => {
    let measure = e.comparison.measure;
    const note = e.comparison.note;
    if (note !== undefined) {
      if (!notes.includes(note)) notes.push(note);
      measure += ` [${notes.indexOf(note) + 1}]`;
    }
    return [
      measure,
      e.comparison.subject.name,
      formatFigure(e.subject, e.comparison.unit),
      e.comparison.baseline.name,
      formatFigure(e.baseline, e.comparison.unit),
      e.ratio.toFixed(2),
      formatTarget(e),
      formatVerdict(e),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  if (notes.length > 0) out.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`));
  return out.join('\n');
}

/** "2410 (3100) ms" for several samples; "812 IOPS" for one (a fio run gives one figure). */
export function formatFigure(summary: Summary, unit: string): string {
  const value = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
  return summary.count === 1 ? `${value(summary.p50)} ${unit}` : `${value(summary.p50)} (${value(summary.p99)}) ${unit} n=${summary.count}`;
}

function formatTarget(e: EvaluatedComparison): string {
  const t = e.comparison.target;
  if (t === undefined) return '-';
  return `${t.kind === 'max' ? '<=' : '>='} ${t.bound.toFixed(2)}`;
}

function formatVerdict(e: EvaluatedComparison): string {
  if (e.meetsTarget === undefined) return '';
  return e.meetsTarget ? 'met' : 'MISSED';
}
