import { LvmReportError } from './LvmReportError.ts';

/**
 * Reads the rows of one section ('lv', 'vg' or 'pv') of `--reportformat json` output and checks that
 * every requested field is present as a string, so callers can index rows without guessing.
 * lvm prints `{"report": [{"lv": [...]}]}`; several report entries are concatenated.
 */
export function readReportRows<F extends string>(stdout: string, section: 'lv' | 'vg' | 'pv', fields: readonly F[]): Array<Record<F, string>> {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (err: unknown) {
    throw new LvmReportError(`lvm report is not JSON: ${(err as Error).message}`);
  }
  const reports = isRecord(doc) ? doc['report'] : undefined;
  if (!Array.isArray(reports)) throw new LvmReportError('lvm report has no "report" array');
  const rows: Array<Record<F, string>> = [];
  for (const report of reports) {
    const entries = isRecord(report) ? report[section] : undefined;
    if (!Array.isArray(entries)) throw new LvmReportError(`lvm report entry has no "${section}" array`);
    for (const entry of entries) {
      if (!isRecord(entry)) throw new LvmReportError(`lvm report "${section}" row is not an object`);
      for (const field of fields) {
        if (typeof entry[field] !== 'string') throw new LvmReportError(`lvm report "${section}" row lacks field ${field}`);
      }
      rows.push(entry as Record<F, string>);
    }
  }
  return rows;
}

/** A byte or extent count (`--units b --nosuffix`); must be a safe integer. */
export function parseCount(value: string, field: string): number {
  if (!/^\d+$/.test(value)) throw new LvmReportError(`lvm field ${field}=${JSON.stringify(value)} is not a whole number`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new LvmReportError(`lvm field ${field}=${value} is too large to handle exactly`);
  return n;
}

/** Like parseCount, with '' (lvm's "not applicable") as undefined. */
export function parseOptionalCount(value: string, field: string): number | undefined {
  return value === '' ? undefined : parseCount(value, field);
}

/** A percentage such as "12.34"; '' (not applicable, or inactive) is undefined. */
export function parsePercent(value: string, field: string): number | undefined {
  if (value === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new LvmReportError(`lvm field ${field}=${JSON.stringify(value)} is not a percentage`);
  return Number(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
