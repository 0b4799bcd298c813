import { summarize } from '../lib/percentile.ts';
import type { Summary } from '../lib/percentile.ts';
import type { CallCounts } from './callTally.ts';
import type { ProcessMemory } from './measureProcess.ts';
import { kibToMiB } from './procStatus.ts';
import type { MeasuredRole } from './roleProcess.ts';

/** One process measured in one condition. */
export interface RoleRun {
  readonly role: MeasuredRole;
  /** The condition: how many volumes the role knew. */
  readonly volumes: number;
  readonly repetition: number;
  readonly memory: ProcessMemory;
  readonly calls: CallCounts;
}

/** One line of the table: a figure of a role, both conditions (MiB over the repetitions) and the ratio of medians. */
export interface MemoryRow {
  readonly role: MeasuredRole;
  readonly measure: string;
  readonly few: Summary;
  readonly many: Summary;
  /** many.p50 / few.p50. */
  readonly ratio: number;
}

const MEASURES: readonly { readonly measure: string; readonly pick: (m: ProcessMemory) => number | undefined }[] = [
  { measure: 'VmRSS once serving', pick: (m) => m.idleRssKiB },
  { measure: 'VmRSS peak, sampled in the phase', pick: (m) => m.phase.peakRssKiB },
  { measure: 'VmRSS after round 1', pick: (m) => m.roundEndRssKiB[0] },
  { measure: 'VmRSS after the last round', pick: (m) => (m.roundEndRssKiB.length > 1 ? m.roundEndRssKiB[m.roundEndRssKiB.length - 1] : undefined) },
  { measure: 'VmHWM at the end', pick: (m) => m.hwmKiB },
];

/**
 * Pure: the runs as rows, role by role, for the conditions `few` and `many` volumes. A figure
 * missing from every run (one round only: no "last round") gives no row; one missing from some
 * runs of a condition, or a condition without runs, is an error.
 */
export function memoryRows(runs: readonly RoleRun[], few: number, many: number): MemoryRow[] {
  const rows: MemoryRow[] = [];
  for (const role of [...new Set(runs.map((r) => r.role))]) {
    const of = (volumes: number) => runs.filter((r) => r.role === role && r.volumes === volumes);
    const fewRuns = of(few);
    const manyRuns = of(many);
    if (fewRuns.length === 0 || manyRuns.length === 0) throw new Error(`the ${role} has no run with ${fewRuns.length === 0 ? few : many} volumes`);
    for (const { measure, pick } of MEASURES) {
      const fewMiB = fewRuns.map((r) => pick(r.memory));
      const manyMiB = manyRuns.map((r) => pick(r.memory));
      const all = [...fewMiB, ...manyMiB];
      if (all.every((x) => x === undefined)) continue;
      if (all.some((x) => x === undefined)) throw new Error(`"${measure}" of the ${role} is missing from some runs`);
      const fewSummary = summarize(fewMiB.map((kib) => kibToMiB(kib!)));
      const manySummary = summarize(manyMiB.map((kib) => kibToMiB(kib!)));
      rows.push({ role, measure, few: fewSummary, many: manySummary, ratio: manySummary.p50 / fewSummary.p50 });
    }
  }
  return rows;
}

/** Pure: the table: role, measure, median MiB (min-max when repeated) per condition, ratio. */
export function formatMemoryTable(rows: readonly MemoryRow[], few: number, many: number): string {
  const figure = (s: Summary) => (s.count === 1 ? s.p50.toFixed(1) : `${s.p50.toFixed(1)} (${s.min.toFixed(1)}-${s.max.toFixed(1)})`);
  const cells = [
    ['role', 'measure', `${few} volumes, MiB`, `${many} volumes, MiB`, `ratio ${many}/${few}`],
    ...rows.map((r) => [r.role, r.measure, figure(r.few), figure(r.many), r.ratio.toFixed(2)]),
  ];
  const widths = cells[0]!.map((_, col) => Math.max(...cells.map((row) => row[col]!.length)));
  const line = (row: readonly string[]) => row.map((cell, col) => (col < 2 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ').trimEnd();
  return [line(cells[0]!), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}
