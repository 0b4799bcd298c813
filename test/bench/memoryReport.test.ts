import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProcessMemory } from '../../bench/memory/measureProcess.ts';
import { formatMemoryTable, memoryRows } from '../../bench/memory/report.ts';
import type { RoleRun } from '../../bench/memory/report.ts';

const MiB = 1024; // in KiB

function memory(idle: number, rounds: readonly number[], hwm: number): ProcessMemory {
  return {
    idleRssKiB: idle * MiB,
    phase: { samples: 10, firstRssKiB: idle * MiB, peakRssKiB: Math.max(...rounds) * MiB, lastRssKiB: rounds[rounds.length - 1]! * MiB },
    roundEndRssKiB: rounds.map((r) => r * MiB),
    hwmKiB: hwm * MiB,
    phaseMs: 1000,
  };
}
const run = (role: RoleRun['role'], volumes: number, repetition: number, m: ProcessMemory): RoleRun => ({ role, volumes, repetition, memory: m, calls: {} });

describe('memoryRows', () => {
  const runs = [
    run('controller', 0, 0, memory(100, [150, 200], 200)),
    run('controller', 1000, 0, memory(100, [160, 220], 220)),
    run('controller', 0, 1, memory(104, [160, 210], 210)),
    run('controller', 1000, 1, memory(102, [170, 240], 240)),
    run('node', 0, 0, memory(90, [120, 130], 130)),
    run('node', 1000, 0, memory(90, [180, 195], 195)),
  ];

  test('one row per role and figure, in MiB, with the median of the repetitions and the ratio of medians', () => {
    const rows = memoryRows(runs, 0, 1000);
    assert.deepEqual(rows.map((r) => `${r.role}: ${r.measure}`), [
      'controller: VmRSS once serving',
      'controller: VmRSS peak, sampled in the phase',
      'controller: VmRSS after round 1',
      'controller: VmRSS after the last round',
      'controller: VmHWM at the end',
      'node: VmRSS once serving',
      'node: VmRSS peak, sampled in the phase',
      'node: VmRSS after round 1',
      'node: VmRSS after the last round',
      'node: VmHWM at the end',
    ]);
    const hwm = rows.find((r) => r.role === 'controller' && r.measure === 'VmHWM at the end')!;
    assert.deepEqual([hwm.few.p50, hwm.few.min, hwm.few.max, hwm.many.p50], [205, 200, 210, 230]);
    assert.equal(hwm.ratio, 230 / 205);
    assert.equal(rows.find((r) => r.role === 'node' && r.measure === 'VmHWM at the end')!.ratio, 1.5);
  });
  test('with one round there is no "last round" row', () => {
    const oneRound = [run('node', 0, 0, memory(90, [120], 120)), run('node', 1000, 0, memory(90, [180], 180))];
    assert.ok(!memoryRows(oneRound, 0, 1000).some((r) => r.measure === 'VmRSS after the last round'));
  });
  test('a role measured in one condition only is an error, not a row without a ratio', () => {
    assert.throws(() => memoryRows([run('node', 0, 0, memory(90, [120], 120))], 0, 1000), /the node has no run with 1000 volumes/);
  });
  test('runs with different round counts cannot be mixed', () => {
    const mixed = [run('node', 0, 0, memory(90, [120], 120)), run('node', 1000, 0, memory(90, [180, 190], 190))];
    assert.throws(() => memoryRows(mixed, 0, 1000), /"VmRSS after the last round" of the node is missing from some runs/);
  });
});

describe('formatMemoryTable', () => {
  test('a header naming both conditions, then median (min-max) per condition and the ratio, right-aligned', () => {
    const rows = memoryRows(
      [run('controller', 0, 0, memory(100, [200], 200)), run('controller', 1000, 0, memory(100, [300], 300)), run('controller', 1000, 1, memory(100, [320], 320))],
      0,
      1000,
    );
    const lines = formatMemoryTable(rows, 0, 1000).split('\n');
    assert.match(lines[0]!, /^role\s+measure\s+0 volumes, MiB\s+1000 volumes, MiB\s+ratio 1000\/0$/);
    assert.match(lines[1]!, /^-+  -+  -+  -+  -+$/);
    const hwm = lines.find((l) => l.includes('VmHWM'))!;
    assert.match(hwm, /^controller\s+VmHWM at the end\s+200\.0\s+310\.0 \(300\.0-320\.0\)\s+1\.55$/);
    assert.equal(new Set(lines.map((l) => l.length)).size, 1, 'every line as wide as the header');
  });
});
