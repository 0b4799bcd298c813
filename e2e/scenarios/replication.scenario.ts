import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { execa } from 'execa';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { isMirrorPublishContext, parseMirrorPublishContext } from '../../src/csi/publishContext.ts';
import { parseMirrorVolumeId } from '../../src/csi/volumeIds.ts';
import { buildDmName } from '../../src/node/index.ts';
import { MIRROR_HEADER_BYTES } from '../../src/replication/mirrorRecord.ts';
import { ControllerBed, grpcCodeOf, MiB, retryCsi } from '../support/controllerBed.ts';
import { expectedRingFile } from '../support/ringPattern.ts';
import { startRingWriter } from '../support/ringWriter.ts';
import type { RingWriter } from '../support/ringWriter.ts';
import { recordLioChapSecrets } from '../support/secretLedger.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';


/**
 * The crash points of the replicated volume's multi-step operations, armed in this scenario (the
 * fault suite's bed has one storage node). Each fires once; the process is started again and the
 * CO's retry must converge. test/faults/crashPointsArmed.test.ts checks this list and the fault
 * suite's together name every point in src/.
 */
export const MIRROR_FAULT_POINTS = {
  controller: ['controller.mirror.after-copy'],
  node: [
    'node.stage.mirror.after-login',
    'node.stage.mirror.after-legs',
    'node.stage.mirror.after-raid',
    'node.expand.mirror.after-raid-reload',
    'node.unstage.mirror.after-legs',
  ],
} as const;

const BLOCK_RWO: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const SIZE_BYTES = 64 * MiB;
const EXPANDED_BYTES = 96 * MiB;
const SLOTS = 64;
const BLOCK_BYTES = 64 * 1024;
/**
 * A dead copy fails its leg within noop interval + noop timeout + replacement timeout (5.3 s
 * measured with the copies' 1/2/2 in mirrorKernel, 12.4 s with 2/5/5); anything far beyond means
 * the replicated volume's session settings are not the short ones.
 */
const MAX_STALL_MS = 30_000;

/**
 * Issue 18, "Proved in the real-kernel VM", through the real roles as processes: three storage
 * nodes on removable addresses, a controller and a node plugin. A 2-copy block volume is staged on
 * the worker and written by a checksummed ring writer; one copy's node goes offline under the load
 * (agent killed, address gone: its portal goes silent) → writes continue, the volume reports
 * degraded; it comes back → dirty-region resync, then both copies' data are equal byte for byte.
 * Stale-copy guard: degraded again, more writes, unstage; the fresh copy's node goes offline →
 * staging from the stale copy alone is refused and writes nothing; with the fresh copy back, the
 * volume stages and holds the last writes.
 */
