import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { Volume__Output as Volume } from '../../src/generated/csi/v1/Volume.ts';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { buildDmName } from '../../src/node/index.ts';
import { withCsiCluster } from '../support/csiCluster.ts';
import type { CsiCluster } from '../support/csiCluster.ts';
import { ddRead, ddWrite } from '../support/diskIo.ts';
import { stageAndPublish, unpublishAndUnstage } from '../support/kubeletCalls.ts';
import type { Attachment } from '../support/kubeletCalls.ts';
import { createStepClock, retryingAsCo } from '../support/stepClock.ts';
import type { StepClock } from '../support/stepClock.ts';
import { backstoreAttribute, lvOfVolume, lvmDmName, poolUsedBytes, queueDiscardLimits, soleSlave, thinMappedBytes } from '../support/thinUsage.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

const MiB = 1024 * 1024;
const BLOCK_RWX: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
const BLOCK_RWO: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const WORKER2_IFACE = 'vbs-kb-w2';

/**
 * Issue 5 item 7, KubeVirt live migration through the real roles as processes: one raw block
 * volume (MULTI_NODE_MULTI_WRITER) published by the controller to two workers at once and staged
 * and published on both (two initiator names, the second through its own iface), written from
 * both with O_DIRECT at distinct offsets and each side reading the other's write. The VM disk is
 * then resized online: ControllerExpandVolume asks for node expansion, NodeExpandVolume on both
 * workers with the publish path and no staging path, and `blockdev --getsize64` of both published
 * devices is the new size, the data intact. Then a SINGLE_NODE_WRITER volume in use on worker 1
 * is refused to worker 2 (FAILED_PRECONDITION) while worker 1 keeps its access; on it, thin
 * provisioning across iSCSI (discard advertised, no false LBPRZ, CDI's qemu-img import). Torn down
 * in Kubernetes' order; nothing is left.
 */
