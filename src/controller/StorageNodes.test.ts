import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotFoundError, UnavailableError } from '../errors.ts';
import { endpointSliceAgents, staticAgents } from './agentDiscovery.ts';
import type { AgentDiscovery } from './agentDiscovery.ts';
import { loadKubeClient } from '../kube/kubeClient.ts';
import { ServiceEndpoints } from '../kube/endpointSliceWatch.ts';
import { FakeKubeApi } from '../kube/testing/FakeKubeApi.ts';
import type { FakeEndpointSlice } from '../kube/testing/FakeKubeApi.ts';
import type { StorageNodeStatus } from '../agentApi/types.ts';
import { StorageNodes } from './StorageNodes.ts';
import { captureLog } from '../../test/cluster/controllerHarness.ts';
import { MemoryRemovedStorageNodes } from './testing/memoryRemovedStorageNodes.ts';
import { UnusedStorageAgent } from './testing/UnusedStorageAgent.ts';

const GiB = 1024 ** 3;

/** An agent that only answers GetNodeStatus: StorageNodes calls nothing else. */
class StatusOnlyAgent extends UnusedStorageAgent {
  name: string;
  down: string | undefined;
  hang = false;
  closed = false;
  statusCalls = 0;
  constructor(name: string) {
    super('StorageNodes (it asks for status only)');
    this.name = name;
  }
  override async getNodeStatus(): Promise<StorageNodeStatus> {
    this.statusCalls++;
    if (this.hang) return new Promise(() => {});
    if (this.down !== undefined) throw new UnavailableError(this.down);
    return {
      name: this.name, ready: true, labels: { zone: 'zone-a' }, extentSizeBytes: 4 * 1024 * 1024, thinAllocatableBytes: GiB,
      vgFreeBytes: GiB, thinPoolHealth: 'ok', utilization: 0.2, averageLatencyMs: 1, volumeCount: 0,
    };
  }
  override close(): void {
    this.closed = true;
  }
}

