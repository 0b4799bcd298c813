import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AsyncMutex } from './AsyncMutex.ts';

describe('AsyncMutex', () => {
  test('runs callers one at a time, in the order they arrived', async () => {
    const mutex = new AsyncMutex();
    const order: string[] = [];
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const a = mutex.runExclusive(async () => {
      order.push('a start');
      await gate;
      order.push('a end');
    });
    const b = mutex.runExclusive(async () => {
      order.push('b');
    });
    const c = mutex.runExclusive(async () => {
      order.push('c');
    });
    await Promise.resolve();
    assert.deepEqual(order, ['a start']);
    open();
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a start', 'a end', 'b', 'c']);
    assert.equal(mutex.isLocked, false);
  });

  test('releases after a failure so the next caller runs', async () => {
    const mutex = new AsyncMutex();
    const failed = mutex.runExclusive(async () => Promise.reject(new Error('boom')));
    const next = mutex.runExclusive(async () => 'ran');
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'ran');
  });

  test('a waiter whose signal aborts leaves the queue without running', async () => {
    const mutex = new AsyncMutex();
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const holder = mutex.runExclusive(() => gate);
    const controller = new AbortController();
    let ran = false;
    const waiter = mutex.runExclusive(async () => {
      ran = true;
    }, controller.signal);
    const after = mutex.runExclusive(async () => 'after');
    controller.abort(new Error('cancelled'));
    await assert.rejects(waiter, /cancelled/);
    open();
    await holder;
    assert.equal(await after, 'after');
    assert.equal(ran, false);
  });

  test('refuses at once when the signal is already aborted', async () => {
    const mutex = new AsyncMutex();
    await assert.rejects(mutex.runExclusive(async () => 'x', AbortSignal.abort(new Error('gone'))), /gone/);
    assert.equal(mutex.isLocked, false);
  });
});
