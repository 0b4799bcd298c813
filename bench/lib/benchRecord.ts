import type { Comparison, RatioTarget, Series } from './comparison.ts';

/**
 * A bench scenario runs in the guest and can only talk to the host through its log lines (the
 * results file carries them). Each comparison it measured is one log line: this marker, then the
 * comparison as JSON. The host finds them wherever the runner's "+12.3s " prefix put them.
 */
export const BENCH_RECORD_MARKER = 'bench-record ';

export function formatBenchRecord(comparison: Comparison): string {
  return `${BENCH_RECORD_MARKER}${JSON.stringify(comparison)}`;
}

/** Pure: every comparison recorded in a scenario's log, in order. A marked line that is not a comparison is an error. */
export function parseBenchRecords(lines: readonly string[]): Comparison[] {
  const found: Comparison[] = [];
  for (const line of lines) {
    const at = line.indexOf(BENCH_RECORD_MARKER);
    if (at < 0) continue;
    const text = line.slice(at + BENCH_RECORD_MARKER.length);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Error(`a bench record is not JSON: ${text.slice(0, 200)}`);
    }
    found.push(toComparison(value, text));
  }
  return found;
}

const UNITS = new Set(['ms', 'IOPS', 'MiB/s']);

function toComparison(value: unknown, text: string): Comparison {
  const bad = (why: string): never => {
    throw new Error(`a bench record ${why}: ${text.slice(0, 200)}`);
  };
  const v = isObject(value) ? value : bad('is not an object');
  const measure = typeof v['measure'] === 'string' && v['measure'] !== '' ? v['measure'] : bad('has no measure');
  const unit = typeof v['unit'] === 'string' && UNITS.has(v['unit']) ? (v['unit'] as Comparison['unit']) : bad('has no known unit');
  const series = (key: string): Series => {
    const s = v[key];
    if (!isObject(s) || typeof s['name'] !== 'string' || !Array.isArray(s['samples'])) return bad(`has no ${key} series`);
    const samples = s['samples'];
    if (samples.length === 0 || !samples.every((x) => typeof x === 'number' && Number.isFinite(x))) return bad(`has a ${key} series without finite samples`);
    return { name: s['name'], samples: samples as number[] };
  };
  const target = v['target'];
  let parsedTarget: RatioTarget | undefined;
  if (target !== undefined) {
    if (!isObject(target) || (target['kind'] !== 'max' && target['kind'] !== 'min') || typeof target['bound'] !== 'number') return bad('has a malformed target');
    parsedTarget = { kind: target['kind'], bound: target['bound'] };
  }
  const note = v['note'];
  if (note !== undefined && typeof note !== 'string') return bad('has a note that is not text');
  return {
    measure,
    unit,
    subject: series('subject'),
    baseline: series('baseline'),
    ...(parsedTarget ? { target: parsedTarget } : {}),
    ...(note !== undefined ? { note } : {}),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
