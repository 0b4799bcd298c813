import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { CallTally, forEachConcurrently } from '../../bench/memory/callTally.ts';

const grpcError = (code: status) => Object.assign(new Error(status[code]), { code, details: 'no such volume', metadata: new Metadata() });

describe('CallTally', () => {
  test('counts each call under its RPC and how it ended, and hands back the answer', async () => {
    const tally = new CallTally();
    assert.equal(await tally.run('ControllerGetVolume', async () => 'volume'), 'volume');
    assert.equal(await tally.run('ControllerGetVolume', () => Promise.reject(grpcError(status.NOT_FOUND))), undefined);
    await tally.run('ControllerGetVolume', () => Promise.reject(grpcError(status.NOT_FOUND)));
    await tally.run('GetCapacity', async () => ({}));
    assert.deepEqual(tally.counts(), { ControllerGetVolume: { OK: 1, NOT_FOUND: 2 }, GetCapacity: { OK: 1 } });
  });
  test('an error that is not a gRPC status (a harness bug) is thrown, not counted', async () => {
    const tally = new CallTally();
    await assert.rejects(tally.run('ListVolumes', () => Promise.reject(new TypeError('boom'))), TypeError);
    assert.deepEqual(tally.counts(), {});
  });
});

describe('forEachConcurrently', () => {
  test('visits every item once with no more than the limit in flight', async () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    const seen: number[] = [];
    let inFlight = 0;
    let most = 0;
    await forEachConcurrently(items, 4, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await Promise.resolve();
      await Promise.resolve();
      seen.push(i);
      inFlight--;
    });
    assert.deepEqual([...seen].sort((a, b) => a - b), items);
    assert.equal(most, 4);
  });
  test('no items: nothing runs', async () => {
    let calls = 0;
    await forEachConcurrently([], 8, async () => void calls++);
    assert.equal(calls, 0);
  });
});
