import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { TOPOLOGY_ZONE_KEY } from '../csi/nodeIds.ts';
import { parsePublishContext } from '../csi/publishContext.ts';
import { parseSnapshotId, parseVolumeId } from '../csi/volumeIds.ts';
import type { CreateVolumeRequest } from '../generated/csi/v1/CreateVolumeRequest.ts';
import type { VolumeCapability } from '../generated/csi/v1/VolumeCapability.ts';
import { connectCsi } from '../grpc/csiServiceClients.ts';
import type { CsiApi } from '../grpc/csiServiceClients.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { CONTROLLER_CAPABILITIES } from './controllerHandlers.ts';
import { duplicateNodeIdGuard } from './nodeIdGuard.ts';
import { GiB, MiB, TestCluster, serveController } from '../../test/cluster/controllerHarness.ts';
import type { TestAgentOptions } from '../../test/cluster/controllerHarness.ts';

const BLOCK_RWO: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BLOCK_RWX: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
const EXT4_RWO: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const EXT4_RWX: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
const EXT4_ROX: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } };
const XFS_RWO: VolumeCapability = { mount: { fs_type: 'xfs', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const WORKER_1 = 'iqn.1993-08.org.debian:01:worker-1';
const WORKER_2 = 'iqn.1993-08.org.debian:01:worker-2';

async function rejectsWith(promise: Promise<unknown>, code: status, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${err.code === undefined ? 'no code' : status[err.code]} (${err.details})`);
    if (message) assert.match(err.details ?? '', message);
    return true;
  });
}

describe('Controller service over gRPC', () => {
  let cluster: TestCluster;
  let csi: CsiApi;
  let close: () => Promise<void>;
  let address: string;

  const start = async (agents: readonly TestAgentOptions[] = [{ name: 'store-a' }, { name: 'store-b' }], statusMaxAgeMs = 0, nameGuardMs?: number): Promise<void> => {
    cluster = await TestCluster.create({ agents, statusMaxAgeMs, ...(nameGuardMs !== undefined ? { nameGuardMs } : {}) });
    ({ csi, close, address } = await serveController(cluster));
  };
  afterEach(async () => {
    await close();
    await cluster.destroy();
  });

  const create = (name: string, extra: Partial<CreateVolumeRequest> = {}) =>
    csi.controller.createVolume({ name, capacity_range: { required_bytes: 100 * MiB }, volume_capabilities: [BLOCK_RWO], ...extra });
  const nodeOf = (volumeId: string): string | undefined => parseVolumeId(volumeId)?.node;

  describe('CreateVolume', () => {
    test('places a volume on the node with room, and among those on the least loaded', async () => {
      await start([{ name: 'store-a', poolSizeBytes: 64 * MiB }, { name: 'store-b', utilization: 0.9 }, { name: 'store-c', utilization: 0.1 }]);
      const big = await create('big', { capacity_range: { required_bytes: 200 * MiB } });
      assert.equal(nodeOf(big.volume?.volume_id ?? ''), 'store-c');
      cluster.agent('store-c').load.utilization = 0.95;
      const next = await create('next', { capacity_range: { required_bytes: 200 * MiB } });
      assert.equal(nodeOf(next.volume?.volume_id ?? ''), 'store-b', 'store-a has no room; store-b is now the less loaded');
    });

    test('spreads 20 concurrent creates over two agents by reservations, none refused and none past its allocatable', async () => {
      // Status is polled once and then reused: only the reservations keep the burst apart.
      await start([{ name: 'store-a' }, { name: 'store-b' }], 60_000);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => create(`burst-${i}`)));
      const perNode = new Map<string, number>();
      for (const r of results) perNode.set(nodeOf(r.volume?.volume_id ?? '') ?? '?', (perNode.get(nodeOf(r.volume?.volume_id ?? '') ?? '?') ?? 0) + 1);
      assert.deepEqual(Object.fromEntries(perNode), { 'store-a': 10, 'store-b': 10 });
      for (const agent of cluster.agents) {
        assert.equal(agent.calls.filter((c) => c === 'createVolume').length, 10, `${agent.name} was never asked for more than it could hold`);
        const provisioned = (await agent.volumes.listVolumes()).reduce((sum, v) => sum + v.sizeBytes, 0);
        assert.ok(provisioned <= GiB, `${agent.name} holds ${provisioned} bytes`);
      }
    });

    test('answers the same volume for the same name, also from a restarted controller', async () => {
      await start();
      const first = await create('pvc-1', { capacity_range: { required_bytes: 100 * MiB + 1 } });
      assert.equal(first.volume?.capacity_bytes, 104 * MiB, 'rounded up to whole 4 MiB extents');
      const again = await create('pvc-1', { capacity_range: { required_bytes: 100 * MiB + 1 } });
      assert.deepEqual(again, first);
      cluster.service = cluster.newService();
      await close();
      ({ csi, close, address } = await serveController(cluster));
      assert.deepEqual(await create('pvc-1', { capacity_range: { required_bytes: 100 * MiB + 1 } }), first);
      const lvs = cluster.agents.flatMap((a) => a.lvm.names());
      assert.deepEqual(lvs, [buildAgentId('pvc-1', 'volume')], 'one LV in the whole cluster');
    });

    test('answers ALREADY_EXISTS for the same name with another size', async () => {
      await start();
      await create('pvc-1');
      await rejectsWith(create('pvc-1', { capacity_range: { required_bytes: 200 * MiB } }), status.ALREADY_EXISTS, /size/);
    });

    test('rounds to extents and answers OUT_OF_RANGE when the rounded size passes limit_bytes', async () => {
      await start();
      await rejectsWith(create('pvc-1', { capacity_range: { required_bytes: 100 * MiB + 1, limit_bytes: 102 * MiB } }), status.OUT_OF_RANGE, /limit_bytes/);
      await rejectsWith(create('pvc-2', { capacity_range: { required_bytes: 200 * MiB, limit_bytes: 100 * MiB } }), status.OUT_OF_RANGE);
      const ok = await create('pvc-3', { capacity_range: { required_bytes: 100 * MiB + 1, limit_bytes: 104 * MiB } });
      assert.equal(ok.volume?.capacity_bytes, 104 * MiB);
      const defaulted = await create('pvc-4', { capacity_range: null });
      assert.equal(defaulted.volume?.capacity_bytes, GiB, 'no range: the default size');
      assert.deepEqual(cluster.agents.flatMap((a) => a.lvm.names()).sort(), [buildAgentId('pvc-3', 'volume'), buildAgentId('pvc-4', 'volume')].sort());
    });

    test('gives xfs at least its 300 MiB minimum, and OUT_OF_RANGE when the limit forbids it', async () => {
      await start();
      const xfs = await create('xfs-1', { volume_capabilities: [XFS_RWO] });
      assert.equal(xfs.volume?.capacity_bytes, 300 * MiB);
      const byParameter = await create('xfs-2', { volume_capabilities: [EXT4_RWO], parameters: { fsType: 'xfs' } });
      assert.equal(byParameter.volume?.capacity_bytes, 100 * MiB, 'the capability names ext4, which wins over the parameter');
      const defaulted = await create('xfs-3', { volume_capabilities: [{ mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }], parameters: { fsType: 'xfs' } });
      assert.equal(defaulted.volume?.capacity_bytes, 300 * MiB, 'fsType from the StorageClass');
      await rejectsWith(create('xfs-4', { volume_capabilities: [XFS_RWO], capacity_range: { required_bytes: 100 * MiB, limit_bytes: 200 * MiB } }), status.OUT_OF_RANGE, /minimum/);
    });

    test('refuses unknown parameters, missing name or capabilities, and filesystems written from several nodes', async () => {
      await start();
      await rejectsWith(create('pvc-1', { parameters: { tire: 'ssd' } }), status.INVALID_ARGUMENT, /tire/);
      await rejectsWith(create(''), status.INVALID_ARGUMENT, /name/);
      await rejectsWith(create('pvc-1', { volume_capabilities: [] }), status.INVALID_ARGUMENT, /volume_capabilities/);
      await rejectsWith(create('pvc-1', { volume_capabilities: [EXT4_RWX] }), status.INVALID_ARGUMENT, /Block/);
      assert.ok(await create('pvc-1', { volume_capabilities: [BLOCK_RWX] }));
      assert.ok(await create('n'.repeat(128)), 'a 128-byte name is fine');
      await rejectsWith(create('n'.repeat(129)), status.INVALID_ARGUMENT);
      await rejectsWith(create('pvc-\uFFFD'), status.INVALID_ARGUMENT, /U\+FFFD/);
      assert.ok(await create('csi-meta', { parameters: { 'csi.storage.k8s.io/pvc/name': 'data' } }), "the sidecar's keys are ignored");
    });

    test('restores a snapshot and clones a volume on the source node, keeping the content source in the answer', async () => {
      await start([{ name: 'store-a', utilization: 0.9 }, { name: 'store-b', utilization: 0.1 }]);
      const src = await create('src');
      assert.equal(nodeOf(src.volume?.volume_id ?? ''), 'store-b');
      cluster.agent('store-a').load.utilization = 0;
      cluster.agent('store-b').load.utilization = 0.9;
      const snap = await csi.controller.createSnapshot({ name: 'snap-1', source_volume_id: src.volume?.volume_id ?? '' });
      const snapshotId = snap.snapshot?.snapshot_id ?? '';
      const restored = await create('restored', { capacity_range: { required_bytes: 200 * MiB }, volume_content_source: { snapshot: { snapshot_id: snapshotId } } });
      assert.equal(nodeOf(restored.volume?.volume_id ?? ''), 'store-b', "on the snapshot's node though store-a is idler");
      assert.equal(restored.volume?.capacity_bytes, 200 * MiB);
      assert.deepEqual(restored.volume?.content_source, { snapshot: { snapshot_id: snapshotId }, type: 'snapshot' });
      const clone = await create('clone', { capacity_range: null, volume_content_source: { volume: { volume_id: src.volume?.volume_id ?? '' } } });
      assert.equal(nodeOf(clone.volume?.volume_id ?? ''), 'store-b');
      assert.equal(clone.volume?.capacity_bytes, 100 * MiB, "no range: the source's size");
      assert.deepEqual(clone.volume?.content_source, { volume: { volume_id: src.volume?.volume_id }, type: 'volume' });
      assert.deepEqual(await create('clone', { capacity_range: null, volume_content_source: { volume: { volume_id: src.volume?.volume_id ?? '' } } }), clone, 'idempotent');
      await rejectsWith(create('clone', { capacity_range: null }), status.ALREADY_EXISTS, /content source/);
    });

    test('answers NOT_FOUND for a source on a removed node or missing on its node, UNAVAILABLE on a node that does not answer', async () => {
      await start();
      await rejectsWith(create('r', { volume_content_source: { snapshot: { snapshot_id: `store-z/${buildAgentId('s', 'snapshot')}` } } }), status.UNAVAILABLE, /store-z is not answering/);
      await cluster.removed.add({ name: 'store-z', note: '' });
      await rejectsWith(create('r', { volume_content_source: { snapshot: { snapshot_id: `store-z/${buildAgentId('s', 'snapshot')}` } } }), status.NOT_FOUND, /declared removed/);
      await rejectsWith(create('r', { volume_content_source: { snapshot: { snapshot_id: `store-a/${buildAgentId('s', 'snapshot')}` } } }), status.NOT_FOUND);
      await rejectsWith(create('r', { volume_content_source: { volume: { volume_id: 'garbage' } } }), status.NOT_FOUND);
    });

    test('answers accessible_topology with the zone of the chosen node and honours requisite zones', async () => {
      await start([{ name: 'store-a', labels: { zone: 'zone-a' } }, { name: 'store-b', labels: { zone: 'zone-b' }, utilization: 0.9 }]);
      const anywhere = await create('anywhere');
      assert.deepEqual(anywhere.volume?.accessible_topology, [{ segments: { [TOPOLOGY_ZONE_KEY]: 'zone-a' } }]);
      const inB = await create('in-b', { accessibility_requirements: { requisite: [{ segments: { [TOPOLOGY_ZONE_KEY]: 'zone-b' } }], preferred: [] } });
      assert.equal(nodeOf(inB.volume?.volume_id ?? ''), 'store-b');
      assert.deepEqual(inB.volume?.accessible_topology, [{ segments: { [TOPOLOGY_ZONE_KEY]: 'zone-b' } }]);
      await rejectsWith(create('in-c', { accessibility_requirements: { requisite: [{ segments: { [TOPOLOGY_ZONE_KEY]: 'zone-c' } }], preferred: [] } }), status.RESOURCE_EXHAUSTED);
    });

    test('selects nodes by tier and nodeLabels parameters', async () => {
      await start([{ name: 'store-a', labels: { tier: 'hdd' } }, { name: 'store-b', labels: { tier: 'ssd', rack: 'r1' }, utilization: 0.9 }]);
      assert.equal(nodeOf((await create('fast', { parameters: { tier: 'ssd' } })).volume?.volume_id ?? ''), 'store-b');
      assert.equal(nodeOf((await create('rack', { parameters: { nodeLabels: 'rack=r1' } })).volume?.volume_id ?? ''), 'store-b');
      await rejectsWith(create('none', { parameters: { tier: 'nvme' } }), status.RESOURCE_EXHAUSTED);
    });

    test('waits (UNAVAILABLE) while an agent that may hold the name has just gone silent, and creates nothing', async () => {
      await start([{ name: 'store-a' }, { name: 'store-b', utilization: 0.9 }]);
      await csi.controller.getCapacity({ volume_capabilities: [], parameters: {} });
      cluster.agent('store-a').down = 'connection refused';
      await rejectsWith(create('pvc-1'), status.UNAVAILABLE, /store-a .*may hold it/);
      assert.deepEqual(cluster.agents.flatMap((a) => a.lvm.names()), [], 'no second copy was risked');
    });

    test('leaves an agent silent for longer than the name guard out without failing the call', async () => {
      await start([{ name: 'store-a' }, { name: 'store-b', utilization: 0.9 }], 0, 0);
      cluster.agent('store-a').down = 'connection refused';
      const vol = await create('pvc-1');
      assert.equal(nodeOf(vol.volume?.volume_id ?? ''), 'store-b');
      assert.ok(cluster.lines.some((l) => l.includes('unreachable')), 'the exclusion is logged');
    });
  });

  describe("the CSI call's cancellation", () => {
    test('reaches the agent: every agent call of a CSI call gets its signal, and a CO deadline aborts the agent call', async () => {
      await start([{ name: 'store-a' }]);
      const agent = cluster.agent('store-a');
      const created = await create('pvc-1');
      const volumeId = created.volume?.volume_id ?? '';
      const from = agent.calls.length;
      await csi.controller.controllerGetVolume({ volume_id: volumeId });
      const signals = agent.signals.slice(from).filter((_s, i) => agent.calls[from + i] !== 'getNodeStatus');
      assert.ok(signals.length > 0 && signals.every((s) => s instanceof AbortSignal), 'every volume call carried a signal');

      let heldSignal: AbortSignal | undefined;
      const released = new Promise<void>((resolve) => {
        agent.beforeCall = async (method, signal) => {
          if (method !== 'getVolume') return;
          heldSignal = signal;
          // An agent stuck behind its VG mutex: only the cancellation lets it go.
          await new Promise<void>((done) => signal?.addEventListener('abort', () => done(), { once: true }));
          resolve();
        };
      });
      const impatient = connectCsi(address, 300);
      try {
        await rejectsWith(impatient.controller.controllerGetVolume({ volume_id: volumeId }), status.DEADLINE_EXCEEDED);
        await released; // never settles (the test times out) unless the CO's deadline reached the agent call
        assert.equal(heldSignal?.aborted, true);
      } finally {
        agent.beforeCall = undefined;
        impatient.close();
      }
    });
  });

  describe('DeleteVolume', () => {
    test('succeeds for garbage ids, unknown volumes, volumes of removed nodes, and twice', async () => {
      await start();
      await csi.controller.deleteVolume({ volume_id: 'garbage' });
      await csi.controller.deleteVolume({ volume_id: `store-a/${buildAgentId('nope', 'volume')}` });
      await cluster.removed.add({ name: 'store-z', note: '' });
      await csi.controller.deleteVolume({ volume_id: `store-z/${buildAgentId('nope', 'volume')}` });
      const vol = await create('pvc-1');
      const id = vol.volume?.volume_id ?? '';
      await csi.controller.deleteVolume({ volume_id: id });
      await csi.controller.deleteVolume({ volume_id: id });
      assert.deepEqual(cluster.agents.flatMap((a) => a.lvm.names()), []);
      await rejectsWith(csi.controller.deleteVolume({ volume_id: '' }), status.INVALID_ARGUMENT);
    });

    test('answers FAILED_PRECONDITION while published, UNAVAILABLE (never OK) when its agent is unreachable', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false });
      await rejectsWith(csi.controller.deleteVolume({ volume_id: id }), status.FAILED_PRECONDITION, /published/);
      await csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: WORKER_1 });
      const agent = cluster.agent(nodeOf(id) ?? '');
      agent.down = 'connection refused';
      await rejectsWith(csi.controller.deleteVolume({ volume_id: id }), status.UNAVAILABLE);
      assert.equal(agent.lvm.names().length, 1);
      agent.down = undefined;
      await csi.controller.deleteVolume({ volume_id: id });
      assert.deepEqual(agent.lvm.names(), []);
    });
  });

  describe('ControllerPublishVolume and ControllerUnpublishVolume', () => {
    test('answers NOT_FOUND for an unknown volume or a node id that is not an IQN, INVALID_ARGUMENT without a capability', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const publish = (volumeId: string, nodeId: string, cap: VolumeCapability | null = BLOCK_RWO) =>
        csi.controller.controllerPublishVolume({ volume_id: volumeId, node_id: nodeId, volume_capability: cap, readonly: false });
      await rejectsWith(publish(`store-a/${buildAgentId('nope', 'volume')}`, WORKER_1), status.NOT_FOUND);
      await rejectsWith(publish('garbage', WORKER_1), status.NOT_FOUND);
      await rejectsWith(publish(`store-z/${buildAgentId('nope', 'volume')}`, WORKER_1), status.UNAVAILABLE, /store-z is not answering/);
      await cluster.removed.add({ name: 'store-z', note: '' });
      await rejectsWith(publish(`store-z/${buildAgentId('nope', 'volume')}`, WORKER_1), status.NOT_FOUND, /declared removed/);
      await rejectsWith(publish(id, 'worker-1'), status.NOT_FOUND, /iqn/);
      await rejectsWith(publish(id, WORKER_1, null), status.INVALID_ARGUMENT, /volume_capability/);
      await rejectsWith(publish('', WORKER_1), status.INVALID_ARGUMENT);
      await rejectsWith(publish(id, ''), status.INVALID_ARGUMENT);
    });

    test('answers FAILED_PRECONDITION naming both Kubernetes nodes when two registered the node id, before any ACL is written', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      cluster.nodeIdGuard = duplicateNodeIdGuard({
        list: async () => [
          { node: 'k8s-worker-a', nodeId: WORKER_1 },
          { node: 'k8s-worker-b', nodeId: WORKER_1 },
          { node: 'k8s-worker-c', nodeId: WORKER_2 },
        ],
      });
      cluster.service = cluster.newService(cluster.nodes);
      await close();
      ({ csi, close, address } = await serveController(cluster));
      await rejectsWith(
        csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false }),
        status.FAILED_PRECONDITION,
        /registered by 2 Kubernetes nodes: k8s-worker-a and k8s-worker-b/,
      );
      assert.ok(!cluster.agent(nodeOf(id) ?? '').calls.includes('exportVolume'), 'no ACL was written');
      await rejectsWith(
        csi.controller.controllerPublishVolume({ volume_id: '', node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false }),
        status.INVALID_ARGUMENT,
        undefined,
      );
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_2, volume_capability: BLOCK_RWO, readonly: false });
    });

    test('returns a publish_context with portal, IQN, LUN, serial and the agent address (no CHAP) that parsePublishContext reads back; idempotent', async () => {
      await start();
      const vol = (await create('pvc-1')).volume;
      const id = vol?.volume_id ?? '';
      const agent = cluster.agent(nodeOf(id) ?? '');
      const res = await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: EXT4_RWO, readonly: false });
      const ctx = parsePublishContext(res.publish_context);
      const agentVolume = await agent.volumes.getVolume(parseVolumeId(id)?.id ?? '');
      assert.equal(ctx.targetPortal, `${agentVolume.target.portal.ip}:3260`);
      assert.equal(ctx.targetIqn, agentVolume.target.iqn);
      assert.equal(ctx.lun, 0);
      assert.equal(ctx.serial, agentVolume.target.serial);
      assert.ok(/^[^:]+:\d+$/.test(ctx.agentAddress), ctx.agentAddress);
      assert.deepEqual(Object.keys(res.publish_context).filter((k) => /chap|pass|secret/i.test(k)), [], 'no secret in publish_context (stored in plain text by Kubernetes)');
      assert.deepEqual(agentVolume.initiators, [{ iqn: WORKER_1, readOnly: false, mutualChap: true }], 'mutual CHAP for new exports');
      const again = await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: EXT4_RWO, readonly: false });
      assert.deepEqual(again, res);
    });

    test('keeps the non-mutual ACL of an export made before mutual CHAP was turned on', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const agent = cluster.agent(nodeOf(id) ?? '');
      const lvId = parseVolumeId(id)?.id ?? '';
      await agent.volumes.exportVolume({ volumeId: lvId, initiatorIqn: WORKER_1, readOnly: false, mutualChap: false });
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: EXT4_RWO, readonly: false });
      assert.deepEqual((await agent.volumes.getVolume(lvId)).initiators, [{ iqn: WORKER_1, readOnly: false, mutualChap: false }]);
    });

    test('refuses a single-node volume on a second node (FAILED_PRECONDITION) and another read-only-ness on the same node (ALREADY_EXISTS)', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false });
      await rejectsWith(csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_2, volume_capability: BLOCK_RWO, readonly: false }), status.FAILED_PRECONDITION);
      await rejectsWith(csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: true }), status.ALREADY_EXISTS);
    });

    test('publishes a multi-node block volume to two nodes, and ListVolumes and ControllerGetVolume show both', async () => {
      await start();
      const id = (await create('pvc-1', { volume_capabilities: [BLOCK_RWX] })).volume?.volume_id ?? '';
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWX, readonly: false });
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_2, volume_capability: BLOCK_RWX, readonly: false });
      const listed = await csi.controller.listVolumes({ max_entries: 0, starting_token: '' });
      assert.deepEqual(listed.entries.map((e) => [e.volume?.volume_id, [...(e.status?.published_node_ids ?? [])].sort()]), [[id, [WORKER_1, WORKER_2]]]);
      const got = await csi.controller.controllerGetVolume({ volume_id: id });
      assert.deepEqual([...(got.status?.published_node_ids ?? [])].sort(), [WORKER_1, WORKER_2]);
      assert.equal(got.volume?.volume_id, id);
    });

    test('publishes a read-only multi-node mount read-only', async () => {
      await start();
      const id = (await create('pvc-1', { volume_capabilities: [EXT4_ROX] })).volume?.volume_id ?? '';
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: EXT4_ROX, readonly: false });
      const agentVolume = await cluster.agent(nodeOf(id) ?? '').volumes.getVolume(parseVolumeId(id)?.id ?? '');
      assert.deepEqual(agentVolume.initiators, [{ iqn: WORKER_1, readOnly: true, mutualChap: true }]);
    });

    test('unpublish removes the ACL, is idempotent, empties all with no node id, and succeeds for an unknown volume', async () => {
      await start();
      const id = (await create('pvc-1', { volume_capabilities: [BLOCK_RWX] })).volume?.volume_id ?? '';
      const agent = cluster.agent(nodeOf(id) ?? '');
      const lvId = parseVolumeId(id)?.id ?? '';
      const iqns = async () => (await agent.volumes.getVolume(lvId)).initiators.map((i) => i.iqn).sort();
      for (const node of [WORKER_1, WORKER_2]) await csi.controller.controllerPublishVolume({ volume_id: id, node_id: node, volume_capability: BLOCK_RWX, readonly: false });
      await csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: WORKER_1 });
      assert.deepEqual(await iqns(), [WORKER_2]);
      await csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: WORKER_1 });
      assert.deepEqual(await iqns(), [WORKER_2]);
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWX, readonly: false });
      await csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: '' });
      assert.deepEqual(await iqns(), []);
      const exported = await agent.lio.readExport((await agent.volumes.getVolume(lvId)).target.iqn);
      assert.deepEqual(exported?.acls, [], 'no ACL left in LIO');
      await csi.controller.controllerUnpublishVolume({ volume_id: `store-a/${buildAgentId('nope', 'volume')}`, node_id: WORKER_1 });
      await csi.controller.controllerUnpublishVolume({ volume_id: 'garbage', node_id: WORKER_1 });
      agent.down = 'connection refused';
      await rejectsWith(csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: WORKER_1 }), status.UNAVAILABLE);
    });

    test('never writes the CHAP passwords of the ACL it made to the log', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false });
      const { chap } = await cluster.agent(nodeOf(id) ?? '').volumes.chapCredentials({ volumeId: parseVolumeId(id)?.id ?? '', initiatorIqn: WORKER_1 });
      const password = chap.password;
      assert.ok(password.length > 0 && chap.mutual !== undefined);
      assert.equal(cluster.lines.filter((l) => l.includes(chap.mutual?.password ?? '-')).length, 0);
      assert.ok(cluster.lines.some((l) => l.includes('"level":20')), 'debug lines were captured');
      assert.ok(cluster.lines.some((l) => l.includes('ControllerPublishVolume')));
      assert.equal(cluster.lines.filter((l) => l.includes(password)).length, 0);
    });
  });

  describe('a storage node that does not answer', () => {
    /** Restarts the controller (new locks, reservations and StorageNodes; the same agents and removed record). */
    const restartController = async () => {
      cluster.nodes.stop();
      cluster.nodes = cluster.newNodes();
      cluster.service = cluster.newService(cluster.nodes);
      await close();
      ({ csi, close, address } = await serveController(cluster));
    };
    const withoutAgent = (name: string) => {
      const address = cluster.agent(name).address;
      cluster.discover = async () => cluster.agents.map((a) => a.address).filter((a) => a !== address);
    };
    const allDiscovered = () => {
      cluster.discover = async () => cluster.agents.map((a) => a.address);
    };

    test('an agent gone from discovery: unpublish, delete and every other change are UNAVAILABLE and nothing is touched, also after a controller restart', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const node = nodeOf(id) ?? '';
      const agent = cluster.agent(node);
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false });
      const snap = (await csi.controller.createSnapshot({ name: 'snap-1', source_volume_id: id })).snapshot?.snapshot_id ?? '';
      const lvsBefore = agent.lvm.names().sort();
      // Its pod is not ready: the headless Service stops answering with its address.
      withoutAgent(node);
      await cluster.nodes.refresh();
      for (const round of ['the controller that saw it', 'a controller started while it is away']) {
        // A create (snapshot, clone) first looks for its name on every node and waits for the silent one.
        const unavailable = async (what: string, call: Promise<unknown>) => rejectsWith(call, status.UNAVAILABLE, new RegExp(`${node} is not answering.*vbs-csi nodes remove ${node}|${node} \\(silent for`)).catch((err: Error) => {
          throw new Error(`${round}, ${what}: ${err.message}`);
        });
        await unavailable('unpublish', csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: WORKER_1 }));
        await unavailable('unpublish from every node', csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: '' }));
        await unavailable('delete', csi.controller.deleteVolume({ volume_id: id }));
        await unavailable('delete snapshot', csi.controller.deleteSnapshot({ snapshot_id: snap }));
        await unavailable('publish', csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_2, volume_capability: BLOCK_RWX, readonly: false }));
        await unavailable('expand', csi.controller.controllerExpandVolume({ volume_id: id, capacity_range: { required_bytes: 200 * MiB } }));
        await unavailable('get', csi.controller.controllerGetVolume({ volume_id: id }));
        await unavailable('validate', csi.controller.validateVolumeCapabilities({ volume_id: id, volume_capabilities: [BLOCK_RWO] }));
        await unavailable('snapshot', csi.controller.createSnapshot({ name: 'snap-2', source_volume_id: id }));
        await unavailable('clone', create('clone', { volume_content_source: { volume: { volume_id: id } } }));
        await unavailable('list snapshots of it', csi.controller.listSnapshots({ snapshot_id: snap }));
        const health = await csi.controller.controllerGetVolumeHealth({ volume_id: id });
        assert.deepEqual(health.volume_health?.health_statuses.map((h) => h.status), ['INACCESSIBLE'], `${round}: its health says why`);
        if (round === 'the controller that saw it') {
          await rejectsWith(csi.controller.listVolumes({}), status.UNAVAILABLE, new RegExp(`${node}.*no longer discovered`));
          await rejectsWith(csi.controller.listSnapshots({}), status.UNAVAILABLE);
        }
        assert.deepEqual(agent.lvm.names().sort(), lvsBefore, `${round}: no LV was removed`);
        assert.deepEqual((await agent.getVolume(parseVolumeId(id)?.id ?? '')).initiators.map((i) => i.iqn), [WORKER_1], `${round}: the ACL is still there`);
        assert.ok(!agent.calls.includes('unexportVolume') && !agent.calls.includes('deleteVolume'), `${round}: the agent was never asked`);
        await restartController();
      }
      // Back in discovery: the same calls do what they say.
      allDiscovered();
      await csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: WORKER_1 });
      assert.deepEqual((await agent.getVolume(parseVolumeId(id)?.id ?? '')).initiators, [], 'the ACL is gone');
      await csi.controller.deleteSnapshot({ snapshot_id: snap });
      await csi.controller.deleteVolume({ volume_id: id });
      assert.deepEqual(agent.lvm.names(), [], 'the LVs are gone');
    });

    test('a node declared removed: unpublish and deletes are OK, the rest NOT_FOUND, lists go on without it, and a restart keeps it so', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const node = nodeOf(id) ?? '';
      const other = cluster.agents.find((a) => a.name !== node)!;
      const otherId = (await create('pvc-2', { accessibility_requirements: null, parameters: {} })).volume?.volume_id ?? '';
      await csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false });
      const snap = (await csi.controller.createSnapshot({ name: 'snap-1', source_volume_id: id })).snapshot?.snapshot_id ?? '';
      withoutAgent(node);
      await cluster.nodes.refresh();
      await cluster.removed.add({ name: node, note: 'hardware gone' });
      for (const round of ['declared while running', 'after a restart']) {
        const notFound = (what: string, call: Promise<unknown>) => rejectsWith(call, status.NOT_FOUND, /declared removed/).catch((err: Error) => {
          throw new Error(`${round}, ${what}: ${err.message}`);
        });
        await csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: WORKER_1 });
        await csi.controller.deleteSnapshot({ snapshot_id: snap });
        await csi.controller.deleteVolume({ volume_id: id });
        await notFound('publish', csi.controller.controllerPublishVolume({ volume_id: id, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false }));
        await notFound('get', csi.controller.controllerGetVolume({ volume_id: id }));
        await notFound('expand', csi.controller.controllerExpandVolume({ volume_id: id, capacity_range: { required_bytes: 200 * MiB } }));
        await notFound('health', csi.controller.controllerGetVolumeHealth({ volume_id: id }));
        await notFound('snapshot', csi.controller.createSnapshot({ name: 'snap-2', source_volume_id: id }));
        await notFound('restore', create('restored', { volume_content_source: { snapshot: { snapshot_id: snap } } }));
        assert.deepEqual((await csi.controller.listSnapshots({ snapshot_id: snap })).entries, []);
        const listed = (await csi.controller.listVolumes({})).entries.map((e) => e.volume?.volume_id ?? '');
        assert.ok(listed.every((v) => nodeOf(v) === other.name), `${round}: the list goes on without it: ${listed.join(', ')}`);
        if (nodeOf(otherId) === other.name) assert.ok(listed.includes(otherId));
        const placed = (await create(`new-${round.length}`)).volume?.volume_id ?? '';
        assert.equal(nodeOf(placed), other.name, `${round}: new volumes go elsewhere`);
        await restartController();
      }
    });

    test('a removed node that answers again gets no new volume, and its volumes are really deleted', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const node = nodeOf(id) ?? '';
      await cluster.removed.add({ name: node, note: '' });
      await cluster.nodes.refresh();
      for (let i = 0; i < 4; i++) assert.notEqual(nodeOf((await create(`more-${i}`)).volume?.volume_id ?? ''), node);
      assert.ok(cluster.lines.some((l) => l.includes('a storage node declared removed answers')));
      await csi.controller.deleteVolume({ volume_id: id });
      assert.deepEqual(cluster.agent(node).lvm.names(), [], 'the delete reached it');
    });
  });

  describe('ControllerExpandVolume', () => {
    test('grows to whole extents, never shrinks, and asks the node to expand filesystems and block devices alike', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const block = await csi.controller.controllerExpandVolume({ volume_id: id, capacity_range: { required_bytes: 150 * MiB + 1 }, volume_capability: BLOCK_RWO });
      // A block volume's device on the node keeps its old size until NodeExpandVolume rescans and reloads it.
      assert.deepEqual(block, { capacity_bytes: 152 * MiB, node_expansion_required: true });
      const mount = await csi.controller.controllerExpandVolume({ volume_id: id, capacity_range: { required_bytes: 200 * MiB }, volume_capability: EXT4_RWO });
      assert.deepEqual(mount, { capacity_bytes: 200 * MiB, node_expansion_required: true });
      const smaller = await csi.controller.controllerExpandVolume({ volume_id: id, capacity_range: { required_bytes: 50 * MiB }, volume_capability: BLOCK_RWO });
      assert.equal(smaller.capacity_bytes, 200 * MiB);
      assert.equal((await csi.controller.controllerGetVolume({ volume_id: id })).volume?.capacity_bytes, 200 * MiB);
    });

    test('answers NOT_FOUND for an unknown volume and INVALID_ARGUMENT without capacity_range', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      await rejectsWith(csi.controller.controllerExpandVolume({ volume_id: `store-a/${buildAgentId('nope', 'volume')}`, capacity_range: { required_bytes: GiB } }), status.NOT_FOUND);
      await rejectsWith(csi.controller.controllerExpandVolume({ volume_id: 'garbage', capacity_range: { required_bytes: GiB } }), status.NOT_FOUND);
      await rejectsWith(csi.controller.controllerExpandVolume({ volume_id: id }), status.INVALID_ARGUMENT, /capacity_range/);
      await rejectsWith(csi.controller.controllerExpandVolume({ volume_id: id, capacity_range: { required_bytes: 150 * MiB, limit_bytes: 149 * MiB } }), status.OUT_OF_RANGE);
    });
  });

  describe('snapshots', () => {
    test('creates, lists and deletes snapshots ready to use with size and creation time', async () => {
      await start();
      const volumeId = (await create('pvc-1')).volume?.volume_id ?? '';
      const before = Math.floor(Date.now() / 1000);
      const snap = (await csi.controller.createSnapshot({ name: 'snap-1', source_volume_id: volumeId })).snapshot;
      assert.equal(snap?.source_volume_id, volumeId);
      assert.equal(snap?.ready_to_use, true);
      assert.equal(snap?.size_bytes, 100 * MiB);
      assert.ok(Number(snap?.creation_time?.seconds) >= before - 1);
      assert.equal(parseSnapshotId(snap?.snapshot_id ?? '')?.node, nodeOf(volumeId));
      assert.deepEqual((await csi.controller.createSnapshot({ name: 'snap-1', source_volume_id: volumeId })).snapshot, snap, 'idempotent');
      const listed = await csi.controller.listSnapshots({ max_entries: 0, starting_token: '', snapshot_id: '', source_volume_id: '' });
      assert.deepEqual(listed.entries.map((e) => e.snapshot), [snap]);
      await csi.controller.deleteSnapshot({ snapshot_id: snap?.snapshot_id ?? '' });
      await csi.controller.deleteSnapshot({ snapshot_id: snap?.snapshot_id ?? '' });
      await csi.controller.deleteSnapshot({ snapshot_id: 'garbage' });
      assert.deepEqual((await csi.controller.listSnapshots({})).entries, []);
    });

    test('answers ALREADY_EXISTS for a name taken by a snapshot of another volume, NOT_FOUND for an unknown source', async () => {
      await start();
      const a = (await create('pvc-a')).volume?.volume_id ?? '';
      const b = (await create('pvc-b')).volume?.volume_id ?? '';
      await csi.controller.createSnapshot({ name: 'snap-1', source_volume_id: a });
      await rejectsWith(csi.controller.createSnapshot({ name: 'snap-1', source_volume_id: b }), status.ALREADY_EXISTS);
      await rejectsWith(csi.controller.createSnapshot({ name: 'snap-2', source_volume_id: `store-a/${buildAgentId('nope', 'volume')}` }), status.NOT_FOUND);
      await rejectsWith(csi.controller.createSnapshot({ name: 'snap-2', source_volume_id: 'garbage' }), status.NOT_FOUND);
      await rejectsWith(csi.controller.createSnapshot({ name: '', source_volume_id: a }), status.INVALID_ARGUMENT);
      await rejectsWith(csi.controller.createSnapshot({ name: 'snap-3', source_volume_id: '' }), status.INVALID_ARGUMENT);
    });

    test('filters by snapshot_id and source_volume_id, unknown ids giving an empty list', async () => {
      await start();
      const a = (await create('pvc-a')).volume?.volume_id ?? '';
      const b = (await create('pvc-b')).volume?.volume_id ?? '';
      const sa = (await csi.controller.createSnapshot({ name: 'snap-a', source_volume_id: a })).snapshot?.snapshot_id ?? '';
      const sb = (await csi.controller.createSnapshot({ name: 'snap-b', source_volume_id: b })).snapshot?.snapshot_id ?? '';
      const ids = async (req: { snapshot_id?: string; source_volume_id?: string }) => (await csi.controller.listSnapshots(req)).entries.map((e) => e.snapshot?.snapshot_id);
      assert.deepEqual(await ids({ snapshot_id: sa }), [sa]);
      assert.deepEqual(await ids({ source_volume_id: b }), [sb]);
      assert.deepEqual(await ids({ snapshot_id: sa, source_volume_id: b }), []);
      assert.deepEqual(await ids({ snapshot_id: `store-a/${buildAgentId('nope', 'snapshot')}` }), []);
      await rejectsWith(ids({ snapshot_id: `store-z/${buildAgentId('nope', 'snapshot')}` }), status.UNAVAILABLE);
      await cluster.removed.add({ name: 'store-z', note: '' });
      assert.deepEqual(await ids({ snapshot_id: `store-z/${buildAgentId('nope', 'snapshot')}` }), []);
      assert.deepEqual(await ids({ source_volume_id: `store-z/${buildAgentId('nope', 'volume')}` }), []);
      assert.deepEqual(await ids({ snapshot_id: 'garbage' }), []);
      assert.deepEqual(await ids({ source_volume_id: 'garbage' }), []);
      assert.deepEqual(await ids({ source_volume_id: `store-b/${buildAgentId('nope', 'volume')}` }), []);
    });
  });

  describe('pagination', () => {
    test('ListVolumes and ListSnapshots page with max_entries and next_token, and answer ABORTED for a token they never gave', async () => {
      await start();
      const volumeIds: string[] = [];
      for (let i = 0; i < 5; i++) volumeIds.push((await create(`pvc-${i}`)).volume?.volume_id ?? '');
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await csi.controller.listVolumes({ max_entries: 2, starting_token: token });
        assert.ok(page.entries.length <= 2);
        seen.push(...page.entries.map((e) => e.volume?.volume_id ?? ''));
        token = page.next_token;
        pages++;
      } while (token !== '');
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...volumeIds].sort());
      await rejectsWith(csi.controller.listVolumes({ max_entries: 2, starting_token: 'bogus' }), status.ABORTED);

      for (let i = 0; i < 3; i++) await csi.controller.createSnapshot({ name: `snap-${i}`, source_volume_id: volumeIds[0] ?? '' });
      const first = await csi.controller.listSnapshots({ max_entries: 2 });
      assert.equal(first.entries.length, 2);
      assert.notEqual(first.next_token, '');
      const second = await csi.controller.listSnapshots({ max_entries: 2, starting_token: first.next_token });
      assert.equal(second.entries.length, 1);
      assert.equal(second.next_token, '');
      await rejectsWith(csi.controller.listSnapshots({ max_entries: 2, starting_token: 'bogus' }), status.ABORTED);
    });

    test('ListVolumes answers UNAVAILABLE rather than a partial list when an agent does not answer', async () => {
      await start();
      await create('pvc-1');
      cluster.agent('store-a').down = 'connection refused';
      await rejectsWith(csi.controller.listVolumes({}), status.UNAVAILABLE);
    });
  });

  describe('GetCapacity, ValidateVolumeCapabilities and ControllerGetCapabilities', () => {
    test('GetCapacity sums what eligible nodes can still promise, by tier, nodeLabels and zone', async () => {
      await start([
        { name: 'store-a', labels: { tier: 'ssd', zone: 'zone-a' } },
        { name: 'store-b', labels: { tier: 'hdd', zone: 'zone-a' }, poolSizeBytes: 512 * MiB },
        { name: 'store-c', labels: { tier: 'ssd', zone: 'zone-c' }, poolSizeBytes: 256 * MiB },
      ]);
      const capacity = async (parameters: Record<string, string>, zone?: string) => {
        const res = await csi.controller.getCapacity({ parameters, volume_capabilities: [BLOCK_RWO], ...(zone ? { accessible_topology: { segments: { [TOPOLOGY_ZONE_KEY]: zone } } } : {}) });
        return [res.available_capacity, res.maximum_volume_size?.value];
      };
      assert.deepEqual(await capacity({}), [GiB + 512 * MiB + 256 * MiB, GiB]);
      assert.deepEqual(await capacity({ tier: 'ssd' }), [GiB + 256 * MiB, GiB]);
      assert.deepEqual(await capacity({ nodeLabels: 'tier=hdd' }), [512 * MiB, 512 * MiB]);
      assert.deepEqual(await capacity({ tier: 'ssd' }, 'zone-c'), [256 * MiB, 256 * MiB]);
      assert.deepEqual(await capacity({}, 'zone-x'), [0, 0]);
      await create('pvc-1', { parameters: { tier: 'hdd' } });
      assert.deepEqual(await capacity({ tier: 'hdd' }), [412 * MiB, 412 * MiB]);
      await rejectsWith(csi.controller.getCapacity({ parameters: { tire: 'ssd' } }), status.INVALID_ARGUMENT);
    });

    test('ValidateVolumeCapabilities confirms what is supported, not the rest, and answers NOT_FOUND for unknown volumes', async () => {
      await start();
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const ok = await csi.controller.validateVolumeCapabilities({ volume_id: id, volume_capabilities: [BLOCK_RWO, EXT4_RWO] });
      assert.equal(ok.confirmed?.volume_capabilities.length, 2);
      const rwxMount = await csi.controller.validateVolumeCapabilities({ volume_id: id, volume_capabilities: [EXT4_RWX] });
      assert.equal(rwxMount.confirmed, null);
      assert.match(rwxMount.message, /Block/);
      const badParam = await csi.controller.validateVolumeCapabilities({ volume_id: id, volume_capabilities: [BLOCK_RWO], parameters: { tire: 'x' } });
      assert.equal(badParam.confirmed, null);
      await rejectsWith(csi.controller.validateVolumeCapabilities({ volume_id: `store-a/${buildAgentId('nope', 'volume')}`, volume_capabilities: [BLOCK_RWO] }), status.NOT_FOUND);
      await rejectsWith(csi.controller.validateVolumeCapabilities({ volume_id: 'garbage', volume_capabilities: [BLOCK_RWO] }), status.NOT_FOUND);
      await rejectsWith(csi.controller.validateVolumeCapabilities({ volume_id: id, volume_capabilities: [] }), status.INVALID_ARGUMENT);
    });

    test('ControllerGetCapabilities lists exactly what is implemented; the rest is UNIMPLEMENTED', async () => {
      await start();
      const caps = (await csi.controller.controllerGetCapabilities({})).capabilities.map((c) => c.rpc?.type);
      assert.deepEqual(caps, [...CONTROLLER_CAPABILITIES]);
      for (const missing of ['MODIFY_VOLUME', 'GET_SNAPSHOT', 'LIST_VOLUME_HEALTH', 'VOLUME_CONDITION']) assert.ok(!caps.includes(missing as never), missing);
      const id = (await create('pvc-1')).volume?.volume_id ?? '';
      const health = await csi.controller.controllerGetVolumeHealth({ volume_id: id });
      assert.deepEqual(health.volume_health?.health_statuses, []);
      await rejectsWith(csi.controller.controllerGetVolumeHealth({ volume_id: 'garbage' }), status.NOT_FOUND);
    });
  });
});
