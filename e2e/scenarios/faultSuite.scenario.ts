import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { withCsiCluster } from '../support/csiCluster.ts';
import type { CsiCluster } from '../support/csiCluster.ts';
import { ddRead, ddWrite, writeFileSynced } from '../support/diskIo.ts';
import { stageAndPublish, unpublishAndUnstage } from '../support/kubeletCalls.ts';
import type { Attachment } from '../support/kubeletCalls.ts';
import { createStepClock, retryingAsCo } from '../support/stepClock.ts';
import type { StepClock } from '../support/stepClock.ts';
import { StorageInspection } from '../support/storageInspection.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;
const EXT4_RWO: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BLOCK_RWO: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BLOCK_RWX: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };

/**
 * Every crash point of the driver (src/faults/crashPoint.ts), by role. Each is armed once; the
 * processes run supervised, so a role killed at a point is started again at once, as the kubelet
 * restarts a crashed container, and the CO's retry meets the new process.
 * test/faults/crashPointsArmed.test.ts checks that this list and the points in src/ agree.
 */
export const FAULT_POINTS = {
  agent: [
    'agent.create-volume.after-lv',
    'agent.create-volume.after-clone-lv',
    'agent.export-volume.after-tag',
    'agent.expand-volume.after-lvextend',
    'agent.expand-volume.after-growth-lv',
    'agent.expand-volume.after-growth-lv-removed',
    'agent.create-snapshot.after-lv',
    'agent.unexport-volume.after-tag',
    'agent.delete-volume.after-unexport',
    'agent.zero-volume.after-chunk',
  ],
  controller: [
    'controller.CreateVolume.before-reply',
    'controller.ControllerPublishVolume.before-reply',
    'controller.ControllerExpandVolume.before-reply',
    'controller.CreateSnapshot.before-reply',
    'controller.ControllerUnpublishVolume.before-reply',
    'controller.DeleteVolume.before-reply',
  ],
  node: [
    'node.stage.after-login',
    'node.stage.after-mkfs',
    'node.publish.after-mount',
    'node.publish.after-readonly-device',
    'node.unpublish.after-unmount',
    'node.expand.after-dm-reload',
    'node.unstage.after-unmount',
    'node.unstage.after-dm-remove',
  ],
} as const;

/**
 * Issue 7's fault suite: kill -9 of the controller, an agent or the node plugin at each step of
 * create, publish, stage, expand, snapshot, unpublish and delete, with every crash point armed at
 * once (each fires once, the process is restarted, the CO retries on UNAVAILABLE/ABORTED). After
 * each step the state is checked against what lvm, LIO and the kernel say: one LV per name, one
 * snapshot, the ACL of the one worker and then none; the written data keeps its checksum across
 * the expand, in a restore from the snapshot into a larger volume and in a clone of the volume; at the end every point has fired and nothing is
 * left (no LV, target, ACL, session, node record, dm device, mount or stage record).
 * Agent restarts under sustained writes are kubernetesSequenceAgentRestart's part.
 */
