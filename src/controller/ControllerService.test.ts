import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Capability } from '../csi/volumeCapabilities.ts';
import { parseVolumeId } from '../csi/volumeIds.ts';
import { AlreadyExistsError, NotFoundError, OperationPendingError, UnavailableError } from '../errors.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import type { CreateVolumeInput } from './ControllerService.ts';
import { MiB, TestCluster } from '../../test/cluster/controllerHarness.ts';
import type { TestAgentOptions } from '../../test/cluster/controllerHarness.ts';
import { parseVolumeParameters } from './volumeParameters.ts';

const BLOCK: Capability = { access: 'block', mode: 'SINGLE_NODE_WRITER' };

function input(name: string, sizeBytes = 100 * MiB, extra: Partial<CreateVolumeInput> = {}): CreateVolumeInput {
  return {
    name,
    capacityRange: { requiredBytes: sizeBytes, limitBytes: 0 },
    capabilities: [BLOCK],
    parameters: parseVolumeParameters({}),
    source: undefined,
    requisiteZones: undefined,
    preferredZones: undefined,
    ...extra,
  };
}

describe('ControllerService', () => {
  let cluster: TestCluster;
  const start = async (agents: readonly TestAgentOptions[] = [{ name: 'store-a' }, { name: 'store-b' }], statusMaxAgeMs = 0) => {
    cluster = await TestCluster.create({ agents, statusMaxAgeMs });
  };
  afterEach(async () => cluster.destroy());

  describe('createVolume while another create of the name is in flight', () => {
    test('a second call to the same controller is ABORTED', async () => {
      await start();
      const holds = cluster.agents.map((a) => a.lvm.hold('createThinVolume'));
      const first = cluster.service.createVolume(input('pvc-1'));
      await Promise.race(holds.map((h) => h.entered));
      await assert.rejects(cluster.service.createVolume(input('pvc-1')), OperationPendingError);
      for (const h of holds) h.release();
      const vol = await first;
      assert.equal(vol.volume.name, 'pvc-1');
    });

    test('a second controller (a restart) is ABORTED by the agent still creating it, and no duplicate is made', async () => {
      await start();
      const holds = cluster.agents.map((a) => a.lvm.hold('createThinVolume'));
      const first = cluster.service.createVolume(input('pvc-1'));
      await Promise.race(holds.map((h) => h.entered));
      const restarted = cluster.newService();
      await assert.rejects(restarted.createVolume(input('pvc-1')), OperationPendingError);
      for (const h of holds) h.release();
      const vol = await first;
      assert.deepEqual(await restarted.createVolume(input('pvc-1')), vol, 'once done, the restarted controller finds it');
      assert.deepEqual(cluster.agents.flatMap((a) => a.lvm.names()), [buildAgentId('pvc-1', 'volume')]);
      assert.equal(cluster.agents.flatMap((a) => a.lvm.calls).filter((c) => c === 'createThinVolume').length, 1, 'one lvcreate');
    });

    test('a retry finds an LV left without its export and exports it again', async () => {
      await start();
      const vol = await cluster.service.createVolume(input('pvc-1'));
      const agent = cluster.agent(vol.node);
      const iqn = vol.volume.target.iqn;
      await agent.lio.unexportVolume(iqn, vol.volume.id);
      assert.equal(await agent.lio.readExport(iqn), undefined);
      assert.deepEqual(await cluster.service.createVolume(input('pvc-1')), vol);
      assert.equal((await agent.lio.readExport(iqn))?.enabled, true, 'the retry exported it');
      assert.deepEqual(cluster.agents.flatMap((a) => a.lvm.names()), [buildAgentId('pvc-1', 'volume')]);
    });
  });

  describe('createVolume from a content source', () => {
    test('a retried restore returns its volume even after the snapshot was deleted', async () => {
      await start();
      const src = await cluster.service.createVolume(input('src'));
      const snap = await cluster.service.createSnapshot('snap-1', src.volumeId);
      const source = { kind: 'snapshot', id: snap.snapshotId } as const;
      const restored = await cluster.service.createVolume(input('restored', 100 * MiB, { source }));
      await cluster.service.deleteSnapshot(snap.snapshotId);
      assert.deepEqual(await cluster.service.createVolume(input('restored', 100 * MiB, { source })), restored);
      await assert.rejects(cluster.service.createVolume(input('another', 100 * MiB, { source })), NotFoundError);
    });

    test('a retried restore into a larger volume finishes the extend a crashed agent left undone', async () => {
      await start();
      const src = await cluster.service.createVolume(input('src'));
      const snap = await cluster.service.createSnapshot('snap-1', src.volumeId);
      const source = { kind: 'snapshot', id: snap.snapshotId } as const;
      const agent = cluster.agent(src.node);
      // A kill -9 between lvcreate -s and lvextend: the LV stays at the snapshot's size, nothing rolled back.
      agent.lvm.failNext('extendVolume', new Error('agent killed'));
      agent.lvm.failNext('removeVolume', new Error('agent killed'));
      await assert.rejects(cluster.service.createVolume(input('restored', 200 * MiB, { source })), /agent killed/);
      assert.equal((await agent.lvm.findVolume(buildAgentId('restored', 'volume')))?.sizeBytes, 100 * MiB);
      const restored = await cluster.newService().createVolume(input('restored', 200 * MiB, { source }));
      assert.equal(restored.volume.sizeBytes, 200 * MiB, 'the answer carries the grown size');
      assert.equal((await agent.lvm.findVolume(buildAgentId('restored', 'volume')))?.sizeBytes, 200 * MiB);
      assert.equal((await agent.lio.readExport(restored.volume.target.iqn))?.enabled, true);
      await assert.rejects(cluster.service.createVolume(input('restored', 300 * MiB, { source })), AlreadyExistsError);
    });
  });

  describe('reservations', () => {
    test('two concurrent creates that each fit only one node go to different nodes without an agent refusal', async () => {
      await start([{ name: 'store-a' }, { name: 'store-b' }], 60_000);
      await cluster.nodes.refresh();
      const [a, b] = await Promise.all([cluster.service.createVolume(input('big-1', 600 * MiB)), cluster.service.createVolume(input('big-2', 600 * MiB))]);
      assert.notEqual(a.node, b.node);
      assert.equal(cluster.agents.flatMap((x) => x.calls).filter((c) => c === 'createVolume').length, 2, 'no create was sent to a node already promised');
    });

    test('GetCapacity subtracts bytes promised to creates in flight', async () => {
      await start([{ name: 'store-a' }], 60_000);
      const hold = cluster.agent('store-a').lvm.hold('createThinVolume');
      const pending = cluster.service.createVolume(input('pvc-1', 100 * MiB));
      await hold.entered;
      const parameters = parseVolumeParameters({});
      assert.deepEqual(await cluster.service.getCapacity(parameters, undefined), { availableBytes: 924 * MiB, maximumVolumeBytes: 924 * MiB });
      hold.release();
      await pending;
      // Answered: a status taken before it may already hold the volume and its reservation would
      // count it twice, so GetCapacity polls once more and then counts it once.
      const polls = () => cluster.agent('store-a').calls.filter((c) => c === 'getNodeStatus').length;
      const before = polls();
      assert.deepEqual(await cluster.service.getCapacity(parameters, undefined), { availableBytes: 924 * MiB, maximumVolumeBytes: 924 * MiB });
      assert.equal(polls(), before + 1, 'a create answered since the last status: poll');
      await cluster.service.getCapacity(parameters, undefined);
      assert.equal(polls(), before + 1, 'nothing answered since: the status in hand will do');
    });
  });

  describe('placement reservations', () => {
    test('are pruned after each status poll once the statuses include their volumes', async () => {
      await start([{ name: 'store-a' }, { name: 'store-b' }], 60_000);
      await Promise.all(Array.from({ length: 12 }, (_, i) => cluster.service.createVolume(input(`pvc-${i}`))));
      assert.equal(cluster.service.reservationsHeld, 12, 'settled, and no status includes them yet');
      await cluster.nodes.refresh();
      assert.equal(cluster.service.reservationsHeld, 0, 'the poll brought statuses that count them');
    });

    test('are pruned while a storage node is silent, whose old status would otherwise hold them forever', async () => {
      // No name guard: creates go ahead while store-b is silent.
      cluster = await TestCluster.create({ agents: [{ name: 'store-a' }, { name: 'store-b' }], statusMaxAgeMs: 60_000, nameGuardMs: 0 });
      await cluster.nodes.refresh();
      cluster.agent('store-b').down = 'connection refused';
      await cluster.nodes.refresh();
      await Promise.all(Array.from({ length: 5 }, (_, i) => cluster.service.createVolume(input(`pvc-${i}`))));
      await cluster.nodes.refresh();
      assert.equal(cluster.service.reservationsHeld, 0);
    });
  });

  describe('routing', () => {
    test('getVolume of a node no agent answers as is UNAVAILABLE, even when every agent answered; of a node declared removed, NOT_FOUND', async () => {
      await start();
      await cluster.nodes.refresh();
      const id = `store-z/${buildAgentId('x', 'volume')}`;
      await assert.rejects(cluster.service.getVolume(id), UnavailableError);
      cluster.agent('store-b').down = 'connection refused';
      await assert.rejects(cluster.newService().getVolume(id), UnavailableError);
      await cluster.removed.add({ name: 'store-z', note: '' });
      await assert.rejects(cluster.newService().getVolume(id), NotFoundError);
    });

    test('the id of a created volume routes back to its agent from a restarted controller', async () => {
      await start();
      const vol = await cluster.service.createVolume(input('pvc-1'));
      const again = await cluster.newService().getVolume(vol.volumeId);
      assert.equal(again.node, parseVolumeId(vol.volumeId)?.node);
      assert.deepEqual(again.volume, vol.volume);
    });
  });
});
