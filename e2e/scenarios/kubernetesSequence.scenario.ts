import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { buildDmName } from '../../src/node/index.ts';
import { withCsiCluster } from '../support/csiCluster.ts';
import type { CsiCluster } from '../support/csiCluster.ts';
import { writeFileSynced } from '../support/diskIo.ts';
import { stageAndPublish, unpublishAndUnstage } from '../support/kubeletCalls.ts';
import { createStepClock, retryingAsCo } from '../support/stepClock.ts';
import { lvOfVolume, thinMappedBytes } from '../support/thinUsage.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;
const EXT4_RWO: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

/**
 * Issue 5 item 7, the Kubernetes call sequence through the real roles as processes (a controller,
 * two agents, two node plugins, the second one a second "worker" under its own initiator name):
 * CreateVolume → ControllerPublish (worker 1) → NodeStage → NodePublish → write → ControllerExpand
 * → NodeExpand → device and filesystem grown, data intact → 32 MiB written, deleted and fstrimmed
 * in the pod mount → the thin LV gives the space back → CreateSnapshot → CreateVolume from it
 * (larger) → ControllerPublish to worker 2 → NodeStage/NodePublish there → same checksum → teardown
 * in Kubernetes' order with every node call made twice → no session, node record, mount, dm
 * device, LIO target or ACL, LV or stage record left.
 */
