import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runReadinessChecks } from './readiness.ts';

describe('runReadinessChecks', () => {
  test('is ready when every check passes, including with no checks at all', async () => {
    assert.deepEqual(await runReadinessChecks([], 100), { ready: true, problems: [] });
    const ok = { name: 'ok', check: async () => undefined };
    assert.deepEqual(await runReadinessChecks([ok, ok], 100), { ready: true, problems: [] });
  });

  test('names each failed, throwing or hanging check', async () => {
    const report = await runReadinessChecks(
      [
        { name: 'iscsid', check: async () => 'not running' },
        { name: 'configfs', check: async () => { throw new Error('EACCES'); } },
        { name: 'slow', check: () => new Promise<undefined>(() => {}) },
        { name: 'fine', check: async () => undefined },
      ],
      50,
    );
    assert.equal(report.ready, false);
    assert.deepEqual(report.problems, ['iscsid: not running', 'configfs: EACCES', 'slow: no answer within 50 ms']);
  });
});
