import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { settlesWithin } from './settlesWithin.ts';

describe('settlesWithin', () => {
  test('true for work that ends in time, its error rethrown; false for work still running', async () => {
    assert.equal(await settlesWithin(Promise.resolve('done'), 1_000), true);
    await assert.rejects(settlesWithin(Promise.reject(new Error('EBUSY')), 1_000), /EBUSY/);
    const stuck = Promise.withResolvers<void>();
    assert.equal(await settlesWithin(stuck.promise, 10), false);
    stuck.resolve();
  });

  test('a late failure is not an unhandled rejection', async () => {
    const stuck = Promise.withResolvers<void>();
    assert.equal(await settlesWithin(stuck.promise, 10), false);
    stuck.promise.catch(() => {}); // the caller's own handler, as AgentVolumes keeps one
    stuck.reject(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});
