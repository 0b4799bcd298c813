import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OperationPendingError } from '../errors.ts';
import { KeyedLocks } from './KeyedLocks.ts';

describe('KeyedLocks', () => {
  test('refuses a held key and grants it again after release', () => {
    const locks = new KeyedLocks();
    assert.equal(locks.tryAcquire('vol-1'), true);
    assert.equal(locks.tryAcquire('vol-1'), false);
    assert.equal(locks.tryAcquire('vol-2'), true, 'another key is independent');
    locks.release('vol-1');
    assert.equal(locks.tryAcquire('vol-1'), true);
  });

  test('runExclusive throws OperationPendingError while the key is held, then runs once it is free', async () => {
    const locks = new KeyedLocks();
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const first = locks.runExclusive('vol-1', async () => {
      await gate;
      return 'first';
    });
    await assert.rejects(locks.runExclusive('vol-1', async () => 'second'), (err: unknown) => {
      assert.ok(err instanceof OperationPendingError);
      assert.match(err.message, /vol-1/);
      return true;
    });
    open();
    assert.equal(await first, 'first');
    assert.equal(await locks.runExclusive('vol-1', async () => 'third'), 'third');
    assert.equal(locks.isHeld('vol-1'), false);
  });

  test('runExclusive with several keys takes none of them when one is busy', async () => {
    const locks = new KeyedLocks();
    locks.tryAcquire('b');
    await assert.rejects(locks.runExclusive(['a', 'b'], async () => undefined), OperationPendingError);
    assert.equal(locks.isHeld('a'), false);
  });

  test('runExclusive releases the key when fn throws', async () => {
    const locks = new KeyedLocks();
    await assert.rejects(locks.runExclusive('k', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(locks.isHeld('k'), false);
  });
});
