import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { isTransient, mayRetry, retryingApi, wasNotSent } from '../../e2e/cluster/transientApiErrors.ts';

/** What fetch throws when undici fails: TypeError("fetch failed") with the socket error as its cause. */
function fetchFailed(code: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`socket: ${code}`), { code }) });
}
const http = (status: number) => new ApiException(status, 'failed', '{"kind":"Status"}', {});

describe('transient API errors (e2e/cluster/transientApiErrors.ts)', () => {
  it('a connection that was never made is not-sent; a reset is transient but may have been delivered', () => {
    assert.ok(wasNotSent(fetchFailed('UND_ERR_CONNECT_TIMEOUT')));
    assert.ok(wasNotSent(fetchFailed('ECONNREFUSED')));
    assert.ok(!wasNotSent(fetchFailed('ECONNRESET')));
    assert.ok(isTransient(fetchFailed('ECONNRESET')));
    assert.ok(!isTransient(new TypeError('fetch failed')), 'no code, no guess');
  });

  it('429 and 5xx are transient; 404, 409 and 422 are answers', () => {
    for (const s of [429, 500, 503, 504]) assert.ok(isTransient(http(s)), String(s));
    for (const s of [400, 403, 404, 409, 422]) assert.ok(!isTransient(http(s)), String(s));
  });

  it('reads retry any transient failure; writes only one that never reached the server', () => {
    assert.ok(mayRetry('listNamespacedPod', http(503)));
    assert.ok(mayRetry('readCSINode', fetchFailed('ECONNRESET')));
    assert.ok(!mayRetry('createNamespacedPod', http(503)), 'a 503 may come after the object was stored');
    assert.ok(!mayRetry('deleteNamespacedPod', fetchFailed('ECONNRESET')));
    assert.ok(mayRetry('createNamespacedPod', fetchFailed('UND_ERR_CONNECT_TIMEOUT')));
  });

  it('a wrapped API retries until the call succeeds, logging each retry, and passes other errors through at once', async () => {
    const calls: string[] = [];
    const log: string[] = [];
    let failures = 2;
    const api = {
      prefix: 'v1',
      async listThings(ns: string) {
        calls.push(`list ${ns}`);
        if (failures-- > 0) throw fetchFailed('UND_ERR_CONNECT_TIMEOUT');
        return `${this.prefix}:${ns}`;
      },
      async createThing() {
        calls.push('create');
        throw http(409);
      },
    };
    const wrapped = retryingApi(api, 'core', { withinMs: 10_000, log: (l) => log.push(l), pauseMs: () => 1 });
    assert.equal(await wrapped.listThings('default'), 'v1:default', 'methods keep their `this`');
    assert.deepEqual(calls, ['list default', 'list default', 'list default']);
    assert.equal(log.length, 2);
    assert.match(log[0]!, /^core\.listThings: fetch failed \(UND_ERR_CONNECT_TIMEOUT\); retrying \(attempt 2\)$/);
    await assert.rejects(wrapped.createThing(), (e: unknown) => e instanceof ApiException && e.code === 409);
    assert.equal(calls.filter((c) => c === 'create').length, 1);
  });

  it('gives up with the last error once its time is spent', async () => {
    let attempts = 0;
    const api = { async readThing() { attempts++; throw http(503); } };
    const started = Date.now();
    await assert.rejects(retryingApi(api, 'x', { withinMs: 50, log: () => {}, pauseMs: () => 10 }).readThing(), (e: unknown) => e instanceof ApiException && e.code === 503);
    assert.ok(attempts >= 2 && Date.now() - started < 2000, `${attempts} attempts`);
  });
});
