import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { buildAgentId } from '../agentApi/ids.ts';
import { TOPOLOGY_ZONE_KEY } from '../csi/nodeIds.ts';
import { parseMirrorPublishContext } from '../csi/publishContext.ts';
import type { Capability } from '../csi/volumeCapabilities.ts';
import { formatMirrorVolumeId, parseMirrorVolumeId } from '../csi/volumeIds.ts';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, OutOfRangeError, ResourceExhaustedError, UnavailableError } from '../errors.ts';
import { MIRROR_HEADER_BYTES, markOutOfSync } from '../replication/mirrorRecord.ts';
import { volumeToCsi } from './controllerHandlers.ts';
import type { CreateVolumeInput } from './ControllerService.ts';
import { MemoryCluster } from './testing/MemoryStorageAgent.ts';
import type { MemoryStorageAgentOptions } from './testing/MemoryStorageAgent.ts';
import { parseVolumeParameters } from './volumeParameters.ts';

const MiB = 1024 * 1024;
const BLOCK_RWO: Capability = { access: 'block', mode: 'SINGLE_NODE_WRITER' };
const BLOCK_RWX: Capability = { access: 'block', mode: 'MULTI_NODE_MULTI_WRITER' };
const WORKER_1 = 'iqn.1993-08.org.debian:01:worker-1';
const WORKER_2 = 'iqn.1993-08.org.debian:01:worker-2';

function input(name: string, replicas = 2, extra: Partial<CreateVolumeInput> = {}, sizeBytes = 100 * MiB): CreateVolumeInput {
  return {
    name,
    capacityRange: { requiredBytes: sizeBytes, limitBytes: 0 },
    capabilities: [BLOCK_RWO],
    parameters: parseVolumeParameters({ replicas: String(replicas) }),
    source: undefined,
    requisiteZones: undefined,
    preferredZones: undefined,
    ...extra,
  };
}

const THREE_ZONES: MemoryStorageAgentOptions[] = [
  { name: 'store-a', zone: 'za' },
  { name: 'store-b', zone: 'za' },
  { name: 'store-c', zone: 'zb' },
];

