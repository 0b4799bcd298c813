import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadKubeClient } from './kubeClient.ts';
import type { KubeClient } from './kubeClient.ts';
import { KubeEventRecorder } from './eventRecorder.ts';
import type { EventToRecord } from './eventRecorder.ts';
import { FakeKubeApi } from './testing/FakeKubeApi.ts';

const node = (name: string) => ({ kind: 'Node', apiVersion: 'v1', name });
const overLimit = (name: string, message = 'data 91% at or over the 90% limit'): EventToRecord => ({ regarding: node(name), type: 'Warning', reason: 'ThinPoolOverLimit', message });

describe('KubeEventRecorder against a fake API server', () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  let nowMs = 1_000_000;
  before(async () => {
    api = await FakeKubeApi.start();
    kube = await loadKubeClient({ kind: 'file', path: api.kubeconfigPath });
  });
  after(async () => api.close());
  beforeEach(() => {
    api.events.clear();
    api.failures.clear();
    api.requests.length = 0;
  });
  const recorder = (opts: Partial<ConstructorParameters<typeof KubeEventRecorder>[1]> = {}) =>
    new KubeEventRecorder(kube, { component: 'vbs.csi.io/controller', instance: 'controller-0', now: () => nowMs, repeatWriteIntervalMs: 60_000, ...opts });

  it('creates a core/v1 Event about a Node in namespace default, with source, count 1 and both timestamps', async () => {
    const r = recorder();
    r.record(overLimit('store-a'));
    await r.flush();
    const events = [...api.events.values()];
    assert.equal(events.length, 1);
    const e = events[0] as Record<string, unknown> & { metadata: { name: string; namespace: string } };
    assert.equal(e.metadata.namespace, 'default');
    assert.match(e.metadata.name, /^store-a\.[0-9a-f]{16}$/);
    assert.deepEqual(e['involvedObject'], { kind: 'Node', apiVersion: 'v1', name: 'store-a' });
    assert.deepEqual([e['type'], e['reason'], e['message'], e['count']], ['Warning', 'ThinPoolOverLimit', 'data 91% at or over the 90% limit', 1]);
    assert.deepEqual(e['source'], { component: 'vbs.csi.io/controller' });
    assert.equal(e['reportingInstance'], 'controller-0');
    assert.equal(e['firstTimestamp'], e['lastTimestamp']);
    r.stop();
  });

  it('a repeat is one series: counted, written at most once per interval with the newest message', async () => {
    const r = recorder();
    r.record(overLimit('store-a'));
    await r.flush();
    for (let i = 0; i < 9; i++) {
      nowMs += 1_000;
      r.record(overLimit('store-a', `data ${92 + i}% at or over the 90% limit`));
    }
    await r.flush();
    const events = [...api.events.values()];
    assert.equal(events.length, 1, 'one Event, not ten');
    assert.equal(events[0]?.['count'], 10);
    assert.equal(events[0]?.['message'], 'data 100% at or over the 90% limit');
    assert.equal(events[0]?.['lastTimestamp'], new Date(nowMs).toISOString());
    assert.deepEqual(api.requests.map((q) => q.method), ['POST', 'PATCH'], 'one create, one patch for nine repeats');
    assert.equal(api.requests[1]?.contentType, 'application/merge-patch+json');
    r.stop();
  });

  it('the interval timer writes the count without a flush', async () => {
    const r = recorder({ repeatWriteIntervalMs: 30 });
    r.record(overLimit('store-a'));
    r.record(overLimit('store-a'));
    r.record(overLimit('store-a'));
    const deadline = Date.now() + 3_000;
    while ([...api.events.values()][0]?.['count'] !== 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal([...api.events.values()][0]?.['count'], 3);
    r.stop();
  });

  it('other reasons and other objects are other Events; a series not seen for the expiry starts over', async () => {
    const r = recorder({ seriesExpiryMs: 600_000 });
    r.record(overLimit('store-a'));
    r.record(overLimit('store-b'));
    r.record({ regarding: node('store-a'), type: 'Warning', reason: 'StorageNodeUnreachable', message: 'x' });
    await r.flush();
    assert.equal(api.events.size, 3);
    nowMs += 600_001;
    r.record(overLimit('store-a'));
    await r.flush();
    assert.equal(api.events.size, 4);
    r.stop();
  });

  it('rate-limits per object (burst, then one per refill period) and counts what it dropped', async () => {
    const r = recorder({ burst: 2, refillMs: 300_000 });
    for (const reason of ['A', 'B', 'C', 'D']) r.record({ regarding: node('flappy'), type: 'Warning', reason, message: reason });
    r.record(overLimit('calm'));
    await r.flush();
    assert.deepEqual([...api.events.values()].map((e) => e['reason']).sort(), ['A', 'B', 'ThinPoolOverLimit']);
    assert.equal(r.dropped, 2);
    nowMs += 300_000;
    r.record({ regarding: node('flappy'), type: 'Warning', reason: 'E', message: 'E' });
    await r.flush();
    assert.equal(api.events.size, 4);
    r.stop();
  });

  it('a refused write is reported, never thrown, and the next occurrence tries again; an expired Event starts over', async () => {
    const errors: string[] = [];
    const r = recorder({ onError: (m) => errors.push(m) });
    api.failures.set('POST /api/v1/namespaces/default/events', { code: 403, reason: 'Forbidden', message: 'events is forbidden' });
    r.record(overLimit('store-a'));
    await r.flush();
    assert.match(errors[0] ?? '', /create Event ThinPoolOverLimit about Node store-a: HTTP 403: events is forbidden \(grant create and patch on events/);
    api.failures.clear();
    r.record(overLimit('store-a'));
    await r.flush();
    assert.equal(api.events.size, 1);
    api.events.clear();
    nowMs += 61_000;
    r.record(overLimit('store-a'));
    await r.flush();
    r.record(overLimit('store-a'));
    await r.flush();
    assert.equal(api.events.size, 1, 'the 404 on update dropped the series; the next record created a new Event');
    r.stop();
  });

  it('cuts a long message to 1 KiB', async () => {
    const r = recorder();
    r.record(overLimit('store-a', 'x'.repeat(5000)));
    await r.flush();
    assert.equal(String([...api.events.values()][0]?.['message']).length, 1024);
    r.stop();
  });
});