export const kubernetesSequenceBlockRwxScenario: Scenario = {
  name: 'kubernetes sequence: raw block MULTI_NODE_MULTI_WRITER on two workers at once (live migration), written from both; a SINGLE_NODE_WRITER volume refused to a second node',
  timeoutMs: 1_500_000,
  async run(ctx) {
    const { signal } = ctx;
    const clock = retryingAsCo(createStepClock(ctx), ctx.signal);
    await withCsiCluster(ctx, clock, {
      vgPrefix: 'vbs-kb',
      iqnPrefix: 'iqn.2026-11.io.vbs-kb',
      workers: [{ name: 'worker-1' }, { name: 'worker-2', initiatorName: 'iqn.2026-11.io.vbs-e2e:kb-worker-2', iscsiIface: WORKER2_IFACE }],
    }, async (cluster) => {
      const { controller: ctl, kubeletDir, runner } = cluster;
      const [w1, w2] = cluster.workers as [CsiCluster['workers'][0], CsiCluster['workers'][0]];
      const iscsiadm = new Iscsiadm({ runner });
      const lio = new LioTarget({ configFs: new FsConfigFs() });

      // A VM disk: block, RWX. The source pod runs on worker 1, the migration target on worker 2.
      const vol = (await clock.timed('CreateVolume pvc-vm-disk (32 MiB block RWX)', () =>
        ctl.createVolume({ name: 'pvc-vm-disk', capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [BLOCK_RWX], parameters: {} }),
      )).volume!;
      const sides: Attachment[] = [];
      for (const [w, pod] of [[w1, 'virt-launcher-src'], [w2, 'virt-launcher-dst']] as const) {
        const pub = await clock.timed(`ControllerPublishVolume to ${w.name}`, () =>
          ctl.controllerPublishVolume({ volume_id: vol.volume_id, node_id: w.nodeId, volume_capability: BLOCK_RWX, readonly: false }),
        );
        sides.push(await stageAndPublish(clock, kubeletDir, w, { volumeId: vol.volume_id, pvName: 'pvc-vm-disk', podUid: pod, capability: BLOCK_RWX, publishContext: pub.publish_context }));
      }
      const [s1, s2] = sides as [Attachment, Attachment];
      const vmDiskIqn = (await ctl.controllerGetVolume({ volume_id: vol.volume_id })).status?.published_node_ids;
      assert.deepEqual([...(vmDiskIqn ?? [])].sort(), [w1.nodeId, w2.nodeId].sort(), 'the controller reports both nodes');
      const targetIqn = (await iscsiadm.listSessionDetails(signal)).filter((s) => s.targetIqn.startsWith(`${cluster!.iqnPrefix}:`));
      assert.deepEqual(
        targetIqn.map((s) => [s.ifaceName ?? 'default', s.initiatorName]).sort(),
        [['default', w1.nodeId], [WORKER2_IFACE, w2.nodeId]].sort(),
        'one session per worker, each under its own initiator name',
      );

      const chunk1 = randomBytes(MiB);
      const chunk2 = randomBytes(MiB);
      await clock.timed('worker-1 writes 1 MiB at offset 0 (O_DIRECT)', () => ddWrite(runner, ctx, s1.target, chunk1, 0, signal));
      await clock.timed('worker-2 writes 1 MiB at offset 1 MiB (O_DIRECT)', () => ddWrite(runner, ctx, s2.target, chunk2, 1, signal));
      assert.equal(sha256(await ddRead(runner, ctx, s2.target, 0, signal)), sha256(chunk1), 'worker 2 reads what worker 1 wrote');
      assert.equal(sha256(await ddRead(runner, ctx, s1.target, 1, signal)), sha256(chunk2), 'worker 1 reads what worker 2 wrote');
      clock.note('both workers wrote the shared block volume and read each other\'s data');

      // The VM disk is resized while the VM runs on both nodes: the controller grows the LV, and
      // kubelet calls NodeExpandVolume on each node with the publish path (a device file) and, for
      // a block volume, no staging path. The device the VM opens must grow in place.
      // A second pod on worker 1 has the same disk read-only (its own read-only dm device): it must grow too.
      const roTarget = `${s1.target}-readonly`;
      const roPublish = { volume_id: vol.volume_id, staging_target_path: s1.staging, target_path: roTarget, volume_capability: BLOCK_RWX, readonly: true };
      await clock.timed('worker-1: NodePublishVolume read-only to a second pod', () => w1.csi.node.nodePublishVolume(roPublish));
      const cexp = await clock.timed('ControllerExpandVolume pvc-vm-disk to 48 MiB', () =>
        ctl.controllerExpandVolume({ volume_id: vol.volume_id, capacity_range: { required_bytes: 48 * MiB }, volume_capability: BLOCK_RWX }),
      );
      assert.equal(Number(cexp.capacity_bytes), 48 * MiB);
      assert.equal(cexp.node_expansion_required, true, 'a block volume needs NodeExpandVolume too: its device on the node grows only there');
      for (const side of sides) {
        const expand = { volume_id: vol.volume_id, volume_path: side.target, capacity_range: { required_bytes: 48 * MiB }, volume_capability: BLOCK_RWX };
        const nexp = await clock.timed(`${side.worker.name}: NodeExpandVolume (rescan, dm reload)`, () => side.worker.csi.node.nodeExpandVolume(expand));
        assert.equal(Number(nexp.capacity_bytes), 48 * MiB);
        await clock.timed(`${side.worker.name}: NodeExpandVolume again`, () => side.worker.csi.node.nodeExpandVolume(expand));
        assert.equal(await blockdevSize(cluster, side.target), 48 * MiB, `blockdev --getsize64 ${side.target} on ${side.worker.name}: the published device grew`);
      }
      await clock.timed('worker-1: NodeExpandVolume at the read-only target', () =>
        w1.csi.node.nodeExpandVolume({ volume_id: vol.volume_id, volume_path: roTarget, capacity_range: { required_bytes: 48 * MiB }, volume_capability: BLOCK_RWX }),
      );
      assert.equal(await blockdevSize(cluster, roTarget), 48 * MiB, `blockdev --getsize64 ${roTarget}: the read-only device grew too`);
      await assert.rejects(ddWrite(runner, ctx, roTarget, randomBytes(MiB), 0, signal), 'the grown read-only device still refuses writes');
      await clock.timed('worker-1: NodeUnpublishVolume the read-only target', () => w1.csi.node.nodeUnpublishVolume({ volume_id: vol.volume_id, target_path: roTarget }));
      assert.equal(sha256(await ddRead(runner, ctx, s1.target, 0, signal)), sha256(chunk1), 'data written before the resize is intact');
      assert.equal(sha256(await ddRead(runner, ctx, s2.target, 1, signal)), sha256(chunk2), 'data written before the resize is intact');
      const tail = randomBytes(MiB);
      await ddWrite(runner, ctx, s2.target, tail, 47, signal);
      assert.equal(sha256(await ddRead(runner, ctx, s1.target, 47, signal)), sha256(tail), 'the new last MiB, written on worker 2, reads back on worker 1');
      clock.note('resized online: both published devices are 48 MiB, old data intact, the new space usable from both');

      // The migration ends: the source side goes first, the target keeps running.
      await unpublishAndUnstage(clock, s1);
      await clock.timed('ControllerUnpublishVolume from worker-1', () => ctl.controllerUnpublishVolume({ volume_id: vol.volume_id, node_id: w1.nodeId }));
      assert.equal(sha256(await ddRead(runner, ctx, s2.target, 0, signal)), sha256(chunk1), 'worker 2 still reads the disk after worker 1 left');

      // A single-node writer in use on worker 1 cannot be published to worker 2.
      const rwo = (await clock.timed('CreateVolume pvc-rwo (128 MiB block RWO)', () =>
        ctl.createVolume({ name: 'pvc-rwo', capacity_range: { required_bytes: 128 * MiB }, volume_capabilities: [BLOCK_RWO], parameters: {} }),
      )).volume!;
      const rwoPub = await clock.timed('ControllerPublishVolume pvc-rwo to worker-1', () =>
        ctl.controllerPublishVolume({ volume_id: rwo.volume_id, node_id: w1.nodeId, volume_capability: BLOCK_RWO, readonly: false }),
      );
      const rwoSide = await stageAndPublish(clock, kubeletDir, w1, { volumeId: rwo.volume_id, pvName: 'pvc-rwo', podUid: 'pod-rwo', capability: BLOCK_RWO, publishContext: rwoPub.publish_context });
      await thinProvisioningAcrossIscsi(ctx, cluster, clock, rwo, rwoSide);
      const refused = await clock.timed('ControllerPublishVolume pvc-rwo to worker-2 (refused)', () =>
        ctl.controllerPublishVolume({ volume_id: rwo.volume_id, node_id: w2.nodeId, volume_capability: BLOCK_RWO, readonly: false }).then(
          () => undefined,
          (e: ServiceError) => e,
        ),
      );
      assert.equal(refused?.code, grpcStatus.FAILED_PRECONDITION, `a second node for a SINGLE_NODE_WRITER volume: ${refused?.code} ${refused?.details}`);
      clock.note(`refused: ${refused.details}`);
      const rwoIqn = rwoPub.publish_context['targetIqn']!;
      assert.deepEqual((await lio.readExport(rwoIqn))?.acls.map((a) => a.initiatorIqn), [w1.nodeId], 'no ACL was added for worker 2');
      const mine = randomBytes(MiB);
      await ddWrite(runner, ctx, rwoSide.target, mine, 2, signal);
      assert.equal(sha256(await ddRead(runner, ctx, rwoSide.target, 2, signal)), sha256(mine), 'worker 1 keeps its access');

      // Teardown.
      for (const [a, nodeId] of [[rwoSide, w1.nodeId], [s2, w2.nodeId]] as const) {
        await unpublishAndUnstage(clock, a);
        await clock.timed(`ControllerUnpublishVolume ${a.volumeId}`, () => ctl.controllerUnpublishVolume({ volume_id: a.volumeId, node_id: nodeId }));
        await clock.timed(`ControllerUnpublishVolume ${a.volumeId} again`, () => ctl.controllerUnpublishVolume({ volume_id: a.volumeId, node_id: nodeId }));
      }
      for (const id of [rwo.volume_id, vol.volume_id]) {
        await clock.timed(`DeleteVolume ${id}`, () => ctl.deleteVolume({ volume_id: id }));
        await clock.timed(`DeleteVolume ${id} again`, () => ctl.deleteVolume({ volume_id: id }));
      }
      assert.deepEqual(await cluster.findResidue(), [], 'nothing is left: no session, node record, mount, dm device, target, ACL, LV or stage record');
      clock.note('teardown left nothing behind');
      ctx.log(`timings: ${clock.summary()}`);
    });
  },
};