function setup(names: Record<string, string>, opts: { statusTimeoutMs?: number; slowStatusGraceMs?: number; now?: () => number; noRemovedRecord?: boolean } = {}) {
  const agents = new Map(Object.entries(names).map(([address, name]) => [address, new StatusOnlyAgent(name)]));
  const { log, lines } = captureLog();
  let discover: AgentDiscovery = staticAgents([...agents.keys()]);
  const removed = new MemoryRemovedStorageNodes();
  const nodes = new StorageNodes({
    discover: () => discover(),
    connect: (address) => agents.get(address) ?? new StatusOnlyAgent(`unknown-${address}`),
    log,
    ...(opts.noRemovedRecord ? {} : { removed }),
    ...(opts.statusTimeoutMs !== undefined ? { statusTimeoutMs: opts.statusTimeoutMs } : {}),
    ...(opts.slowStatusGraceMs !== undefined ? { slowStatusGraceMs: opts.slowStatusGraceMs } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
  const agent = (address: string): StatusOnlyAgent => agents.get(address)!;
  return { nodes, agent, lines, removed, setDiscover: (d: AgentDiscovery) => (discover = d) };
}

describe('StorageNodes', () => {
  test('learns node names from the agents and offers them as placement candidates with their figures', async () => {
    const { nodes, agent } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    const c = nodes.candidates().find((x) => x.name === 'store-a');
    assert.equal(c?.reachable, true);
    assert.equal(c?.zone, 'zone-a');
    assert.equal(c?.thinAllocatableBytes, GiB);
    assert.equal(await nodes.agentOf('store-b'), agent('b:9500'));
    assert.deepEqual(nodes.reachable().map((r) => r.name).sort(), ['store-a', 'store-b']);
  });

  test('keeps the agents it knows when discovery fails, and says so in UNAVAILABLE for unknown nodes', async () => {
    const { nodes, agent, lines, setDiscover } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    setDiscover(async () => {
      throw new Error('SERVFAIL');
    });
    await nodes.refresh();
    assert.deepEqual(nodes.reachable().map((r) => r.name).sort(), ['store-a', 'store-b']);
    assert.equal(await nodes.agentOf('store-a'), agent('a:9500'));
    await assert.rejects(nodes.agentOf('store-z'), (err: unknown) => err instanceof UnavailableError && /SERVFAIL/.test(err.message));
    assert.ok(lines.some((l) => l.includes('agent discovery failed')));
  });

  test('closes an agent that is no longer discovered, but keeps its node UNAVAILABLE (never NOT_FOUND) and waited for', async () => {
    const { nodes, agent, setDiscover } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    setDiscover(staticAgents(['a:9500']));
    await nodes.refresh();
    assert.equal(agent('b:9500').closed, true);
    assert.deepEqual(nodes.candidates().map((c) => c.name), ['store-a']);
    await assert.rejects(nodes.agentOf('store-b'), (err: unknown) =>
      err instanceof UnavailableError && /store-b is not answering/.test(err.message) && /last answered from b:9500/.test(err.message) && /vbs-csi nodes remove store-b/.test(err.message));
    assert.deepEqual(nodes.unreachable(), ['store-b (last at b:9500): no longer discovered'], 'lists wait for it');
    assert.deepEqual(nodes.recentlySilent(60_000).map((s) => s.split(' ')[0]), ['store-b'], 'the name guard waits for it');
  });

  test('a node no agent answered as since the controller started is UNAVAILABLE, even when every discovered agent answered', async () => {
    const { nodes } = setup({ 'a:9500': 'store-a' });
    await nodes.refresh();
    await assert.rejects(nodes.agentOf('store-z'), (err: unknown) => err instanceof UnavailableError && /no agent has answered as this node since the controller started/.test(err.message));
  });

  test('only a node declared removed is NOT_FOUND, as soon as the record says so and without polling again', async () => {
    const { nodes, removed, agent, setDiscover } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    setDiscover(staticAgents(['a:9500']));
    await nodes.refresh();
    await removed.add({ name: 'store-b', note: 'disk array died, ticket 42' });
    await removed.add({ name: 'store-z', note: '' });
    await assert.rejects(nodes.agentOf('store-b'), (err: unknown) => err instanceof NotFoundError && /declared removed at 2026-12-07T02:00:00.000Z \(test record: disk array died, ticket 42\)/.test(err.message));
    const polls = agent('a:9500').statusCalls;
    await assert.rejects(nodes.agentOf('store-z'), NotFoundError);
    assert.equal(agent('a:9500').statusCalls, polls, 'a removed name is answered from the record the last poll read');
    assert.deepEqual(nodes.unreachable(), [], 'a removed node is not waited for');
    assert.deepEqual(nodes.recentlySilent(60_000), []);
  });

  test('a removed node that is still discovered but silent is NOT_FOUND; a removed node that answers is routed to but never placed on', async () => {
    const { nodes, removed, agent, lines } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await removed.add({ name: 'store-b', note: '' });
    await nodes.refresh();
    assert.equal(await nodes.agentOf('store-b'), agent('b:9500'), 'it answers: calls do what they say');
    const b = nodes.candidates().find((c) => c.name === 'store-b');
    assert.equal(b?.reachable, false);
    assert.match(b?.unreachableReason ?? '', /declared removed/);
    assert.equal(lines.filter((l) => l.includes('a storage node declared removed answers')).length, 1);
    await nodes.refresh();
    assert.equal(lines.filter((l) => l.includes('a storage node declared removed answers')).length, 1, 'logged once, not at every poll');
    agent('b:9500').down = 'connection refused';
    await nodes.refresh();
    await assert.rejects(nodes.agentOf('store-b'), NotFoundError);
    await removed.restore('store-b');
    await nodes.refresh();
    assert.equal(await nodes.agentOf('store-b'), agent('b:9500'), 'restored: a silent discovered agent routes again (its calls fail UNAVAILABLE)');
  });

  test('while the removed record cannot be read, silent nodes stay UNAVAILABLE and say why', async () => {
    const { nodes, removed, setDiscover, lines } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    setDiscover(staticAgents(['a:9500']));
    removed.failWith = new UnavailableError('cannot get ConfigMap vbs/removed: HTTP 403');
    await removed.restore('store-b').catch(() => {});
    await nodes.refresh();
    await assert.rejects(nodes.agentOf('store-b'), (err: unknown) => err instanceof UnavailableError && /cannot be read: cannot get ConfigMap vbs\/removed: HTTP 403/.test(err.message));
    assert.ok(lines.some((l) => l.includes('cannot read the removed storage nodes')));
  });

  test('without a removed record no node can turn NOT_FOUND, and the message says so', async () => {
    const { nodes } = setup({ 'a:9500': 'store-a' }, { noRemovedRecord: true });
    await nodes.refresh();
    await assert.rejects(nodes.agentOf('store-z'), (err: unknown) => err instanceof UnavailableError && /no --removed-storage-nodes/.test(err.message));
  });

  test('calls its after-poll listeners after every poll', async () => {
    const { nodes } = setup({ 'a:9500': 'store-a' });
    let calls = 0;
    nodes.afterPoll(() => calls++);
    await nodes.refresh();
    await nodes.refresh();
    assert.equal(calls, 2);
  });

  test('excludes both agents that claim one node name, from placement and from routing', async () => {
    const { nodes, lines } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-a', 'c:9500': 'store-c' });
    await nodes.refresh();
    const dup = nodes.candidates().filter((c) => c.name === 'store-a');
    assert.equal(dup.length, 2);
    assert.ok(dup.every((c) => !c.reachable && /both call themselves store-a/.test(c.unreachableReason ?? '')));
    assert.deepEqual(nodes.reachable().map((r) => r.name), ['store-c']);
    assert.equal(nodes.status('store-a'), undefined);
    await assert.rejects(nodes.agentOf('store-a'), UnavailableError);
    assert.ok(lines.some((l) => l.includes('duplicate storage node name')));
  });

  test('agentOf is UNAVAILABLE for an unknown name, naming the agents that are silent', async () => {
    const { nodes, agent } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    agent('b:9500').down = 'connection refused';
    await nodes.refresh();
    await assert.rejects(nodes.agentOf('store-z'), (err: unknown) => err instanceof UnavailableError && /connection refused/.test(err.message));
    // The silent agent still routes by the name it last reported: its volumes are not "gone".
    assert.equal(await nodes.agentOf('store-b'), agent('b:9500'));
    const silent = nodes.candidates().find((c) => c.name === 'store-b');
    assert.equal(silent?.reachable, false);
    assert.equal(nodes.status('store-b'), undefined);
  });

  test('an agent that never answered is UNAVAILABLE for any unknown name, even one it may own', async () => {
    const { nodes, agent } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    agent('b:9500').down = 'connection refused';
    await nodes.refresh();
    await assert.rejects(nodes.agentOf('store-b'), UnavailableError);
    agent('b:9500').down = undefined;
    assert.equal(await nodes.agentOf('store-b'), agent('b:9500'), 'an unknown name polls again');
  });

  test('a status poll that hangs counts as unreachable after the timeout', async () => {
    const { nodes, agent } = setup({ 'a:9500': 'store-a' }, { statusTimeoutMs: 20 });
    agent('a:9500').hang = true;
    await nodes.refresh();
    assert.deepEqual(nodes.unreachable().map((u) => /no status from a:9500/.test(u)), [true]);
  });

  test('an agent that answered before and is only slow keeps its last status within the grace, then drops out', async () => {
    let nowMs = 1_000;
    const { nodes, agent } = setup({ 'a:9500': 'store-a' }, { statusTimeoutMs: 20, slowStatusGraceMs: 30_000, now: () => nowMs });
    await nodes.refresh();
    const before = nodes.candidates()[0]!;
    agent('a:9500').hang = true;
    nowMs += 29_000;
    await nodes.refresh();
    const slow = nodes.candidates()[0]!;
    assert.equal(slow.reachable, true, 'a busy agent stays in placement');
    assert.equal(slow.statusTakenAtMs, before.statusTakenAtMs, 'the kept status keeps its age, so reservations made since still count');
    nowMs += 2_000;
    await nodes.refresh();
    assert.equal(nodes.candidates()[0]!.reachable, false, 'past the grace it is unreachable');
    assert.match(nodes.unreachable()[0]!, /no status from a:9500/);
  });

  test('a refused status call counts at once, whatever the grace', async () => {
    const { nodes, agent } = setup({ 'a:9500': 'store-a' }, { slowStatusGraceMs: 60_000 });
    await nodes.refresh();
    agent('a:9500').down = 'connection refused';
    await nodes.refresh();
    assert.equal(nodes.candidates()[0]!.reachable, false);
  });

  test('refuses an agent whose node name cannot be part of a volume id', async () => {
    const { nodes } = setup({ 'a:9500': 'Store_A', 'b:9500': 'b'.repeat(93) });
    await nodes.refresh();
    assert.deepEqual(nodes.reachable(), []);
    assert.equal(nodes.unreachable().length, 2);
  });

  test('a poll still discovering when stop() is called connects to nothing', async () => {
    const { nodes, agent, setDiscover } = setup({ 'a:9500': 'store-a' });
    const gate = Promise.withResolvers<string[]>();
    setDiscover(() => gate.promise);
    const polling = nodes.refresh();
    nodes.stop();
    gate.resolve(['a:9500']);
    await polling;
    assert.equal(agent('a:9500').statusCalls, 0);
    assert.deepEqual(nodes.candidates(), []);
  });

  test('concurrent refreshes share one poll, and ensureFresh polls only when the figures are older than asked', async () => {
    const { nodes, agent } = setup({ 'a:9500': 'store-a' });
    await Promise.all([nodes.refresh(), nodes.refresh(), nodes.refresh()]);
    assert.equal(agent('a:9500').statusCalls, 1);
    await nodes.ensureFresh(60_000);
    assert.equal(agent('a:9500').statusCalls, 1);
    await nodes.ensureFresh(0);
    assert.equal(agent('a:9500').statusCalls, 2);
  });

  test('counts an agent as recently silent from its discovery if it never answered, or from its first failed poll, until it answers', async () => {
    let now = 1_000;
    const { nodes, agent } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' }, { now: () => now });
    agent('b:9500').down = 'connection refused';
    await nodes.refresh();
    assert.deepEqual(nodes.recentlySilent(60_000), ['b:9500 (silent for 0 s)'], 'never answered: silent since it was discovered');
    now += 61_000;
    await nodes.refresh();
    assert.deepEqual(nodes.recentlySilent(60_000), [], 'silent longer than the window: no longer "recent"');
    agent('b:9500').down = undefined;
    await nodes.refresh();
    now += 1_000;
    agent('a:9500').down = 'connection reset';
    await nodes.refresh();
    now += 5_000;
    await nodes.refresh();
    assert.deepEqual(nodes.recentlySilent(60_000), ['store-a (silent for 5 s)'], 'silent since its first failed poll, not its last');
  });

  test('a discovered agent pod that is not ready is kept and polled, never placed on, and its node is UNAVAILABLE naming the pod', async () => {
    const { nodes, agent, setDiscover } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    const pods = (bReady: boolean): AgentDiscovery => async () => [
      { address: 'a:9500', kubeNode: 'store-a', pod: 'vbs/agent-a', ready: true },
      { address: 'b:9500', kubeNode: 'store-b', pod: 'vbs/agent-b', ready: bReady },
    ];
    // The controller starts while agent-b restores its exports: it never answered yet.
    agent('b:9500').down = 'the agent is restoring its iSCSI exports after a start; retry in a few seconds';
    setDiscover(pods(false));
    await nodes.refresh();
    assert.equal(agent('b:9500').closed, false);
    await assert.rejects(nodes.agentOf('store-b'), (err: unknown) =>
      err instanceof UnavailableError &&
      /storage node store-b is not answering \(its agent pod vbs\/agent-b on Kubernetes node store-b at b:9500 \(not ready\) has not answered since the controller started/.test(err.message));
    assert.deepEqual(nodes.unreachable(), ['b:9500 (pod vbs/agent-b on Kubernetes node store-b at b:9500 (not ready)): the agent is restoring its iSCSI exports after a start; retry in a few seconds']);
    const calls = agent('b:9500').statusCalls;

    // It answers, but Kubernetes still reports the pod not ready: routed to, not placed on.
    agent('b:9500').down = undefined;
    await nodes.refresh();
    assert.ok(agent('b:9500').statusCalls > calls, 'polled while not ready');
    assert.equal(await nodes.agentOf('store-b'), agent('b:9500'));
    assert.equal(nodes.candidates().find((c) => c.name === 'store-b')?.ready, false);
    setDiscover(pods(true));
    await nodes.refresh();
    assert.equal(nodes.candidates().find((c) => c.name === 'store-b')?.ready, true);
  });

  test('with EndpointSlices from a fake API server: a pod going not ready, then gone, is never forgotten', async () => {
    const api = await FakeKubeApi.start();
    const slice = (endpoints: FakeEndpointSlice['endpoints']): FakeEndpointSlice => ({
      metadata: { name: 'vbs-csi-agent-x1', namespace: 'vbs', labels: { 'kubernetes.io/service-name': 'vbs-csi-agent' } },
      addressType: 'IPv4',
      endpoints,
      ports: [{ name: 'agent-api', port: 9500 }],
    });
    const pod = (ip: string, node: string, ready: boolean) => ({ addresses: [ip], nodeName: node, targetRef: { kind: 'Pod', name: `agent-${node}`, namespace: 'vbs' }, conditions: { ready } });
    api.putEndpointSlice(slice([pod('10.0.0.1', 'store-a', true), pod('10.0.0.2', 'store-b', true)]));
    const kube = await loadKubeClient({ kind: 'file', path: api.kubeconfigPath });
    const endpoints = new ServiceEndpoints(kube, { namespace: 'vbs', service: 'vbs-csi-agent', port: 'agent-api' });
    await endpoints.start();
    try {
      const { nodes, agent, setDiscover } = setup({ '10.0.0.1:9500': 'store-a', '10.0.0.2:9500': 'store-b' });
      setDiscover(endpointSliceAgents(endpoints));
      await nodes.refresh();
      assert.deepEqual(nodes.reachable().map((r) => r.name).sort(), ['store-a', 'store-b']);

      // agent-b fails its readiness probe (DNS would drop it here) and stops answering.
      api.putEndpointSlice(slice([pod('10.0.0.1', 'store-a', true), pod('10.0.0.2', 'store-b', false)]));
      agent('10.0.0.2:9500').down = 'connect ECONNREFUSED 10.0.0.2:9500';
      const deadline = Date.now() + 5_000;
      while (endpoints.current().find((e) => e.node === 'store-b')?.ready !== false && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await nodes.refresh();
      assert.equal(agent('10.0.0.2:9500').closed, false, 'a not-ready pod stays discovered');
      // Still routed to (its calls fail UNAVAILABLE at the agent), and listed as not answering with its pod.
      assert.equal(await nodes.agentOf('store-b'), agent('10.0.0.2:9500'));
      assert.deepEqual(nodes.unreachable(), ['store-b (pod vbs/agent-store-b on Kubernetes node store-b at 10.0.0.2:9500 (not ready)): connect ECONNREFUSED 10.0.0.2:9500']);
      assert.equal(nodes.candidates().find((c) => c.name === 'store-b')?.reachable, false);

      // The pod is deleted (its slice entry goes): the node stays known, UNAVAILABLE, never NOT_FOUND.
      api.putEndpointSlice(slice([pod('10.0.0.1', 'store-a', true)]));
      while (endpoints.current().length !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await nodes.refresh();
      await assert.rejects(nodes.agentOf('store-b'), (err: unknown) => err instanceof UnavailableError && /last answered from 10\.0\.0\.2:9500/.test(err.message));
      assert.deepEqual(nodes.unreachable(), ['store-b (last at 10.0.0.2:9500): no longer discovered']);
      nodes.stop();
    } finally {
      await endpoints.stop();
      await api.close();
    }
  });
});