export const replicationScenario: Scenario = {
  name: 'replicated volume (2 copies): a storage node lost under writes, I/O continues and degraded is reported; it returns and resyncs to equal copies; a stale copy alone is never assembled',
  timeoutMs: 1_500_000,
  async run(ctx) {
    const onceDir = join(ctx.workDir, 'fault-points');
    await mkdir(onceDir, { recursive: true });
    const faults = { onceDir, points: MIRROR_FAULT_POINTS };
    await ControllerBed.run(ctx, { tag: 'repl', poolMiB: [256, 256, 256], overprovisionRatio: 5, nodePlugin: true, removableAddresses: true, faults }, async (bed) => {
      const { signal } = ctx;
      const ctl = bed.csi.controller;
      const worker = bed.worker;
      const retry = <T>(fn: () => Promise<T>) => retryCsi(fn, { deadlineMs: Date.now() + 300_000, signal });
      let writer: RingWriter | undefined;
      try {
        // Create, publish, stage (block), publish to a "pod".
        const vol = (await bed.step('CreateVolume pvc-repl (64 MiB block, replicas 2)', () =>
          retry(() => ctl.createVolume({ name: 'pvc-repl', capacity_range: { required_bytes: SIZE_BYTES }, volume_capabilities: [BLOCK_RWO], parameters: { replicas: '2' } })),
        )).volume!;
        assert.ok(parseMirrorVolumeId(vol.volume_id), `a replicated volume's id is @mirror/…: ${vol.volume_id}`);
        const pub = await bed.step('ControllerPublishVolume', () =>
          retry(() => ctl.controllerPublishVolume({ volume_id: vol.volume_id, node_id: worker.nodeId, volume_capability: BLOCK_RWO, readonly: false })),
        );
        assert.ok(isMirrorPublishContext(pub.publish_context));
        const nodes = parseMirrorPublishContext(pub.publish_context).copies.map((c) => c.node);
        assert.equal(nodes.length, 2);
        assert.notEqual(nodes[0], nodes[1], 'two copies on two storage nodes');
        ctx.log(`copies on ${nodes.join(', ')}`);
        const [fresh, other] = nodes as [string, string];

        const csiDir = join(worker.kubelet, 'plugins', 'kubernetes.io', 'csi');
        const staging = join(csiDir, 'volumeDevices', 'staging', 'pvc-repl');
        const target = join(csiDir, 'volumeDevices', 'publish', 'pvc-repl', 'pod-writer');
        await mkdir(staging, { recursive: true });
        const stageReq = { volume_id: vol.volume_id, staging_target_path: staging, volume_capability: BLOCK_RWO, publish_context: pub.publish_context };
        // Three crash points fire in this stage (after the logins, the legs, the raid device): each retry converges.
        await bed.step('NodeStageVolume', () => retry(() => worker.csi.node.nodeStageVolume(stageReq)));
        await bed.step('NodePublishVolume', () => retry(() => worker.csi.node.nodePublishVolume({ ...stageReq, target_path: target, readonly: false })));
        for (const n of bed.nodes) await recordLioChapSecrets(`replication ${n.name}`, n.iqnPrefix);
        const dmName = buildDmName(worker.nodeId, vol.volume_id);
        const raid = await raidStatus(dmName);
        assert.equal(raid.target, 'raid', `the dm device is a raid target: ${raid.raw}`);
        assert.equal(raid.health, 'AA', `both legs alive and in sync: ${raid.raw}`);

        // The writer: blocks of a known pattern, write + fsync each, on the pod's device.
        writer = startRingWriter({ projectRoot: ctx.projectRoot, workDir: ctx.workDir, file: target, slots: SLOTS, blockBytes: BLOCK_BYTES });
        const w = writer;
        const progressed = (atLeast: number, what: string, deadlineMs = 120_000) =>
          pollUntil(() => {
            const p = w.progress();
            if (p.error !== undefined || p.exited) throw new Error(`the writer stopped: ${p.error ?? 'exited'} after ${p.written} blocks`);
            return p.written >= atLeast ? p : undefined;
          }, { deadlineMs: Date.now() + deadlineMs, intervalMs: 250, what, signal });
        await bed.step('writer: first 20 blocks', () => progressed(20, 'the writer to start'));

        // A copy's node dies under the writes.
        await bed.step(`offline ${other} (agent killed, portal silent)`, () => bed.offlineNode(other));
        await bed.step('the raid device shows the dead leg', () => pollUntil(async () => ((await raidStatus(dmName)).health.includes('D') ? true : undefined), { deadlineMs: Date.now() + 60_000, intervalMs: 500, what: 'a D leg', signal }));
        // Counted from the failed leg, so the writes proved are ones the dead copy never took.
        const afterFailure = w.progress().written;
        await bed.step('writer: 40 more blocks on the surviving copy', () => progressed(afterFailure + 40, 'the writer to go on with one copy', 180_000));
        assert.ok(w.progress().maxMs < MAX_STALL_MS, `the longest write + fsync was ${w.progress().maxMs} ms`);
        await bed.step('NodeGetVolumeHealth reports degraded', () =>
          pollUntil(async () => (isDegraded((await worker.csi.node.nodeGetVolumeHealth({ volume_id: vol.volume_id })).volume_health?.health_statuses) ? true : undefined), { deadlineMs: Date.now() + 60_000, intervalMs: 1000, what: 'degraded on the node', signal }),
        );
        const outOfSync = await bed.step(`the mirror watch records ${other}'s copy out of sync in ${fresh}'s tags`, () => waitForRecord(bed, fresh, vol.volume_id, other, 'out-of-sync', signal));
        ctx.log(`record on ${fresh}: generation ${outOfSync}`);
        // The controller reads the record the node's mirror watch bumped (setMirrorRecord) on the surviving copy.
        await bed.step('ControllerGetVolumeHealth reports degraded', () =>
          pollUntil(async () => (isDegraded((await ctl.controllerGetVolumeHealth({ volume_id: vol.volume_id })).volume_health?.health_statuses) ? true : undefined), { deadlineMs: Date.now() + 60_000, intervalMs: 1000, what: 'degraded on the controller', signal }),
        );

        // It comes back: re-login, re-add, resync of the dirty regions only.
        await bed.step(`online ${other}`, () => bed.onlineNode(other));
        await bed.step('resynced: both legs alive and in sync', () =>
          pollUntil(async () => {
            const s = await raidStatus(dmName);
            return s.health === 'AA' && s.syncCurrent === s.syncTotal && s.action === 'idle' ? s : undefined;
          }, { deadlineMs: Date.now() + 300_000, intervalMs: 1000, what: 'the resync to finish', signal }),
        );
        const inSync = await bed.step('the mirror watch records every copy in sync again, on both copies', async () => {
          const onFresh = await waitForRecord(bed, fresh, vol.volume_id, other, 'in-sync', signal);
          // The returned copy, away for the out-of-sync record, catches up to the same generation.
          await waitForRecord(bed, other, vol.volume_id, other, 'in-sync', signal, onFresh);
          return onFresh;
        });
        assert.ok(inSync > outOfSync, `the in-sync record (generation ${inSync}) supersedes the out-of-sync one (${outOfSync})`);
        await bed.step('NodeGetVolumeHealth healthy again', () =>
          pollUntil(async () => ((await worker.csi.node.nodeGetVolumeHealth({ volume_id: vol.volume_id })).volume_health?.health_statuses ?? []).length === 0 ? true : undefined, { deadlineMs: Date.now() + 60_000, intervalMs: 1000, what: 'healthy on the node', signal }),
        );

        // Expansion under the writer: every copy grows, then the raid device (a crash point after its reload).
        await bed.step(`ControllerExpandVolume to ${EXPANDED_BYTES / MiB} MiB`, () => retry(() => ctl.controllerExpandVolume({ volume_id: vol.volume_id, capacity_range: { required_bytes: EXPANDED_BYTES } })));
        await bed.step('NodeExpandVolume', () =>
          retry(() => worker.csi.node.nodeExpandVolume({ volume_id: vol.volume_id, volume_path: target, staging_target_path: staging, capacity_range: { required_bytes: EXPANDED_BYTES }, volume_capability: BLOCK_RWO })),
        );
        const grown = Number((await execa('blockdev', ['--getsize64', target])).stdout.trim());
        assert.equal(grown, EXPANDED_BYTES, 'the pod sees the grown device');
        await bed.step('resynced after the growth', () =>
          pollUntil(async () => {
            const s = await raidStatus(dmName);
            return s.health === 'AA' && s.syncCurrent === s.syncTotal && s.action === 'idle' ? s : undefined;
          }, { deadlineMs: Date.now() + 300_000, intervalMs: 1000, what: 'the grown part to sync', signal }),
        );

        const end = await bed.step('stop the writer', () => w.stop());
        writer = undefined;
        assert.equal(end.error, undefined, `the writer saw an error: ${end.error}`);
        assert.equal(end.exitCode, 0);
        ctx.log(`writer: ${end.written} blocks, longest write + fsync ${end.maxMs} ms`);
        const expected = expectedRingFile(end.written, SLOTS, BLOCK_BYTES);
        assert.equal(sha256(await readDirect(target, expected.length, 0)), sha256(expected), 'the device holds what the writer wrote');
        await bed.step('both copies equal byte for byte (data after the header)', () => assertCopiesEqual(bed, vol.volume_id, nodes));

        // Stale-copy guard. `other` dies again; a write lands on `fresh` only; the worker lets go.
        await bed.step(`offline ${other} again`, () => bed.offlineNode(other));
        const lastWrite = Buffer.alloc(MiB, 0x5a);
        await bed.step('1 MiB written while degraded', () => writeDirect(ctx.workDir, target, lastWrite, 8 * MiB));
        await bed.step(`the mirror watch records ${other}'s copy out of sync in ${fresh}'s tags`, () => waitForRecord(bed, fresh, vol.volume_id, other, 'out-of-sync', signal));
        // A crash point fires in this unstage (after the legs are gone): the retry converges.
        await bed.step('NodeUnpublishVolume + NodeUnstageVolume', async () => {
          await retry(() => worker.csi.node.nodeUnpublishVolume({ volume_id: vol.volume_id, target_path: target }));
          await retry(() => worker.csi.node.nodeUnstageVolume({ volume_id: vol.volume_id, staging_target_path: staging }));
        });
        await bed.step(`online ${other} (stale), offline ${fresh} (fresh)`, async () => {
          await bed.onlineNode(other);
          await bed.offlineNode(fresh);
        });
        const staleBefore = await lvChecksum(bed, other, vol.volume_id);
        const refused = await worker.csi.node.nodeStageVolume(stageReq).then(() => undefined, (err: unknown) => err as Error);
        assert.ok(refused, 'staging from the stale copy alone must be refused');
        assert.equal(grpcCodeOf(refused), grpcStatus.FAILED_PRECONDITION, `refused with ${grpcCodeOf(refused)}: ${refused.message}`);
        assert.match(refused.message, new RegExp(`${fresh} cannot be reached`), 'the error names the copy that holds the current data');
        ctx.log(`stale-only stage refused: ${refused.message}`);
        assert.equal(await lvChecksum(bed, other, vol.volume_id), staleBefore, 'nothing was written to the stale copy');
        assert.equal(await raidStatus(dmName).then(() => true, () => false), false, 'no dm device was left');

        // The fresh copy returns: the volume stages, holds the last write, and the stale copy resyncs.
        await bed.step(`online ${fresh}`, () => bed.onlineNode(fresh));
        await bed.step('NodeStageVolume with both copies', () => retry(() => worker.csi.node.nodeStageVolume(stageReq)));
        await bed.step('NodePublishVolume', () => worker.csi.node.nodePublishVolume({ ...stageReq, target_path: target, readonly: false }));
        assert.equal(sha256(await readDirect(target, MiB, 8 * MiB)), sha256(lastWrite), 'the write made while degraded survived');
        await bed.step('resynced again', () =>
          pollUntil(async () => {
            const s = await raidStatus(dmName);
            return s.health === 'AA' && s.syncCurrent === s.syncTotal && s.action === 'idle' ? s : undefined;
          }, { deadlineMs: Date.now() + 300_000, intervalMs: 1000, what: 'the resync to finish', signal }),
        );
        await bed.step('both copies equal again', () => assertCopiesEqual(bed, vol.volume_id, nodes));

        // Teardown through the API; nothing may be left.
        await worker.csi.node.nodeUnpublishVolume({ volume_id: vol.volume_id, target_path: target });
        await worker.csi.node.nodeUnstageVolume({ volume_id: vol.volume_id, staging_target_path: staging });
        await retry(() => ctl.controllerUnpublishVolume({ volume_id: vol.volume_id, node_id: worker.nodeId }));
        await retry(() => ctl.deleteVolume({ volume_id: vol.volume_id }));
        assert.deepEqual(await bed.leftovers(), { lvs: [], targets: [], sessions: [] });
        const armed = Object.values(MIRROR_FAULT_POINTS).flat().sort();
        const fired = await readdir(onceDir);
        assert.deepEqual(armed.filter((p) => !fired.includes(p)), [], 'every armed crash point fired (a point that never fired proved nothing)');
      } finally {
        writer?.kill();
      }
    });
  },
};

