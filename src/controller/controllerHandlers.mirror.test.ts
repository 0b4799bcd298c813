import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { TOPOLOGY_ZONE_KEY } from '../csi/nodeIds.ts';
import { isMirrorPublishContext, parseMirrorPublishContext } from '../csi/publishContext.ts';
import { parseAnyVolumeId, parseMirrorVolumeId, parseSnapshotId } from '../csi/volumeIds.ts';
import type { VolumeCapability } from '../generated/csi/v1/VolumeCapability.ts';
import { connectCsi } from '../grpc/csiServiceClients.ts';
import type { CsiApi } from '../grpc/csiServiceClients.ts';
import { loadCsiProto } from '../grpc/loadProtos.ts';
import { serve } from '../grpc/serve.ts';
import type { RunningServer } from '../grpc/serve.ts';
import { markOutOfSync } from '../replication/mirrorRecord.ts';
import { createControllerHandlers } from './controllerHandlers.ts';
import { MemoryCluster } from './testing/MemoryStorageAgent.ts';

const MiB = 1024 * 1024;
const BLOCK_RWO: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const WORKER_1 = 'iqn.1993-08.org.debian:01:worker-1';

describe('Controller service over gRPC: replicated volumes', () => {
  let cluster: MemoryCluster;
  let csi: CsiApi;
  let running: RunningServer;
  let dir: string;
  before(async () => {
    cluster = new MemoryCluster([{ name: 'store-a', zone: 'za' }, { name: 'store-b', zone: 'zb' }]);
    dir = await mkdtemp(join(tmpdir(), 'vbs-ctrl-mirror-'));
    const server = new Server();
    const log = pino({ level: 'silent' });
    server.addService(
      loadCsiProto().csi.v1.Controller.service,
      createControllerHandlers(cluster.service, log, { isVolumeId: (id) => parseAnyVolumeId(id) !== undefined, isSnapshotId: (id) => parseSnapshotId(id) !== undefined }),
    );
    running = await serve({ server, endpoint: { kind: 'unix', path: join(dir, 'csi.sock') }, log });
    csi = connectCsi(running.address, 10_000);
  });
  after(async () => {
    csi.close();
    await running.shutdown(0);
    cluster.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  test('create, publish, list, health, unpublish and delete one replicated volume by its @mirror/ id', async () => {
    const created = await csi.controller.createVolume({ name: 'pvc-1', capacity_range: { required_bytes: 100 * MiB }, volume_capabilities: [BLOCK_RWO], parameters: { replicas: '2' } });
    const volumeId = created.volume?.volume_id ?? '';
    const lvId = parseMirrorVolumeId(volumeId)?.id ?? '';
    assert.ok(lvId, volumeId);
    assert.deepEqual(created.volume?.accessible_topology.map((t) => t.segments[TOPOLOGY_ZONE_KEY]).sort(), ['za', 'zb']);
    assert.equal(created.volume?.volume_context['replicas'], '2');

    await assert.rejects(
      csi.controller.createVolume({ name: 'pvc-2', capacity_range: { required_bytes: 100 * MiB }, volume_capabilities: [BLOCK_RWO], parameters: { replicas: '4' } }),
      (err: { code?: number; details?: string }) => err.code === status.INVALID_ARGUMENT && /replicas="4"/.test(err.details ?? ''),
    );

    const published = await csi.controller.controllerPublishVolume({ volume_id: volumeId, node_id: WORKER_1, volume_capability: BLOCK_RWO, readonly: false });
    assert.ok(isMirrorPublishContext(published.publish_context));
    assert.equal(parseMirrorPublishContext(published.publish_context).copies.length, 2);

    const listed = await csi.controller.listVolumes({ max_entries: 0, starting_token: '' });
    assert.deepEqual(listed.entries.map((e) => [e.volume?.volume_id, e.status?.published_node_ids]), [[volumeId, [WORKER_1]]], 'one entry, not one per copy');
    const page = await csi.controller.listVolumes({ max_entries: 1, starting_token: '' });
    assert.equal(page.next_token, '');

    for (const a of cluster.agents) a.setRecord(lvId, markOutOfSync(a.volumes.get(lvId)!.mirror!.record, [1]));
    const health = await csi.controller.controllerGetVolumeHealth({ volume_id: volumeId });
    assert.deepEqual(health.volume_health?.health_statuses.map((h) => [h.status, h.reason]), [['DEGRADED', 'CopyOutOfSync']]);
    const got = await csi.controller.controllerGetVolume({ volume_id: volumeId });
    assert.equal(got.volume?.volume_context['mirrorGeneration'], '2');

    await assert.rejects(csi.controller.deleteVolume({ volume_id: volumeId }), (err: { code?: number }) => err.code === status.FAILED_PRECONDITION);
    cluster.agent('store-b').down = 'connection refused';
    await assert.rejects(csi.controller.controllerUnpublishVolume({ volume_id: volumeId, node_id: WORKER_1 }), (err: { code?: number }) => err.code === status.UNAVAILABLE, 'never a success that did not fence');
    cluster.agent('store-b').down = undefined;
    await csi.controller.controllerUnpublishVolume({ volume_id: volumeId, node_id: WORKER_1 });
    await csi.controller.deleteVolume({ volume_id: volumeId });
    assert.deepEqual(cluster.copies(lvId), {});
    await csi.controller.deleteVolume({ volume_id: volumeId });
  });
});