/**
 * Thin provisioning across the iSCSI boundary, on a fresh thin block volume published to worker 1.
 *  - The LUN advertises UNMAP and WRITE SAME with UNMAP (LIO emulate_tpu, emulate_tpws) and the
 *    worker's dm device passes discards on (queue limits): fstrim reaching dm-thin is proved in the
 *    filesystem sequence (kubernetesSequence.scenario.ts).
 *  - It does not claim that unmapped blocks read as zeroes (LBPRZ, unmap_zeroes_data = 0), because
 *    that would be false: LIO carries out WRITE SAME with UNMAP as a plain discard of the LV
 *    (target_core_sbc.c, sbc_execute_write_same_unmap), and dm-thin completes a discard of less than
 *    a pool chunk without unmapping anything (dm-thin.c, process_discard_bio: "The discard covers
 *    less than a block"). Shown here on the LV itself; then a 4 KiB WRITE ZEROES with unmap allowed
 *    from the worker (what ext4's zeroout or a VM's virtio-blk write-zeroes send) must read zeroes.
 *  - CDI's import (`qemu-img convert -n -O raw -t none -T none IMAGE DEVICE`) of a sparse qcow2:
 *    the device must hold the image with its holes reading as zeroes; how much of the pool the
 *    import took is reported (without LBPRZ the initiator zeroes holes by writing them).
 */