describe('replicated volumes in the controller', () => {
  let cluster: MemoryCluster;
  const start = (agents: readonly MemoryStorageAgentOptions[] = THREE_ZONES) => {
    cluster = new MemoryCluster(agents);
    return cluster.service;
  };
  afterEach(() => cluster.destroy());
  const id = (name: string) => buildAgentId(name, 'volume');

  describe('createVolume', () => {
    test('makes one copy per node, distinct zones first, every copy tagged with its slot and the first record', async () => {
      const service = start();
      const vol = await service.createVolume(input('pvc-1'));
      assert.equal(vol.volumeId, formatMirrorVolumeId(id('pvc-1')));
      assert.deepEqual(parseMirrorVolumeId(vol.volumeId), { id: id('pvc-1') });
      const copies = cluster.copies(id('pvc-1'));
      assert.deepEqual(Object.keys(copies).sort(), ['store-a', 'store-c'], 'one copy in each zone');
      const record = vol.mirror?.record;
      assert.equal(record?.generation, 1);
      assert.deepEqual(record?.copies.map((c) => c.inSync), [true, true]);
      for (const [node, copy] of Object.entries(copies)) {
        assert.equal(copy.sizeBytes, 100 * MiB, 'sizeBytes is the data size');
        assert.equal(record?.copies[copy.mirror!.slot]?.node, node, "the copy's slot names its node in the record");
        assert.deepEqual(copy.mirror?.record, record);
      }
      const csi = volumeToCsi(vol, false);
      assert.deepEqual(csi.accessible_topology, [{ segments: { [TOPOLOGY_ZONE_KEY]: 'za' } }, { segments: { [TOPOLOGY_ZONE_KEY]: 'zb' } }]);
      assert.deepEqual(csi.volume_context, { replicas: '2', copies: record?.copies.map((c) => c.node).join(','), provisioning: 'thin' });
    });

    test('answers the same volume to a retry, and ALREADY_EXISTS to another size, copy count or a replicas: 1 create', async () => {
      const service = start();
      const first = await service.createVolume(input('pvc-1'));
      const creates = () => cluster.agents.flatMap((a) => a.calls).filter((c) => c === 'createVolume').length;
      const before = creates();
      assert.deepEqual(await service.createVolume(input('pvc-1')), first);
      assert.equal(creates(), before + 2, 'the retry only re-creates its copies in place (the agent finds and exports them)');
      await assert.rejects(service.createVolume(input('pvc-1', 2, {}, 200 * MiB)), (err: unknown) => err instanceof AlreadyExistsError && /size/.test(err.message));
      await assert.rejects(service.createVolume(input('pvc-1', 3)), (err: unknown) => err instanceof AlreadyExistsError && /2 copies, not 3/.test(err.message));
      await assert.rejects(service.createVolume(input('pvc-1', 1)), (err: unknown) => err instanceof AlreadyExistsError && /replicated volume with 2 copies/.test(err.message));
      await service.createVolume(input('single', 1));
      await assert.rejects(service.createVolume(input('single', 2)), (err: unknown) => err instanceof AlreadyExistsError && /single-copy/.test(err.message));
    });

    test('a copy that fails removes the copies this call made, and the error is returned', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      cluster.agent('store-b').failNext('createVolume', new Error('lvcreate failed'));
      await assert.rejects(service.createVolume(input('pvc-1')), /lvcreate failed/);
      assert.deepEqual(cluster.copies(id('pvc-1')), {}, 'rolled back');
      assert.equal(service.reservationsHeld, 0, 'no bytes stay promised');
      const vol = await service.createVolume(input('pvc-1'));
      assert.equal(Object.keys(cluster.copies(id('pvc-1'))).length, 2, 'the retry makes both');
      assert.equal(vol.mirror?.copies.length, 2);
    });

    test('a retry after a crash between copies completes the set on exactly the nodes the record names', async () => {
      const service = start([{ name: 'store-a', zone: 'za' }, { name: 'store-b', zone: 'zb' }, { name: 'store-c', zone: 'zc' }]);
      // What a controller killed after copy 0 leaves: one copy whose record names store-b and store-c.
      const record = { generation: 1, copies: [{ node: 'store-b', inSync: true }, { node: 'store-c', inSync: true }], regionBytes: 2 * MiB };
      await cluster.agent('store-b').createVolume({ name: 'pvc-1', sizeBytes: 100 * MiB, thick: false, mirror: { slot: 0, record } });
      const vol = await service.createVolume(input('pvc-1'));
      assert.deepEqual(Object.keys(cluster.copies(id('pvc-1'))).sort(), ['store-b', 'store-c'], 'not on store-a, whatever placement would say now');
      assert.equal(cluster.agent('store-c').volumes.get(id('pvc-1'))?.mirror?.slot, 1);
      assert.deepEqual(vol.mirror?.record, record);
    });

    test('a copy missing from a record of a later generation is not made again blank', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      await service.createVolume(input('pvc-1'));
      const a = cluster.agent('store-a');
      const next = markOutOfSync(a.volumes.get(id('pvc-1'))!.mirror!.record, [1]);
      a.setRecord(id('pvc-1'), next);
      cluster.agent('store-b').volumes.delete(id('pvc-1'));
      const vol = await service.createVolume(input('pvc-1'));
      assert.deepEqual(Object.keys(cluster.copies(id('pvc-1'))), ['store-a']);
      assert.equal(vol.mirror?.copies[1]?.state, 'missing');
    });

    test('retries placement once on fresh figures when an agent says it has no room', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }, { name: 'store-c', thinBytes: 5 * 1024 * MiB }]);
      cluster.agent('store-a').failNext('createVolume', new ResourceExhaustedError('store-a: thin pool full'));
      await service.createVolume(input('pvc-1'));
      assert.deepEqual(Object.keys(cluster.copies(id('pvc-1'))).sort(), ['store-b', 'store-c']);
    });

    test('refuses with RESOURCE_EXHAUSTED when fewer nodes are eligible than copies, and a content source (not yet)', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b', thinBytes: 50 * MiB }]);
      await assert.rejects(service.createVolume(input('pvc-1')), (err: unknown) => err instanceof ResourceExhaustedError && /1 of 2 storage nodes eligible \(store-a\)/.test(err.message));
      const source = { kind: 'snapshot', id: `store-a/${buildAgentId('s', 'snapshot')}` } as const;
      await assert.rejects(service.createVolume(input('pvc-2', 2, { source })), (err: unknown) => err instanceof InvalidArgumentError && /not supported yet/.test(err.message));
    });

    test('waits (UNAVAILABLE) while an agent restarting may hold copies from an earlier attempt', async () => {
      cluster = new MemoryCluster([{ name: 'store-a' }, { name: 'store-b' }, { name: 'store-c' }], { nameGuardMs: 60_000 });
      await cluster.nodes.refresh();
      cluster.agent('store-c').down = 'connection refused';
      await assert.rejects(cluster.service.createVolume(input('pvc-1')), (err: unknown) => err instanceof UnavailableError && /store-c/.test(err.message) && /second set of copies/.test(err.message));
      assert.deepEqual(cluster.copies(id('pvc-1')), {});
    });

    test('counts the header in each copy: a node with room for the data but not the header is not chosen', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b', thinBytes: 100 * MiB + MIRROR_HEADER_BYTES - 1 }]);
      await assert.rejects(service.createVolume(input('pvc-1')), ResourceExhaustedError);
    });
  });

  test('GetCapacity of replicas N: the largest volume whose N copies (data + header) fit, one in the zone', async () => {
    const service = start([{ name: 'store-a', zone: 'za', thinBytes: 1000 * MiB }, { name: 'store-b', zone: 'zb', thinBytes: 300 * MiB }, { name: 'store-c', zone: 'zb', thinBytes: 200 * MiB }]);
    const capacity = (replicas: string, zone?: string) => service.getCapacity(parseVolumeParameters({ replicas }), zone);
    assert.deepEqual(await capacity('1', 'za'), { availableBytes: 1000 * MiB, maximumVolumeBytes: 1000 * MiB }, 'replicas 1 unchanged');
    assert.deepEqual(await capacity('2', 'za'), { availableBytes: 1000 * MiB, maximumVolumeBytes: 300 * MiB - MIRROR_HEADER_BYTES });
    assert.deepEqual(await capacity('3', 'za'), { availableBytes: 1000 * MiB, maximumVolumeBytes: 200 * MiB - MIRROR_HEADER_BYTES });
    assert.deepEqual(await capacity('2', 'zb'), { availableBytes: 500 * MiB, maximumVolumeBytes: 300 * MiB - MIRROR_HEADER_BYTES });
    assert.equal((await capacity('2', 'zc')).maximumVolumeBytes, 0, 'no node in the zone');
  });

  describe('deleteVolume', () => {
    test('deletes every copy; a published copy is FAILED_PRECONDITION; a silent node UNAVAILABLE before anything goes', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }, { name: 'store-c' }]);
      const vol = await service.createVolume(input('pvc-1'));
      await service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false);
      await assert.rejects(service.deleteVolume(vol.volumeId), (err: unknown) => err instanceof FailedPreconditionError && err.message.includes(WORKER_1));
      await service.unpublishVolume(vol.volumeId, WORKER_1);
      const [, second] = vol.mirror!.record.copies;
      cluster.agent(second!.node).down = 'connection refused';
      await assert.rejects(service.deleteVolume(vol.volumeId), UnavailableError);
      assert.equal(Object.keys(cluster.copies(id('pvc-1'))).length, 2, 'nothing deleted');
      cluster.agent(second!.node).down = undefined;
      await service.deleteVolume(vol.volumeId);
      assert.deepEqual(cluster.copies(id('pvc-1')), {});
      await service.deleteVolume(vol.volumeId);
    });

    test('a node declared removed counts as gone; an id nobody holds is UNAVAILABLE while any agent is silent', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }, { name: 'store-c' }]);
      const vol = await service.createVolume(input('pvc-1'));
      const lost = vol.mirror!.record.copies[0]!.node;
      cluster.agent(lost).down = 'host lost';
      await cluster.removed.add({ name: lost, note: 'disk died' });
      await service.deleteVolume(vol.volumeId);
      assert.deepEqual(Object.keys(cluster.copies(id('pvc-1'))), [lost], 'only the copy on the removed node remains');
      const other = cluster.agents.find((a) => a.name !== lost)!;
      other.down = 'connection refused';
      await assert.rejects(service.deleteVolume(formatMirrorVolumeId(id('never'))), UnavailableError);
    });
  });

  describe('publish and unpublish', () => {
    test('exports every copy and lists them in slot order in publish_context', async () => {
      const service = start();
      const vol = await service.createVolume(input('pvc-1'));
      const ctx = parseMirrorPublishContext(await service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false));
      const nodes = vol.mirror!.record.copies.map((c) => c.node);
      assert.deepEqual(ctx.copies.map((c) => c.node), nodes);
      for (const [slot, copy] of ctx.copies.entries()) {
        const agent = cluster.agent(nodes[slot]!);
        const lv = agent.volumes.get(id('pvc-1'))!;
        assert.equal(copy.targetIqn, lv.target.iqn);
        assert.equal(copy.agentAddress, agent.address);
        assert.deepEqual(lv.initiators, [{ iqn: WORKER_1, readOnly: false, mutualChap: true }]);
      }
      assert.deepEqual(await service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false), await service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false), 'idempotent');
      await assert.rejects(service.publishVolume(vol.volumeId, WORKER_2, BLOCK_RWO, false), FailedPreconditionError);
      await assert.rejects(service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, true), AlreadyExistsError);
      assert.deepEqual((await service.getVolume(vol.volumeId)).volume.initiators.map((i) => i.iqn), [WORKER_1]);
    });

    test('a silent copy is UNAVAILABLE (degraded publish is later work); a lost one FAILED_PRECONDITION', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      const vol = await service.createVolume(input('pvc-1', 2, { capabilities: [BLOCK_RWO] }));
      cluster.agent('store-b').down = 'connection refused';
      await assert.rejects(service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false), (err: unknown) => err instanceof UnavailableError && /store-b/.test(err.message));
      assert.deepEqual(cluster.agent('store-a').volumes.get(id('pvc-1'))?.initiators, [], 'nothing exported');
      await cluster.removed.add({ name: 'store-b', note: '' });
      await assert.rejects(service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false), FailedPreconditionError);
    });

    test('one worker at a time: a multi-node access mode is refused at create, a second node at publish', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      await assert.rejects(service.createVolume(input('pvc-rwx', 2, { capabilities: [BLOCK_RWX] })), (err: unknown) => err instanceof InvalidArgumentError && /MULTI_NODE_MULTI_WRITER/.test(err.message));
      assert.equal(cluster.agent('store-a').volumes.size, 0, 'nothing created');
      const vol = await service.createVolume(input('pvc-1', 2, { capabilities: [BLOCK_RWO] }));
      await service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false);
      await assert.rejects(service.publishVolume(vol.volumeId, WORKER_2, BLOCK_RWX, false), (err: unknown) => err instanceof FailedPreconditionError && /one node at a time/.test(err.message));
      for (const a of cluster.agents) assert.deepEqual(a.volumes.get(id('pvc-1'))?.initiators.map((i) => i.iqn), [WORKER_1], 'no ACL for the second node');
    });

    test('unpublish removes the ACL from every copy; a silent copy is UNAVAILABLE with a FenceNotApplied event, after the others are fenced', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      const vol = await service.createVolume(input('pvc-1', 2, { capabilities: [BLOCK_RWO] }));
      await service.publishVolume(vol.volumeId, WORKER_1, BLOCK_RWO, false);
      await service.unpublishVolume(vol.volumeId, WORKER_1);
      for (const a of cluster.agents) assert.deepEqual(a.volumes.get(id('pvc-1'))?.initiators, []);
      await service.publishVolume(vol.volumeId, WORKER_2, BLOCK_RWO, false);
      cluster.agent('store-b').down = 'connection refused';
      await assert.rejects(service.unpublishVolume(vol.volumeId, WORKER_2), UnavailableError);
      assert.deepEqual(cluster.agent('store-a').volumes.get(id('pvc-1'))?.initiators, [], 'the copy that answers is fenced');
      assert.deepEqual(cluster.fences.map((f) => [f.volumeId, f.nodeId, f.storageNode]), [[vol.volumeId, WORKER_2, 'store-b']]);
      cluster.agent('store-b').down = undefined;
      await service.unpublishVolume(vol.volumeId, '');
      assert.deepEqual(cluster.agent('store-b').volumes.get(id('pvc-1'))?.initiators, [], 'no node id: every initiator');
    });

    test('unpublish of an id no agent holds succeeds only when every agent answered', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      const gone = formatMirrorVolumeId(id('gone'));
      await service.unpublishVolume(gone, WORKER_1);
      cluster.agent('store-a').down = 'connection refused';
      await assert.rejects(service.unpublishVolume(gone, WORKER_1), UnavailableError);
    });
  });

  describe('expand, get, list, health, snapshot', () => {
    test('expand grows every copy to the same size, refuses a silent copy and a shrink below the limit', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      const vol = await service.createVolume(input('pvc-1'));
      const grown = await service.expandVolume(vol.volumeId, { requiredBytes: 200 * MiB + 1, limitBytes: 0 });
      assert.equal(grown.sizeBytes, 204 * MiB, 'whole extents');
      for (const a of cluster.agents) assert.equal(a.volumes.get(id('pvc-1'))?.sizeBytes, 204 * MiB);
      await assert.rejects(service.expandVolume(vol.volumeId, { requiredBytes: 100 * MiB, limitBytes: 150 * MiB }), OutOfRangeError);
      cluster.agent('store-b').down = 'connection refused';
      await assert.rejects(service.expandVolume(vol.volumeId, { requiredBytes: 300 * MiB, limitBytes: 0 }), UnavailableError);
      assert.equal(cluster.agent('store-a').volumes.get(id('pvc-1'))?.sizeBytes, 204 * MiB, 'nothing grown while one copy cannot be');
    });

    test('get and list give one entry per replicated volume; health says which copy is out of sync or silent', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      const vol = await service.createVolume(input('pvc-1'));
      const single = await service.createVolume(input('single', 1));
      assert.deepEqual((await service.listVolumes()).map((v) => v.volumeId).sort(), [vol.volumeId, single.volumeId].sort());
      assert.deepEqual(await service.getVolumeHealth(vol.volumeId), []);
      // A node plugin marked slot 1 out of sync on both copies.
      const next = markOutOfSync(vol.mirror!.record, [1]);
      for (const a of cluster.agents) a.setRecord(id('pvc-1'), next);
      const health = await service.getVolumeHealth(vol.volumeId);
      assert.deepEqual(health.map((h) => [h.status, h.reason]), [['DEGRADED', 'CopyOutOfSync']]);
      assert.match(health[0]!.message, /copy 1 on store-b is out of sync \(record generation 2\)/);
      const listed = (await service.listVolumes()).find((v) => v.volumeId === vol.volumeId)!;
      assert.equal(volumeToCsi(listed).volume_context?.['copiesInSync'], 'store-a');
      assert.equal(volumeToCsi(listed).volume_context?.['mirrorGeneration'], '2');
      // Only store-a answers: it still is the volume, and its health says so.
      cluster.agent('store-b').down = 'connection refused';
      const got = await service.getVolume(vol.volumeId);
      assert.equal(got.node, 'store-a');
      assert.deepEqual((await service.getVolumeHealth(vol.volumeId)).map((h) => h.reason), ['CopyOutOfSync', 'StorageNodeUnreachable']);
      await assert.rejects(service.listVolumes(), UnavailableError, 'a partial list is never given');
      cluster.agent('store-a').down = 'connection refused';
      assert.deepEqual((await service.getVolumeHealth(vol.volumeId)).map((h) => [h.status, h.reason]), [['INACCESSIBLE', 'StorageNodeUnreachable']], 'no copy answers: no record to read');
      await assert.rejects(service.getVolume(vol.volumeId), UnavailableError);
      await assert.rejects(service.getVolume(formatMirrorVolumeId('not-an-lv-id')), NotFoundError);
    });

    test('a snapshot is taken on a copy in sync in the newest record; its source is the replicated volume', async () => {
      const service = start([{ name: 'store-a' }, { name: 'store-b' }]);
      const vol = await service.createVolume(input('pvc-1'));
      const next = markOutOfSync(vol.mirror!.record, [0]);
      for (const a of cluster.agents) a.setRecord(id('pvc-1'), next);
      const outOfSync = next.copies[0]!.node;
      const inSync = next.copies[1]!.node;
      const snap = await service.createSnapshot('snap-1', vol.volumeId);
      assert.equal(snap.sourceVolumeId, vol.volumeId);
      assert.equal(snap.snapshotId, `${inSync}/${buildAgentId('snap-1', 'snapshot')}`);
      assert.equal(cluster.agent(outOfSync).snapshots.size, 0);
      assert.deepEqual(await service.createSnapshot('snap-1', vol.volumeId), snap, 'a retry finds it');
      await assert.rejects(service.createSnapshot('snap-1', formatMirrorVolumeId(id('other'))), AlreadyExistsError);
      assert.deepEqual((await service.listSnapshots({ sourceVolumeId: vol.volumeId })).map((s) => s.snapshotId), [snap.snapshotId]);
      assert.deepEqual((await service.listSnapshots({ snapshotId: snap.snapshotId })).map((s) => s.sourceVolumeId), [vol.volumeId]);
      assert.deepEqual((await service.listSnapshots({})).map((s) => s.sourceVolumeId), [vol.volumeId]);
      assert.deepEqual(await service.listSnapshots({ sourceVolumeId: `${inSync}/${id('pvc-1')}` }), [], "a copy's own id is not a volume of this driver");
      await assert.rejects(
        service.createVolume(input('restored', 1, { source: { kind: 'snapshot', id: snap.snapshotId } })),
        (err: unknown) => err instanceof InvalidArgumentError && /not supported yet/.test(err.message),
      );
      await assert.rejects(service.createVolume(input('clone', 1, { source: { kind: 'volume', id: vol.volumeId } })), InvalidArgumentError);
      cluster.agent(inSync).down = 'connection refused';
      await assert.rejects(service.createSnapshot('snap-2', vol.volumeId), (err: unknown) => err instanceof UnavailableError && /in sync/.test(err.message));
    });
  });
});
