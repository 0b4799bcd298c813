import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CommandFailedError } from '../exec/index.ts';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, ResourceExhaustedError } from '../errors.ts';
import { classifyLvmError } from './lvmErrors.ts';

interface Captured { command: string; exitCode: number; stderr: string }
const failures = JSON.parse(readFileSync(new URL('../../test/fixtures/lvm/lvm-failures.json', import.meta.url), 'utf8')) as Record<string, Captured>;

function failureOf(name: string): CommandFailedError {
  const captured = failures[name];
  assert.ok(captured, name);
  const [file, ...args] = captured.command.split(' ') as [string, ...string[]];
  return new CommandFailedError({ file, args, exitCode: captured.exitCode, stdout: '', stderr: captured.stderr });
}

describe('classifyLvmError', () => {
  const cases: Array<{ name: string; fixture: string; expected: new (...args: never[]) => Error }> = [
    { name: 'a missing LV on lvs is NotFoundError', fixture: 'lvs-missing-lv', expected: NotFoundError },
    { name: 'a missing LV on lvremove is NotFoundError', fixture: 'remove-missing', expected: NotFoundError },
    { name: 'a missing LV on lvextend (another message) is NotFoundError', fixture: 'extend-missing', expected: NotFoundError },
    { name: 'a missing snapshot origin is NotFoundError', fixture: 'snap-missing-origin', expected: NotFoundError },
    { name: 'a missing VG on lvs is FailedPreconditionError, never NotFoundError', fixture: 'lvs-missing-vg', expected: FailedPreconditionError },
    { name: 'a missing VG on lvremove is FailedPreconditionError, so a delete cannot pass by accident', fixture: 'remove-missing-vg', expected: FailedPreconditionError },
    { name: 'a missing thin pool is FailedPreconditionError', fixture: 'create-nopool', expected: FailedPreconditionError },
    { name: 'a duplicate LV name is AlreadyExistsError', fixture: 'create-dup', expected: AlreadyExistsError },
    { name: 'a VG without room is ResourceExhaustedError', fixture: 'create-thick-too-big', expected: ResourceExhaustedError },
    { name: 'a full thin pool refusing a new thin LV is ResourceExhaustedError', fixture: 'create-in-full-pool', expected: ResourceExhaustedError },
    { name: 'a full thin pool refusing a snapshot is ResourceExhaustedError', fixture: 'snap-in-full-pool', expected: ResourceExhaustedError },
    { name: 'removing an LV that is open is FailedPreconditionError', fixture: 'remove-open', expected: FailedPreconditionError },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const original = failureOf(c.fixture);
      const classified = classifyLvmError(original, 'do it');
      assert.ok(classified instanceof c.expected, `${c.fixture}: got ${String(classified)}`);
      assert.match(classified.message, /^do it: /);
      assert.equal(classified.cause, original);
    });
  }

  it('leaves a failure it does not recognise as the original CommandFailedError', () => {
    const original = failureOf('shrink-attempt');
    assert.equal(classifyLvmError(original, 'x'), original);
  });

  it('ignores WARNING lines, so a full-pool warning does not relabel another failure', () => {
    const original = new CommandFailedError({
      file: 'lvm', args: ['lvchange'], exitCode: 5, stdout: '',
      stderr: '  WARNING: Thin pool vbs/small is out of data space.\n  WARNING: Logical volume vbs/x in use by someone.\n  Something else broke.\n',
    });
    assert.equal(classifyLvmError(original, 'x'), original);
  });

  it('leaves timeouts and errors that are not command failures alone', () => {
    const timedOut = new CommandFailedError({ file: 'lvm', args: [], exitCode: undefined, stdout: '', stderr: 'Failed to find logical volume', timedOut: true });
    assert.equal(classifyLvmError(timedOut, 'x'), timedOut);
    const other = new Error('boom');
    assert.equal(classifyLvmError(other, 'x'), other);
  });
});
