import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { withCsiCluster } from '../support/csiCluster.ts';
import type { CsiCluster } from '../support/csiCluster.ts';
import { ddRead, ddWrite } from '../support/diskIo.ts';
import { stageAndPublish, unpublishAndUnstage } from '../support/kubeletCalls.ts';
import type { Attachment } from '../support/kubeletCalls.ts';
import { createStepClock, retryingAsCo } from '../support/stepClock.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;
const BLOCK_RWX: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
const BLOCK_RWO: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const WORKER2_IFACE = 'vbs-kb-w2';

/**
 * Issue 5 item 7, KubeVirt live migration through the real roles as processes: one raw block
 * volume (MULTI_NODE_MULTI_WRITER) published by the controller to two workers at once and staged
 * and published on both (two initiator names, the second through its own iface), written from
 * both with O_DIRECT at distinct offsets and each side reading the other's write. Then a
 * SINGLE_NODE_WRITER volume in use on worker 1 is refused to worker 2 (FAILED_PRECONDITION)
 * while worker 1 keeps its access. Torn down in Kubernetes' order; nothing is left.
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

      // The migration ends: the source side goes first, the target keeps running.
      await unpublishAndUnstage(clock, s1);
      await clock.timed('ControllerUnpublishVolume from worker-1', () => ctl.controllerUnpublishVolume({ volume_id: vol.volume_id, node_id: w1.nodeId }));
      assert.equal(sha256(await ddRead(runner, ctx, s2.target, 0, signal)), sha256(chunk1), 'worker 2 still reads the disk after worker 1 left');

      // A single-node writer in use on worker 1 cannot be published to worker 2.
      const rwo = (await clock.timed('CreateVolume pvc-rwo (16 MiB block RWO)', () =>
        ctl.createVolume({ name: 'pvc-rwo', capacity_range: { required_bytes: 16 * MiB }, volume_capabilities: [BLOCK_RWO], parameters: {} }),
      )).volume!;
      const rwoPub = await clock.timed('ControllerPublishVolume pvc-rwo to worker-1', () =>
        ctl.controllerPublishVolume({ volume_id: rwo.volume_id, node_id: w1.nodeId, volume_capability: BLOCK_RWO, readonly: false }),
      );
      const rwoSide = await stageAndPublish(clock, kubeletDir, w1, { volumeId: rwo.volume_id, pvName: 'pvc-rwo', podUid: 'pod-rwo', capability: BLOCK_RWO, publishContext: rwoPub.publish_context });
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

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
