import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { everyDriverMetric } from './testing/everyMetric.ts';

const SRC = new URL('..', import.meta.url).pathname;

/** Every 'vbs_csi_…' string literal in production code under src/ (tests and testing/ helpers aside). */
async function namesInSource(): Promise<Set<string>> {
  const found = new Set<string>();
  for (const entry of await readdir(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    if (path.includes('/testing/') || path.includes('/generated/')) continue;
    for (const m of (await readFile(path, 'utf8')).matchAll(/['"`](vbs_csi_[a-z0-9_]+)['"`]/g)) found.add(m[1]!);
  }
  return found;
}

// https://prometheus.io/docs/practices/naming/: base units, plural unit suffix, `_total` on counters only,
// `_ratio` for fractions; units belong in the name, never in a label.
const NOT_BASE_UNITS = /_(ms|msec|milliseconds|microseconds|us|ns|minutes|hours|days|percent|pct|kb|mb|gb|kib|mib|gib|bits)(_|$)/;
const UNIT_WORDS = /(seconds|bytes|ms|ratio|percent|total)$/;

describe('metric names (Prometheus naming practices)', () => {
  test('every vbs_csi_ name in the code is in the catalogue the alerts and docs are checked against', async () => {
    const catalogue = new Set((await everyDriverMetric()).map((m) => m.name));
    const missing = [...(await namesInSource())].filter((n) => !catalogue.has(n));
    assert.deepEqual(missing, [], 'add the class that registers these to src/metrics/testing/everyMetric.ts');
  });

  test('follow the rules: prefix, base units, _total on counters only, fractions as _ratio, no units in labels', async () => {
    const problems: string[] = [];
    for (const m of await everyDriverMetric()) {
      if (!/^vbs_csi_[a-z][a-z0-9_]*[a-z0-9]$/.test(m.name)) problems.push(`${m.name}: not vbs_csi_ snake_case`);
      if (NOT_BASE_UNITS.test(m.name)) problems.push(`${m.name}: not in base units (seconds, bytes, ratio)`);
      if ((m.type === 'counter') !== m.name.endsWith('_total')) problems.push(`${m.name}: _total is for counters, and every counter has it`);
      if (/\b0\s*\.\.\s*1\b/.test(m.help) && !m.name.endsWith('_ratio')) problems.push(`${m.name}: a fraction (0..1) is named _ratio`);
      if (/\bseconds\b/i.test(m.help) && m.type !== 'counter' && !/_seconds$/.test(m.name)) problems.push(`${m.name}: a time is named _seconds`);
      for (const label of m.labelNames) if (UNIT_WORDS.test(label)) problems.push(`${m.name}: label ${label} carries a unit`);
    }
    assert.deepEqual(problems, []);
  });

  test('the catalogue holds the thin-pool fill ratios of both the controller view and the agent', async () => {
    const names = (await everyDriverMetric()).map((m) => m.name);
    for (const n of [
      'vbs_csi_storage_node_thin_pool_data_used_ratio',
      'vbs_csi_storage_node_thin_pool_metadata_used_ratio',
      'vbs_csi_agent_thin_pool_data_used_ratio',
      'vbs_csi_agent_thin_pool_metadata_used_ratio',
    ]) assert.ok(names.includes(n), n);
  });
});

describe('docs/metrics.md', () => {
  test('lists every metric the driver registers', async () => {
    const doc = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const unlisted = (await everyDriverMetric()).map((m) => m.name).filter((n) => !doc.includes(`| \`${n}\` |`));
    assert.deepEqual(unlisted, []);
  });
});