export const kubernetesSequenceScenario: Scenario = {
  name: 'kubernetes sequence: create, publish, stage, write, expand online, snapshot, restore on a second initiator, teardown (controller, 2 agents, 2 nodes as processes)',
  timeoutMs: 1_500_000,
  async run(ctx) {
    const clock = retryingAsCo(createStepClock(ctx), ctx.signal);
    await withCsiCluster(ctx, clock, {
      vgPrefix: 'vbs-ks',
      iqnPrefix: 'iqn.2026-11.io.vbs-ks',
      workers: [{ name: 'worker-1' }, { name: 'worker-2', initiatorName: 'iqn.2026-11.io.vbs-e2e:ks-worker-2', iscsiIface: 'vbs-ks-w2' }],
    }, async (cluster) => {
      const { controller: ctl, kubeletDir, runner } = cluster;
      const [w1, w2] = cluster.workers as [CsiCluster['workers'][0], CsiCluster['workers'][0]];
      assert.notEqual(w1.nodeId, w2.nodeId, 'two workers, two node ids');
      assert.equal(w2.nodeId, 'iqn.2026-11.io.vbs-e2e:ks-worker-2');
      clock.note(`workers: ${w1.name}=${w1.nodeId}, ${w2.name}=${w2.nodeId}`);
      const iscsiadm = new Iscsiadm({ runner });
      const lio = new LioTarget({ configFs: new FsConfigFs() });

      // Provision and attach to worker 1.
      const created = await clock.timed('CreateVolume pvc-ks-src (64 MiB, ext4)', () =>
        ctl.createVolume({ name: 'pvc-ks-src', capacity_range: { required_bytes: 64 * MiB }, volume_capabilities: [EXT4_RWO], parameters: { fsType: 'ext4' } }),
      );
      const src = created.volume!;
      assert.equal(Number(src.capacity_bytes), 64 * MiB);
      clock.note(`volume ${src.volume_id} on ${src.volume_context['storageNode']}`);
      const pub1 = await clock.timed('ControllerPublishVolume to worker-1', () =>
        ctl.controllerPublishVolume({ volume_id: src.volume_id, node_id: w1.nodeId, volume_capability: EXT4_RWO, readonly: false }),
      );
      const srcTargetIqn = pub1.publish_context['targetIqn']!;
      assert.deepEqual((await lio.readExport(srcTargetIqn))?.acls.map((a) => a.initiatorIqn), [w1.nodeId], 'the ACL names worker 1 only');
      const a1 = await stageAndPublish(clock, kubeletDir, w1, { volumeId: src.volume_id, pvName: 'pvc-ks-src', podUid: 'pod-a', capability: EXT4_RWO, publishContext: pub1.publish_context });
      const dm1 = `/dev/mapper/${buildDmName(w1.nodeId, src.volume_id)}`;

      const data = randomBytes(8 * MiB);
      const checksum = sha256(data);
      await clock.timed('write 8 MiB + fsync through the pod mount', () => writeFileSynced(join(a1.target, 'data.bin'), data));

      // Online expansion: controller first, then the node.
      const cexp = await clock.timed('ControllerExpandVolume to 128 MiB', () =>
        ctl.controllerExpandVolume({ volume_id: src.volume_id, capacity_range: { required_bytes: 128 * MiB }, volume_capability: EXT4_RWO }),
      );
      assert.equal(Number(cexp.capacity_bytes), 128 * MiB);
      assert.equal(cexp.node_expansion_required, true, 'a filesystem volume needs NodeExpandVolume');
      const expandReq = { volume_id: src.volume_id, volume_path: a1.target, staging_target_path: a1.staging, capacity_range: { required_bytes: 128 * MiB }, volume_capability: EXT4_RWO };
      const nexp = await clock.timed('NodeExpandVolume (rescan, dm reload, resize2fs)', () => w1.csi.node.nodeExpandVolume(expandReq));
      assert.equal(Number(nexp.capacity_bytes), 128 * MiB);
      await clock.timed('NodeExpandVolume again', () => w1.csi.node.nodeExpandVolume(expandReq));
      assert.equal(await blockdevSize(cluster, dm1), 128 * MiB, 'blockdev: the dm device grew');
      const fsBytes = await filesystemBytes(a1.target);
      assert.ok(fsBytes > 110 * MiB && fsBytes <= 128 * MiB, `df: the filesystem grew to about 128 MiB, got ${fsBytes}`);
      assert.equal(sha256(await readFile(join(a1.target, 'data.bin'))), checksum, 'data intact after the expansion');
      clock.note(`expanded online: device 128 MiB, filesystem ${fsBytes} bytes, data intact`);

      // Deleted files give their space back to the thin pool: fstrim in the pod discards the free
      // blocks through the dm device and the iSCSI LUN (UNMAP) down to dm-thin.
      const srcLv = lvOfVolume(cluster.storage, src.volume_id);
      const scratch = join(a1.target, 'scratch.bin');
      await clock.timed('write 32 MiB + fsync', () => writeFileSynced(scratch, randomBytes(32 * MiB)));
      const written = await thinMappedBytes(runner, srcLv.vg, srcLv.lv, ctx.signal);
      await rm(scratch);
      // The freed blocks reach ext4's free bitmap only once the journal commits the delete.
      await runner.run({ file: 'sync', args: ['-f', a1.target], timeoutMs: 60_000 }, ctx.signal);
      const trim = await clock.timed('fstrim the pod mount', () => runner.run({ file: 'fstrim', args: ['-v', a1.target], timeoutMs: 300_000 }, ctx.signal));
      const trimmed = await thinMappedBytes(runner, srcLv.vg, srcLv.lv, ctx.signal);
      clock.note(`fstrim: ${trim.stdout.trim()}; the LV mapped ${written} bytes after the write, ${trimmed} after delete + fstrim`);
      assert.ok(written - trimmed >= 28 * MiB, `the thin LV gives back the deleted file's 32 MiB: ${written} -> ${trimmed} bytes mapped`);
      assert.equal(sha256(await readFile(join(a1.target, 'data.bin'))), checksum, 'data intact after fstrim');

      // Snapshot, and a restore into a larger volume, attached to worker 2.
      const snap = (await clock.timed('CreateSnapshot snap-ks-1', () => ctl.createSnapshot({ name: 'snap-ks-1', source_volume_id: src.volume_id, parameters: {} }))).snapshot!;
      assert.equal(snap.ready_to_use, true);
      assert.equal(snap.source_volume_id, src.volume_id);
      assert.ok(Number(snap.size_bytes) >= 128 * MiB, `the snapshot reports its size: ${snap.size_bytes}`);
      const again = (await clock.timed('CreateSnapshot snap-ks-1 again', () => ctl.createSnapshot({ name: 'snap-ks-1', source_volume_id: src.volume_id, parameters: {} }))).snapshot!;
      assert.equal(again.snapshot_id, snap.snapshot_id, 'CreateSnapshot is idempotent by name');
      const restored = (
        await clock.timed('CreateVolume pvc-ks-restore from the snapshot (160 MiB)', () =>
          ctl.createVolume({
            name: 'pvc-ks-restore',
            capacity_range: { required_bytes: 160 * MiB },
            volume_capabilities: [EXT4_RWO],
            parameters: { fsType: 'ext4' },
            volume_content_source: { snapshot: { snapshot_id: snap.snapshot_id } },
          }),
        )
      ).volume!;
      assert.equal(restored.content_source?.snapshot?.snapshot_id, snap.snapshot_id, 'the restore names its source');
      assert.equal(Number(restored.capacity_bytes), 160 * MiB);
      const pub2 = await clock.timed('ControllerPublishVolume restore to worker-2', () =>
        ctl.controllerPublishVolume({ volume_id: restored.volume_id, node_id: w2.nodeId, volume_capability: EXT4_RWO, readonly: false }),
      );
      const restoreTargetIqn = pub2.publish_context['targetIqn']!;
      assert.notEqual(restoreTargetIqn, srcTargetIqn);
      assert.notEqual(pub2.publish_context['serial'], pub1.publish_context['serial'], 'a restore is another LUN with its own serial');
      assert.deepEqual((await lio.readExport(restoreTargetIqn))?.acls.map((a) => a.initiatorIqn), [w2.nodeId], 'the ACL names worker 2 only');
      const a2 = await stageAndPublish(clock, kubeletDir, w2, { volumeId: restored.volume_id, pvName: 'pvc-ks-restore', podUid: 'pod-b', capability: EXT4_RWO, publishContext: pub2.publish_context });
      const sessions = (await iscsiadm.listSessionDetails(ctx.signal)).filter((s) => s.targetIqn === restoreTargetIqn);
      assert.deepEqual(sessions.map((s) => [s.ifaceName, s.initiatorName]), [['vbs-ks-w2', w2.nodeId]], 'worker 2 logged in through its own iface and initiator name');
      assert.equal(sha256(await readFile(join(a2.target, 'data.bin'))), checksum, 'the restored volume holds the same data');
      const restoredFs = await filesystemBytes(a2.target);
      assert.ok(restoredFs > 140 * MiB, `NodeStage grew the restored filesystem to the larger volume: ${restoredFs}`);
      clock.note(`restore on worker 2: checksum equal, filesystem ${restoredFs} bytes`);

      // Teardown in Kubernetes' order: pods go, then the attachments, then the PVCs, then the snapshot.
      for (const [a, nodeId] of [[a2, w2.nodeId], [a1, w1.nodeId]] as const) {
        await unpublishAndUnstage(clock, a);
        const req = { volume_id: a.volumeId, node_id: nodeId };
        await clock.timed(`ControllerUnpublishVolume ${a.volumeId}`, () => ctl.controllerUnpublishVolume(req));
        await clock.timed(`ControllerUnpublishVolume ${a.volumeId} again`, () => ctl.controllerUnpublishVolume(req));
      }
      assert.deepEqual((await lio.readExport(srcTargetIqn))?.acls ?? [], [], 'no ACL is left once unpublished');
      await clock.timed('DeleteVolume pvc-ks-restore', () => ctl.deleteVolume({ volume_id: restored.volume_id }));
      await clock.timed('DeleteVolume pvc-ks-restore again', () => ctl.deleteVolume({ volume_id: restored.volume_id }));
      // The PVC of the source goes while its VolumeSnapshot still exists. The agent refuses to
      // delete a volume with snapshots (FAILED_PRECONDITION, src/agent/AgentVolumes.ts deleteVolume),
      // and external-provisioner retries DeleteVolume until it succeeds: here, once the snapshot is gone.
      const early = await ctl.deleteVolume({ volume_id: src.volume_id }).then(() => undefined, (e: ServiceError) => e);
      if (early) {
        assert.ok(early.code === grpcStatus.FAILED_PRECONDITION || early.code === grpcStatus.ABORTED, `DeleteVolume of a snapshotted volume: ${early.code} ${early.details}`);
        clock.note(`DeleteVolume pvc-ks-src while its snapshot exists: code ${early.code} (${early.details}); retried after DeleteSnapshot`);
      }
      await clock.timed('DeleteSnapshot', () => ctl.deleteSnapshot({ snapshot_id: snap.snapshot_id }));
      await clock.timed('DeleteSnapshot again', () => ctl.deleteSnapshot({ snapshot_id: snap.snapshot_id }));
      await clock.timed('DeleteVolume pvc-ks-src', () => ctl.deleteVolume({ volume_id: src.volume_id }));
      await clock.timed('DeleteVolume pvc-ks-src again', () => ctl.deleteVolume({ volume_id: src.volume_id }));
      await assert.rejects(ctl.controllerGetVolume({ volume_id: src.volume_id }), (e: ServiceError) => e.code === grpcStatus.NOT_FOUND);
      assert.deepEqual(await cluster.findResidue(), [], 'nothing is left: no session, node record, mount, dm device, target, ACL, LV or stage record');
      clock.note('teardown left nothing behind');
      ctx.log(`timings: ${clock.summary()}`);
    });
  },
};

async function blockdevSize(cluster: CsiCluster, device: string): Promise<number> {
  return Number((await cluster.runner.run({ file: 'blockdev', args: ['--getsize64', device], timeoutMs: 30_000 })).stdout.trim());
}

/** df's size: blocks × block size of the mounted filesystem. */
async function filesystemBytes(path: string): Promise<number> {
  const st = await statfs(path);
  return st.blocks * st.bsize;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