interface RaidStatus {
  readonly raw: string;
  readonly target: string;
  readonly health: string;
  readonly syncCurrent: number;
  readonly syncTotal: number;
  readonly action: string;
}

/** `0 <len> raid raid1 <#devs> <health> <cur>/<total> <action> ...` (dm-raid.rst "Status Output"). */
async function raidStatus(dmName: string): Promise<RaidStatus> {
  const raw = (await execa('dmsetup', ['status', dmName])).stdout.trim();
  const f = raw.split(/\s+/);
  const [cur, total] = (f[6] ?? '').split('/').map(Number);
  return { raw, target: f[2] ?? '', health: f[5] ?? '', syncCurrent: cur ?? NaN, syncTotal: total ?? NaN, action: f[7] ?? '' };
}

function isDegraded(entries: readonly { status?: unknown }[] | undefined): boolean {
  return (entries ?? []).some((e) => e.status === 'DEGRADED' || e.status === 1);
}

/** The copy's LV on its node (same agent id on every node: `vbs-vol-…`, found by its CO name tag). */
async function copyLvPath(bed: ControllerBed, node: string, volumeId: string): Promise<string> {
  const vg = bed.node(node).vg;
  const lv = (await bed.lvs()).find((l) => l.vg === vg && l.tags['kind'] !== undefined && volumeId.endsWith(l.name));
  assert.ok(lv, `no copy of ${volumeId} on ${node}`);
  return `/dev/${vg}/${lv.name}`;
}