export const faultSuiteScenario: Scenario = {
  name: 'fault suite: kill -9 of controller, agent or node plugin at each step of create, publish, stage, expand, snapshot and delete; retries converge, data intact, nothing left',
  timeoutMs: 1_800_000,
  async run(ctx) {
    const clock = retryingAsCo(createStepClock(ctx), ctx.signal, 420_000);
    const onceDir = join(ctx.workDir, 'fault-points');
    await mkdir(onceDir, { recursive: true });
    const spec = { vgPrefix: 'vbs-fs', iqnPrefix: 'iqn.2026-11.io.vbs-fs', workers: [{ name: 'worker-1' }], faults: { onceDir, points: FAULT_POINTS }, quiet: true };
    await withCsiCluster(ctx, clock, spec, async (cluster) => {
      const { controller: ctl, kubeletDir } = cluster;
      const w1 = cluster.workers[0]!;
      const inspect = new StorageInspection(cluster.runner, ctx.signal);
      const lio = new LioTarget({ configFs: new FsConfigFs() });
      const vgs = cluster.storage.map((s) => s.vg);
      const fired = async (): Promise<string[]> => (await readdir(onceDir)).sort();
      /** Runs a step and logs which crash points fired during it. */
      const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
        const before = new Set(await fired());
        const result = await clock.timed(what, fn);
        const now = (await fired()).filter((p) => !before.has(p));
        clock.note(`${what}: crash points fired: ${now.join(', ') || 'none'}`);
        return result;
      };
      const lvsNamed = async (name: string) => (await inspect.lvs(vgs)).filter((lv) => lv.tags['name'] === name);
      const aclsOf = async (targetIqn: string) => ((await lio.readExport(targetIqn))?.acls ?? []).map((a) => a.initiatorIqn);

      // Create and publish.
      const vol = (await step('CreateVolume pvc-fault (96 MiB ext4)', () =>
        ctl.createVolume({ name: 'pvc-fault', capacity_range: { required_bytes: 96 * MiB }, volume_capabilities: [EXT4_RWO], parameters: {} }),
      )).volume!;
      assert.equal((await lvsNamed('pvc-fault')).length, 1, 'one LV for the name across both VGs after the crashes');
      const pub = await step('ControllerPublishVolume to worker-1', () =>
        ctl.controllerPublishVolume({ volume_id: vol.volume_id, node_id: w1.nodeId, volume_capability: EXT4_RWO, readonly: false }),
      );
      const targetIqn = pub.publish_context['targetIqn']!;
      assert.deepEqual(await aclsOf(targetIqn), [w1.nodeId], 'the ACL names worker 1, once');

      // A thick volume: the agent dies while zeroing it; the retry zeroes it again before its first export.
      const thick = (await step('CreateVolume pvc-fault-thick (32 MiB thick block)', () =>
        ctl.createVolume({ name: 'pvc-fault-thick', capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [BLOCK_RWO], parameters: { provisioning: 'thick' } }),
      )).volume!;
      const [thickLv] = await lvsNamed('pvc-fault-thick');
      assert.equal(thickLv?.tags['zeroing'], undefined, 'zeroed and untagged after the crash and the retry');
      // Its expand: the agent dies holding zeroed-to-be extents in a growth LV, and again after removing it before lvextend.
      await step('ControllerExpandVolume pvc-fault-thick to 64 MiB', () =>
        ctl.controllerExpandVolume({ volume_id: thick.volume_id, capacity_range: { required_bytes: 64 * MiB }, volume_capability: BLOCK_RWO }),
      );
      assert.equal((await lvsNamed('pvc-fault-thick'))[0]?.sizeBytes, 64 * MiB, 'the thick LV grew once to 64 MiB');
      assert.deepEqual((await inspect.lvs(vgs)).map((lv) => lv.name).filter((name) => name.startsWith('vbs-grow-')), [], 'no growth LV left behind');
      await step('DeleteVolume pvc-fault-thick', () => ctl.deleteVolume({ volume_id: thick.volume_id }));

      // Stage, publish, write.
      const a1 = await step('NodeStage + NodePublish', () =>
        stageAndPublish(clock, kubeletDir, w1, { volumeId: vol.volume_id, pvName: 'pvc-fault', podUid: 'pod-f', capability: EXT4_RWO, publishContext: pub.publish_context }),
      );
      const data = randomBytes(16 * MiB);
      const checksum = sha256(data);
      await clock.timed('write 16 MiB + fsync through the pod mount', () => writeFileSynced(join(a1.target, 'data.bin'), data));

      // Expand online.
      await step('ControllerExpandVolume to 160 MiB', () =>
        ctl.controllerExpandVolume({ volume_id: vol.volume_id, capacity_range: { required_bytes: 160 * MiB }, volume_capability: EXT4_RWO }),
      );
      const [lv] = await lvsNamed('pvc-fault');
      assert.equal(lv?.sizeBytes, 160 * MiB, 'the LV grew once to 160 MiB');
      const nexp = await step('NodeExpandVolume', () =>
        w1.csi.node.nodeExpandVolume({ volume_id: vol.volume_id, volume_path: a1.target, staging_target_path: a1.staging, capacity_range: { required_bytes: 160 * MiB }, volume_capability: EXT4_RWO }),
      );
      assert.equal(Number(nexp.capacity_bytes), 160 * MiB);
      const fsBytes = await filesystemBytes(a1.target);
      assert.ok(fsBytes > 140 * MiB, `the filesystem grew after the node crashed between the dm reload and resize2fs: ${fsBytes}`);
      assert.equal(sha256(await readFile(join(a1.target, 'data.bin'))), checksum, 'data intact after the expand');

      // Snapshot, and a restore that must hold the same data.
      const snap = (await step('CreateSnapshot snap-fault', () => ctl.createSnapshot({ name: 'snap-fault', source_volume_id: vol.volume_id, parameters: {} }))).snapshot!;
      assert.equal((await lvsNamed('snap-fault')).length, 1, 'one snapshot LV for the name');
      // Into a larger volume: lvcreate -s then lvextend, with the agent killed between the two.
      const restored = (await step('CreateVolume pvc-fault-restore (192 MiB) from the 160 MiB snapshot', () =>
        ctl.createVolume({
          name: 'pvc-fault-restore',
          capacity_range: { required_bytes: 192 * MiB },
          volume_capabilities: [EXT4_RWO],
          parameters: {},
          volume_content_source: { snapshot: { snapshot_id: snap.snapshot_id } },
        }),
      )).volume!;
      assert.equal(Number(restored.capacity_bytes), 192 * MiB, 'the restore answers its full size');
      const restoredLvs = await lvsNamed('pvc-fault-restore');
      assert.deepEqual(restoredLvs.map((l) => l.sizeBytes), [192 * MiB], 'one restore LV, extended to 192 MiB by the retry');
      const pubR = await step('ControllerPublishVolume restore to worker-1', () =>
        ctl.controllerPublishVolume({ volume_id: restored.volume_id, node_id: w1.nodeId, volume_capability: EXT4_RWO, readonly: false }),
      );
      const aR = await step('NodeStage + NodePublish restore', () =>
        stageAndPublish(clock, kubeletDir, w1, { volumeId: restored.volume_id, pvName: 'pvc-fault-restore', podUid: 'pod-r', capability: EXT4_RWO, publishContext: pubR.publish_context }),
      );
      assert.equal(sha256(await readFile(join(aR.target, 'data.bin'))), checksum, 'the restore holds the data written before the snapshot');
      const clone = (await step('CreateVolume pvc-fault-clone from the volume', () =>
        ctl.createVolume({
          name: 'pvc-fault-clone',
          capacity_range: { required_bytes: 160 * MiB },
          volume_capabilities: [EXT4_RWO],
          parameters: {},
          volume_content_source: { volume: { volume_id: vol.volume_id } },
        }),
      )).volume!;
      const pubC = await step('ControllerPublishVolume clone to worker-1', () =>
        ctl.controllerPublishVolume({ volume_id: clone.volume_id, node_id: w1.nodeId, volume_capability: EXT4_RWO, readonly: false }),
      );
      const aC = await step('NodeStage + NodePublish clone', () =>
        stageAndPublish(clock, kubeletDir, w1, { volumeId: clone.volume_id, pvName: 'pvc-fault-clone', podUid: 'pod-c', capability: EXT4_RWO, publishContext: pubC.publish_context }),
      );
      assert.equal(sha256(await readFile(join(aC.target, 'data.bin'))), checksum, 'the clone holds the data of its source');

      // What the controller reports about the three volumes after all those restarts.
      const home = vol.volume_context['storageNode'];
      for (const v of [restored, clone]) assert.equal(v.volume_context['storageNode'], home, `${v.volume_id} lands on its source's storage node`);
      assert.equal(restored.content_source?.snapshot?.snapshot_id, snap.snapshot_id, 'the restore names its snapshot');
      assert.equal(clone.content_source?.volume?.volume_id, vol.volume_id, 'the clone names its source volume');
      const entries = await clock.timed('ListVolumes in pages of 2', async () => {
        const page1 = await ctl.listVolumes({ max_entries: 2, starting_token: '' });
        assert.notEqual(page1.next_token, '', 'a second page follows');
        const page2 = await ctl.listVolumes({ max_entries: 2, starting_token: page1.next_token });
        return [...page1.entries, ...page2.entries];
      });
      assert.deepEqual(entries.map((e) => e.volume?.volume_id).sort(), [vol, restored, clone].map((v) => v.volume_id).sort(), 'three volumes over two pages');
      for (const e of entries) assert.deepEqual(e.status?.published_node_ids, [w1.nodeId], `${e.volume?.volume_id} is published to worker 1, once`);
      const health = await clock.timed('ControllerGetVolumeHealth', () => ctl.controllerGetVolumeHealth({ volume_id: vol.volume_id }));
      assert.deepEqual(health.volume_health?.health_statuses, [], 'the source volume is healthy');

      // A read-only block target (a VM's read-only disk) gets a read-only dm device of its own:
      // the node is killed after making it, before binding it, and after unpublish removed the
      // target, before removing the device; writes through the target fail either way.
      const blk = (await step('CreateVolume pvc-fault-block (16 MiB block)', () =>
        ctl.createVolume({ name: 'pvc-fault-block', capacity_range: { required_bytes: 16 * MiB }, volume_capabilities: [BLOCK_RWX], parameters: {} }),
      )).volume!;
      const pubB = await step('ControllerPublishVolume block to worker-1', () =>
        ctl.controllerPublishVolume({ volume_id: blk.volume_id, node_id: w1.nodeId, volume_capability: BLOCK_RWX, readonly: false }),
      );
      const aB = await step('NodeStage + NodePublish block', () =>
        stageAndPublish(clock, kubeletDir, w1, { volumeId: blk.volume_id, pvName: 'pvc-fault-block', podUid: 'pod-b', capability: BLOCK_RWX, publishContext: pubB.publish_context }),
      );
      const pattern = randomBytes(MiB);
      await clock.timed('write 1 MiB through the block target', () => ddWrite(cluster.runner, ctx, aB.target, pattern, 0, ctx.signal));
      const roTarget = join(dirname(aB.target), 'pod-b-ro');
      const roPub = { volume_id: blk.volume_id, staging_target_path: aB.staging, target_path: roTarget, volume_capability: BLOCK_RWX, readonly: true };
      await step('NodePublishVolume block read-only', () => w1.csi.node.nodePublishVolume(roPub));
      await clock.timed('NodePublishVolume block read-only again', () => w1.csi.node.nodePublishVolume(roPub));
      const write = await cluster.runner.run({ file: 'dd', args: ['if=/dev/zero', `of=${roTarget}`, 'bs=1M', 'count=1', 'oflag=direct', 'conv=notrunc'], timeoutMs: 60_000, okExitCodes: [0, 1] }, ctx.signal);
      assert.equal(write.exitCode, 1, `a write through the read-only target fails: ${write.stderr}`);
      assert.equal(sha256(await ddRead(cluster.runner, ctx, aB.target, 0, ctx.signal)), sha256(pattern), 'the block volume holds what was written before the read-only publish');
      await step('NodeUnpublishVolume block read-only', () => w1.csi.node.nodeUnpublishVolume({ volume_id: blk.volume_id, target_path: roTarget }));
      await clock.timed('NodeUnpublishVolume block read-only again', () => w1.csi.node.nodeUnpublishVolume({ volume_id: blk.volume_id, target_path: roTarget }));
      await detach(step, clock, ctl, aB, w1.nodeId, pubB.publish_context['targetIqn']!, aclsOf);
      await step('DeleteVolume pvc-fault-block', () => ctl.deleteVolume({ volume_id: blk.volume_id }));

      // Teardown in Kubernetes' order, crashes included.
      await detach(step, clock, ctl, aC, w1.nodeId, pubC.publish_context['targetIqn']!, aclsOf);
      await detach(step, clock, ctl, aR, w1.nodeId, pubR.publish_context['targetIqn']!, aclsOf);
      await step('DeleteVolume pvc-fault-clone', () => ctl.deleteVolume({ volume_id: clone.volume_id }));
      await detach(step, clock, ctl, a1, w1.nodeId, targetIqn, aclsOf);
      await step('DeleteVolume pvc-fault-restore', () => ctl.deleteVolume({ volume_id: restored.volume_id }));
      await step('DeleteSnapshot snap-fault', () => ctl.deleteSnapshot({ snapshot_id: snap.snapshot_id }));
      await step('DeleteVolume pvc-fault', () => ctl.deleteVolume({ volume_id: vol.volume_id }));

      const armed = Object.values(FAULT_POINTS).flat().sort();
      const didFire = await fired();
      assert.deepEqual(armed.filter((p) => !didFire.includes(p)), [], 'every armed crash point fired (a point that never fired proved nothing)');
      assert.deepEqual(await cluster.findResidue(), [], 'nothing is left: no session, node record, mount, dm device, target, ACL, LV or stage record');
      clock.note(`all ${armed.length} crash points fired, each followed by a restart and a retry; nothing left behind`);
      ctx.log(`timings: ${clock.summary()}`);
    });
  },
};

/** Kubelet's unpublish and unstage, then the attacher's ControllerUnpublish; the ACL must be gone after. */
async function detach(
  step: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
  clock: StepClock,
  ctl: CsiCluster['controller'],
  a: Attachment,
  nodeId: string,
  targetIqn: string,
  aclsOf: (iqn: string) => Promise<string[]>,
): Promise<void> {
  await step(`NodeUnpublish + NodeUnstage ${a.volumeId}`, () => unpublishAndUnstage(clock, a));
  await step(`ControllerUnpublishVolume ${a.volumeId}`, () => ctl.controllerUnpublishVolume({ volume_id: a.volumeId, node_id: nodeId }));
  assert.deepEqual(await aclsOf(targetIqn), [], `no ACL is left on ${targetIqn} once unpublished`);
}

async function filesystemBytes(path: string): Promise<number> {
  const st = await statfs(path);
  return st.blocks * st.bsize;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
