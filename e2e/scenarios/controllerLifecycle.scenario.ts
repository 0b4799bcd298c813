import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOPOLOGY_ZONE_KEY } from '../../src/csi/nodeIds.ts';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { ControllerBed, MiB } from '../support/controllerBed.ts';
import { recordPublishContext } from '../support/secretLedger.ts';
import type { Scenario } from './Scenario.ts';

const EXT4: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const PARAMS = { provisioning: 'thin', fsType: 'ext4' };

interface Attached {
  readonly volumeId: string;
  readonly staging: string;
  readonly target: string;
}

/**
 * The whole life of a volume through the CSI controller process, with two agent processes and
 * the node plugin process, as a CO would drive them: create (thin ext4) → publish to the node's
 * initiator → stage and publish → write 16 MiB → snapshot → restore from it and clone the volume
 * (both on the source's storage node, both read back with the same checksum) → expand on the
 * controller and the node → list with published nodes → tear everything down, which leaves no
 * LV, LIO target or iSCSI session on either storage node.
 */
export const controllerLifecycleScenario: Scenario = {
  name: 'controller lifecycle: create, publish, stage, write, snapshot, restore and clone keep the data, expand, list, teardown leaves nothing',
  timeoutMs: 1_800_000,
  async run(ctx) {
    await ControllerBed.run(ctx, { tag: 'life', poolMiB: [512, 512], overprovisionRatio: 5, nodePlugin: true }, async (bed) => {
      const { controller } = bed.csi;
      const { node } = bed.worker.csi;
      const nodeId = bed.worker.nodeId;
      const kubelet = bed.worker.kubelet;

      const caps = await bed.step('ControllerGetCapabilities', () => controller.controllerGetCapabilities({}));
      const rpcs = caps.capabilities.map((c) => c.rpc?.type).sort();
      for (const want of ['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME', 'LIST_VOLUMES', 'LIST_VOLUMES_PUBLISHED_NODES', 'GET_CAPACITY', 'CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'CLONE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME']) {
        assert.ok(rpcs.includes(want as never), `ControllerGetCapabilities lists ${want}: ${rpcs.join(', ')}`);
      }

      // Create: lands on one agent, in the default zone.
      const created = await bed.step('CreateVolume 64 MiB thin ext4', () =>
        controller.createVolume({ name: 'pvc-life-src', capacity_range: { required_bytes: 64 * MiB }, volume_capabilities: [EXT4], parameters: PARAMS }),
      );
      const vol = created.volume!;
      const home = vol.volume_id.split('/')[0]!;
      assert.ok(bed.nodes.some((n) => n.name === home), `the volume id names a storage node: ${vol.volume_id}`);
      assert.equal(vol.capacity_bytes, 64 * MiB);
      assert.deepEqual(vol.accessible_topology.map((t) => t.segments), [{ [TOPOLOGY_ZONE_KEY]: 'default' }], 'accessible_topology is the node\'s zone');
      const homeLvs = (await bed.lvs()).filter((lv) => lv.tags['name'] === 'pvc-life-src');
      assert.deepEqual(homeLvs.map((lv) => lv.vg), [bed.node(home).vg], 'exactly one LV, in the VG of the storage node the id names');
      const again = await controller.createVolume({ name: 'pvc-life-src', capacity_range: { required_bytes: 64 * MiB }, volume_capabilities: [EXT4], parameters: PARAMS });
      assert.equal(again.volume?.volume_id, vol.volume_id, 'CreateVolume is idempotent by name');
      const validated = await controller.validateVolumeCapabilities({ volume_id: vol.volume_id, volume_capabilities: [EXT4], parameters: PARAMS });
      assert.ok(validated.confirmed, `ext4 single-node writer is confirmed: ${validated.message}`);
      ctx.log(`created ${vol.volume_id} on ${home}`);

      const attach = async (volumeId: string, label: string): Promise<Attached> => {
        const pub = await bed.step(`ControllerPublish ${label}`, () => controller.controllerPublishVolume({ volume_id: volumeId, node_id: nodeId, volume_capability: EXT4, readonly: false }));
        const staging = join(kubelet, 'plugins', 'vbs', 'staging', label);
        const target = join(kubelet, 'pods', `pod-${label}`, 'volumes', label, 'mount');
        await mkdir(staging, { recursive: true });
        await bed.step(`NodeStage ${label}`, () => node.nodeStageVolume({ volume_id: volumeId, staging_target_path: staging, volume_capability: EXT4, publish_context: recordPublishContext(label, pub.publish_context) }));
        await bed.step(`NodePublish ${label}`, () => node.nodePublishVolume({ volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: EXT4, readonly: false }));
        return { volumeId, staging, target };
      };
      const detach = async (a: Attached, label: string): Promise<void> => {
        await bed.step(`NodeUnpublish ${label}`, () => node.nodeUnpublishVolume({ volume_id: a.volumeId, target_path: a.target }));
        await bed.step(`NodeUnstage ${label}`, () => node.nodeUnstageVolume({ volume_id: a.volumeId, staging_target_path: a.staging }));
        await bed.step(`ControllerUnpublish ${label}`, () => controller.controllerUnpublishVolume({ volume_id: a.volumeId, node_id: nodeId }));
      };

      // Publish, stage, write a known pattern.
      const src = await attach(vol.volume_id, 'src');
      const data = randomBytes(16 * MiB);
      const checksum = sha256(data);
      await bed.step('write 16 MiB (fsync)', () => writeFileSynced(join(src.target, 'data.bin'), data));
      ctx.log(`16 MiB written to ${vol.volume_id}, sha256 ${checksum.slice(0, 16)}…`);

      // Snapshot, then restore from it: same node, same data.
      const snap = (await bed.step('CreateSnapshot', () => controller.createSnapshot({ name: 'snap-life-1', source_volume_id: vol.volume_id }))).snapshot!;
      assert.equal(snap.ready_to_use, true, 'a thin snapshot is ready at once');
      assert.equal(snap.size_bytes, 64 * MiB, 'the snapshot has its source\'s size');
      assert.equal(snap.source_volume_id, vol.volume_id);
      assert.ok(snap.snapshot_id.startsWith(`${home}/`), `the snapshot is on the source's node: ${snap.snapshot_id}`);
      assert.ok(Number(snap.creation_time?.seconds ?? 0) > 0, 'creation_time is set');
      const listedSnaps = await controller.listSnapshots({ source_volume_id: vol.volume_id });
      assert.deepEqual(listedSnaps.entries.map((e) => e.snapshot?.snapshot_id), [snap.snapshot_id]);

      const restored = (await bed.step('CreateVolume from the snapshot', () =>
        controller.createVolume({ name: 'pvc-life-restore', capacity_range: { required_bytes: 64 * MiB }, volume_capabilities: [EXT4], parameters: PARAMS, volume_content_source: { snapshot: { snapshot_id: snap.snapshot_id } } }),
      )).volume!;
      assert.ok(restored.volume_id.startsWith(`${home}/`), `the restore lands on the snapshot's node ${home}: ${restored.volume_id}`);
      assert.equal(restored.content_source?.snapshot?.snapshot_id, snap.snapshot_id, 'content_source names the snapshot');
      const rst = await attach(restored.volume_id, 'restore');
      assert.equal(sha256(await readFile(join(rst.target, 'data.bin'))), checksum, 'the restored volume holds the data');
      ctx.log(`restored ${restored.volume_id}: checksum equal`);

      // Clone of the (published, mounted) source volume: same node, same data.
      const clone = (await bed.step('CreateVolume as a clone', () =>
        controller.createVolume({ name: 'pvc-life-clone', capacity_range: { required_bytes: 64 * MiB }, volume_capabilities: [EXT4], parameters: PARAMS, volume_content_source: { volume: { volume_id: vol.volume_id } } }),
      )).volume!;
      assert.ok(clone.volume_id.startsWith(`${home}/`), `the clone lands on its source's node ${home}: ${clone.volume_id}`);
      assert.equal(clone.content_source?.volume?.volume_id, vol.volume_id, 'content_source names the source volume');
      const cln = await attach(clone.volume_id, 'clone');
      assert.equal(sha256(await readFile(join(cln.target, 'data.bin'))), checksum, 'the clone holds the data');
      ctx.log(`cloned ${clone.volume_id}: checksum equal`);

      // Expand: controller grows the LV, the node grows the device and the filesystem online.
      const expanded = await bed.step('ControllerExpandVolume to 128 MiB', () =>
        controller.controllerExpandVolume({ volume_id: vol.volume_id, capacity_range: { required_bytes: 128 * MiB }, volume_capability: EXT4 }),
      );
      assert.equal(expanded.capacity_bytes, 128 * MiB);
      assert.equal(expanded.node_expansion_required, true, 'a filesystem needs the node to grow it');
      const nodeExpanded = await bed.step('NodeExpandVolume', () =>
        node.nodeExpandVolume({ volume_id: vol.volume_id, volume_path: src.target, staging_target_path: src.staging, capacity_range: { required_bytes: 128 * MiB }, volume_capability: EXT4 }),
      );
      assert.equal(nodeExpanded.capacity_bytes, 128 * MiB);
      const stats = await node.nodeGetVolumeStats({ volume_id: vol.volume_id, volume_path: src.target });
      const bytes = stats.usage.find((u) => u.unit === 'BYTES');
      assert.ok(bytes && bytes.total > 110 * MiB && bytes.total <= 128 * MiB, `the filesystem grew to about 128 MiB: ${bytes?.total}`);
      assert.equal(sha256(await readFile(join(src.target, 'data.bin'))), checksum, 'data intact after the expansion');
      const lvAfter = (await bed.lvs()).find((lv) => lv.tags['name'] === 'pvc-life-src');
      assert.equal(lvAfter?.sizeBytes, 128 * MiB, 'the LV grew');
      ctx.log(`expanded to 128 MiB (filesystem ${bytes.total} bytes), data intact`);

      // ListVolumes (two pages of 2) and ControllerGetVolume show the published node.
      const page1 = await controller.listVolumes({ max_entries: 2, starting_token: '' });
      assert.equal(page1.entries.length, 2);
      assert.notEqual(page1.next_token, '', 'a second page follows');
      const page2 = await controller.listVolumes({ max_entries: 2, starting_token: page1.next_token });
      const entries = [...page1.entries, ...page2.entries];
      assert.deepEqual(entries.map((e) => e.volume?.volume_id).sort(), [vol.volume_id, restored.volume_id, clone.volume_id].sort(), 'three volumes over two pages');
      for (const e of entries) assert.deepEqual(e.status?.published_node_ids, [nodeId], `${e.volume?.volume_id} is published to the node`);
      const got = await controller.controllerGetVolume({ volume_id: vol.volume_id });
      assert.deepEqual(got.status?.published_node_ids, [nodeId]);
      const health = await controller.controllerGetVolumeHealth({ volume_id: vol.volume_id });
      assert.deepEqual(health.volume_health?.health_statuses, [], 'ControllerGetVolumeHealth: healthy');
      assert.equal(got.volume?.capacity_bytes, 128 * MiB);
      const cap = await controller.getCapacity({ parameters: PARAMS });
      assert.ok(cap.available_capacity > 0 && cap.maximum_volume_size?.value !== undefined, 'GetCapacity answers');

      // Teardown: unpublish, unstage, delete; snapshots too.
      for (const [a, label] of [[cln, 'clone'], [rst, 'restore'], [src, 'src']] as const) await detach(a, label);
      const unpublished = await controller.listVolumes({ max_entries: 0, starting_token: '' });
      for (const e of unpublished.entries) assert.deepEqual(e.status?.published_node_ids, [], `${e.volume?.volume_id} is no longer published`);
      await bed.step('DeleteSnapshot', () => controller.deleteSnapshot({ snapshot_id: snap.snapshot_id }));
      for (const v of [clone, restored, vol]) await bed.step(`DeleteVolume ${v.volume_id}`, () => controller.deleteVolume({ volume_id: v.volume_id }));
      await controller.deleteVolume({ volume_id: vol.volume_id });
      await controller.deleteSnapshot({ snapshot_id: snap.snapshot_id });
      assert.deepEqual((await controller.listVolumes({ max_entries: 0, starting_token: '' })).entries, []);
      assert.deepEqual((await controller.listSnapshots({ max_entries: 0, starting_token: '', source_volume_id: '', snapshot_id: '' })).entries, []);
      assert.deepEqual(await bed.leftovers(), { lvs: [], targets: [], sessions: [] }, 'no LV, LIO target or iSCSI session is left');
      ctx.log('torn down: no LV on either VG, no LIO target, no session');
    });
  },
};

async function writeFileSynced(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