async function thinProvisioningAcrossIscsi(ctx: ScenarioContext, cluster: CsiCluster, clock: StepClock, volume: Volume, side: Attachment): Promise<void> {
  const { runner } = cluster;
  const { signal } = ctx;
  const { vg, lv } = lvOfVolume(cluster.storage, volume.volume_id);
  const sh = (file: string, args: string[]) => runner.run({ file, args, timeoutMs: 300_000 }, signal);
  const dm = `/dev/mapper/${buildDmName(side.worker.nodeId, volume.volume_id)}`;
  const lvDevice = `/dev/mapper/${lvmDmName(vg, lv)}`;
  const attrs: Record<string, string> = {};
  for (const a of ['emulate_tpu', 'emulate_tpws', 'unmap_zeroes_data', 'max_unmap_lba_count', 'max_unmap_block_desc_count', 'unmap_granularity', 'max_write_same_len']) attrs[a] = await backstoreAttribute(lv, a);
  const queues = { lv: await queueDiscardLimits(lvDevice), disk: await queueDiscardLimits(await soleSlave(dm)), dm: await queueDiscardLimits(dm) };
  clock.note(`LIO backstore ${lv}: ${JSON.stringify(attrs)}; queues: ${JSON.stringify(queues)}`);
  assert.deepEqual([attrs['emulate_tpu'], attrs['emulate_tpws'], attrs['unmap_zeroes_data']], ['1', '1', '0'], 'a thin LUN advertises UNMAP and WRITE SAME with UNMAP, and never that unmapped blocks read as zeroes');
  assert.ok(queues.disk.discardMaxBytes > 0 && queues.dm.discardMaxBytes > 0, 'the SCSI disk and the dm device over it accept discards');

  // dm-thin ignores a discard of less than a chunk: the data stays.
  const pattern = randomBytes(MiB);
  await ddWrite(runner, ctx, side.target, pattern, 100, signal);
  // --force: LIO holds the LV open exclusively, and blkdiscard would refuse it.
  await sh('blkdiscard', ['--force', '--offset', String(100 * MiB + 4096), '--length', '4096', lvDevice]);
  const afterDiscard = await ddRead(runner, ctx, side.target, 100, signal);
  clock.note(`4 KiB discard on the thin LV: ${afterDiscard.equals(pattern) ? 'ignored, the old data still reads back' : 'changed the data'}`);
  assert.ok(afterDiscard.equals(pattern), 'dm-thin leaves a discard of less than a chunk undone (why the LUN must not claim LBPRZ)');
  // So zeroing with unmap allowed must still zero: fallocate's punch hole on a block device.
  await sh('fallocate', ['--punch-hole', '--offset', String(100 * MiB + 4096), '--length', '4096', side.target]);
  const afterZero = await ddRead(runner, ctx, side.target, 100, signal);
  const expected = Buffer.from(pattern);
  expected.fill(0, 4096, 8192);
  assert.ok(afterZero.equals(expected), 'a 4 KiB WRITE ZEROES with unmap allowed reads back as zeroes, the rest of the MiB unchanged');
  await ddWrite(runner, ctx, side.target, Buffer.alloc(MiB), 100, signal); // past the image: must read zeroes for qemu-img compare

  // A 96 MiB image with 4 MiB of data in two places; the rest are holes.
  const image = join(ctx.workDir, 'vm-disk.qcow2');
  await sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '96M']);
  await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 2M', '-c', 'write -P 0xa5 64M 2M', image]);
  const before = await thinMappedBytes(runner, vg, lv, signal);
  const poolBefore = await poolUsedBytes(runner, vg, 'pool', signal);
  // CDI's command, but for -T none: the image sits on the guest's tmpfs, which has no O_DIRECT.
  await clock.timed('CDI import: qemu-img convert -n -O raw -t none (96 MiB qcow2, 4 MiB of data)', () =>
    sh('qemu-img', ['convert', '-n', '-f', 'qcow2', '-O', 'raw', '-t', 'none', image, side.target]),
  );
  const grew = (await thinMappedBytes(runner, vg, lv, signal)) - before;
  const poolGrew = (await poolUsedBytes(runner, vg, 'pool', signal)) - poolBefore;
  clock.note(`CDI import of 4 MiB of data in a 96 MiB image: the LV mapped ${grew} bytes more, the pool ${poolGrew}`);
  await clock.timed('qemu-img compare: the device holds the image, holes read as zeroes', () => sh('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', image, side.target]));
}

async function blockdevSize(cluster: CsiCluster, device: string): Promise<number> {
  return Number((await cluster.runner.run({ file: 'blockdev', args: ['--getsize64', device], timeoutMs: 30_000 })).stdout.trim());
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
