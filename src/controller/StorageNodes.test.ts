import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotFoundError, UnavailableError } from '../errors.ts';
import { staticAgents } from './agentDiscovery.ts';
import type { StorageAgent, StorageNodeStatus } from './StorageAgent.ts';
import { StorageNodes } from './StorageNodes.ts';
import { captureLog } from './testing/controllerHarness.ts';

const GiB = 1024 ** 3;

/** An agent that only answers GetNodeStatus: StorageNodes calls nothing else. */
class StatusOnlyAgent implements StorageAgent {
  name: string;
  down: string | undefined;
  hang = false;
  closed = false;
  statusCalls = 0;
  constructor(name: string) {
    this.name = name;
  }
  async getNodeStatus(): Promise<StorageNodeStatus> {
    this.statusCalls++;
    if (this.hang) return new Promise(() => {});
    if (this.down !== undefined) throw new UnavailableError(this.down);
    return {
      name: this.name, ready: true, labels: { zone: 'zone-a' }, extentSizeBytes: 4 * 1024 * 1024, thinAllocatableBytes: GiB,
      vgFreeBytes: GiB, thinPoolHealth: 'ok', utilization: 0.2, averageLatencyMs: 1, volumeCount: 0,
    };
  }
  close(): void {
    this.closed = true;
  }
  createVolume = unused;
  expandVolume = unused;
  deleteVolume = unused;
  getVolume = unused;
  listVolumes = unused;
  createSnapshot = unused;
  deleteSnapshot = unused;
  getSnapshot = unused;
  listSnapshots = unused;
  exportVolume = unused;
  unexportVolume = unused;
}

async function unused(): Promise<never> {
  throw new Error('StorageNodes must only ask for status');
}

function setup(names: Record<string, string>, opts: { statusTimeoutMs?: number; slowStatusGraceMs?: number; now?: () => number } = {}) {
  const agents = new Map(Object.entries(names).map(([address, name]) => [address, new StatusOnlyAgent(name)]));
  const { log, lines } = captureLog();
  let discover = staticAgents([...agents.keys()]);
  const nodes = new StorageNodes({
    discover: () => discover(),
    connect: (address) => agents.get(address) ?? new StatusOnlyAgent(`unknown-${address}`),
    log,
    ...(opts.statusTimeoutMs !== undefined ? { statusTimeoutMs: opts.statusTimeoutMs } : {}),
    ...(opts.slowStatusGraceMs !== undefined ? { slowStatusGraceMs: opts.slowStatusGraceMs } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
  const agent = (address: string): StatusOnlyAgent => agents.get(address)!;
  return { nodes, agent, lines, setDiscover: (d: typeof discover) => (discover = d) };
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

  test('forgets and closes an agent that is no longer discovered', async () => {
    const { nodes, agent, setDiscover } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    setDiscover(staticAgents(['a:9500']));
    await nodes.refresh();
    assert.equal(agent('b:9500').closed, true);
    assert.deepEqual(nodes.candidates().map((c) => c.name), ['store-a']);
    await assert.rejects(nodes.agentOf('store-b'), NotFoundError);
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

  test('agentOf is NOT_FOUND only when every agent answered, UNAVAILABLE while one is silent', async () => {
    const { nodes, agent } = setup({ 'a:9500': 'store-a', 'b:9500': 'store-b' });
    await nodes.refresh();
    await assert.rejects(nodes.agentOf('store-z'), NotFoundError);
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
});
