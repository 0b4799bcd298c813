import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenarios } from '../../e2e/scenarios/index.ts';
import { selectScenarios } from '../../e2e/scenarios/selectScenarios.ts';
import { onlyFilterFor, SOFT_LOCKUP_PANIC, whyNoReboot } from '../../e2e/vm/lockupReboot.ts';

const question = { lockupLine: '[ 99.1] Kernel panic - not syncing: softlockup: hung tasks', qemuHasExited: true, rebootsSoFar: 0, msLeftInRun: 900_000, msNeeded: 600_000 };

test('a soft lockup the kernel panicked on, the first in the run, with time left: boot again', () => {
  assert.equal(whyNoReboot(question), undefined);
});

test('no reboot without a reported lockup, while qemu runs, after one reboot, or without time for the scenario', () => {
  assert.match(whyNoReboot({ ...question, lockupLine: undefined }) ?? '', /did not report a soft lockup/);
  assert.match(whyNoReboot({ ...question, qemuHasExited: false }) ?? '', /still running/);
  assert.match(whyNoReboot({ ...question, rebootsSoFar: 1 }) ?? '', /already booted again 1/);
  assert.match(whyNoReboot({ ...question, msLeftInRun: 599_999 }) ?? '', /only 600 s left in the run, 600 s needed/);
});

test('the lockup pattern matches the kernel lines, not a scenario that merely fails or an RCU stall', () => {
  assert.ok(SOFT_LOCKUP_PANIC.test('[ 3585.337637] watchdog: BUG: soft lockup - CPU#1 stuck for 61s! [podman:6308]'));
  assert.ok(SOFT_LOCKUP_PANIC.test('[ 3585.4] Kernel panic - not syncing: softlockup: hung tasks'));
  assert.ok(!SOFT_LOCKUP_PANIC.test('[ 3594.9] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'));
  assert.ok(!SOFT_LOCKUP_PANIC.test('vbs-e2e: scenario FAIL (1200 ms): soft lockup test'));
});

test('the filter for the rest of the run selects exactly those scenarios, in registry order', () => {
  const rest = scenarios.slice(-3).map((s) => s.name);
  const filter = onlyFilterFor(rest, scenarios.map((s) => s.name));
  assert.deepEqual(selectScenarios(scenarios, filter).map((s) => s.name), rest);
});

test('every registry name can be selected alone: none holds "|" or is part of another', () => {
  const all = scenarios.map((s) => s.name);
  for (const name of all) assert.deepEqual(selectScenarios(scenarios, onlyFilterFor([name], all)).map((s) => s.name), [name]);
});

test('a name that is part of another, left out of the list, is refused rather than widening the run', () => {
  assert.throws(() => onlyFilterFor(['kubernetes sequence'], ['kubernetes sequence', 'kubernetes sequence: block']), /is part of \["kubernetes sequence: block"\]/);
  assert.throws(() => onlyFilterFor(['a|b'], ['a|b']), /contains "\|"/);
});