/** The copies' data (after MIRROR_HEADER_BYTES), compared on the storage side after dropping caches. */
async function assertCopiesEqual(bed: ControllerBed, volumeId: string, nodes: readonly string[]): Promise<void> {
  const paths = await Promise.all(nodes.map((n) => copyLvPath(bed, n, volumeId)));
  for (const p of paths) await execa('blockdev', ['--flushbufs', p]);
  const [a, ...rest] = paths;
  for (const b of rest) {
    const r = await execa('cmp', ['-i', String(MIRROR_HEADER_BYTES), a!, b], { reject: false });
    assert.equal(r.exitCode, 0, `copies differ: ${r.stdout}${r.stderr}`);
  }
}

/**
 * Waits until `node`'s copy of the volume records `copyNode`'s copy as `state` (its LV tags,
 * src/agent/volumeTags.ts: `mirror.copy<slot>` = `<in-sync|out-of-sync>.<node>`); the generation.
 */
async function waitForRecord(
  bed: ControllerBed,
  node: string,
  volumeId: string,
  copyNode: string,
  state: 'in-sync' | 'out-of-sync',
  signal: AbortSignal,
  generation?: number,
): Promise<number> {
  const vg = bed.node(node).vg;
  return pollUntil(
    async () => {
      const lv = (await bed.lvs()).find((l) => l.vg === vg && l.tags['kind'] !== undefined && volumeId.endsWith(l.name));
      if (!lv) return undefined;
      const recorded = Object.entries(lv.tags).some(([k, v]) => k.startsWith('mirror.copy') && v === `${state}.${copyNode}`);
      const held = Number(lv.tags['mirror.generation']);
      return recorded && (generation === undefined || held === generation) ? held : undefined;
    },
    { deadlineMs: Date.now() + 60_000, intervalMs: 1000, what: `${node}'s record to say ${copyNode} is ${state}${generation === undefined ? '' : ` at generation ${generation}`}`, signal },
  );
}

async function lvChecksum(bed: ControllerBed, node: string, volumeId: string): Promise<string> {
  const p = await copyLvPath(bed, node, volumeId);
  await execa('blockdev', ['--flushbufs', p]);
  return (await execa('sha256sum', [p])).stdout.split(' ')[0] ?? '';
}

/** dd with O_DIRECT from a file in `dir`: the write reaches the device, not only the page cache. */
async function writeDirect(dir: string, device: string, data: Buffer, at: number): Promise<void> {
  const file = join(dir, 'pattern.bin');
  await writeFile(file, data);
  await execa('dd', [`if=${file}`, `of=${device}`, `bs=${data.length}`, 'count=1', `seek=${at / data.length}`, 'oflag=direct', 'conv=notrunc']);
}

/** Reads after dropping the page cache, so the bytes come from the device. */
async function readDirect(device: string, bytes: number, at: number): Promise<Buffer> {
  await writeFile('/proc/sys/vm/drop_caches', '3');
  const h = await open(device, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    await h.read(buffer, 0, bytes, at);
    return buffer;
  } finally {
    await h.close();
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
