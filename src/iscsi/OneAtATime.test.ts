import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OneAtATimePerKey } from './OneAtATime.ts';

test('OneAtATimePerKey runs one key in order, other keys alongside, and forgets idle keys', async () => {
  const queues = new OneAtATimePerKey();
  const log: string[] = [];
  let releaseA!: () => void;
  const a1 = queues.run('a', async () => {
    log.push('a1 start');
    await new Promise<void>((resolve) => (releaseA = resolve));
    log.push('a1 end');
  });
  const a2 = queues.run('a', async () => void log.push('a2'));
  await queues.run('b', async () => void log.push('b'));
  assert.equal(queues.activeKeys, 1, 'b is forgotten once done; a still runs');
  releaseA();
  await Promise.all([a1, a2]);
  assert.deepEqual(log, ['a1 start', 'b', 'a1 end', 'a2']);
  assert.equal(queues.activeKeys, 0);
});
