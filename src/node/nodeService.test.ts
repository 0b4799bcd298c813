import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Server, status } from '@grpc/grpc-js';
import { buildMirrorPublishContext, buildPublishContext } from '../csi/publishContext.ts';
import { initialMirrorRecord } from '../replication/mirrorRecord.ts';
import { HEADER_SECTORS } from './mirrorLegs.ts';
import { TOPOLOGY_ZONE_KEY } from '../csi/nodeIds.ts';
import type { VolumeCapability } from '../generated/csi/v1/VolumeCapability.ts';
import { connectCsi } from '../grpc/csiServiceClients.ts';
import type { CsiApi } from '../grpc/csiServiceClients.ts';
import { loadCsiProto } from '../grpc/loadProtos.ts';
import { serve } from '../grpc/serve.ts';
import type { RunningServer } from '../grpc/serve.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { createNodeHandlers } from './nodeService.ts';
import { FakeNodeHost, silentLog } from './testing/FakeNodeHost.ts';
import { StageRecordStore } from './stageRecord.ts';
import { buildDmName, buildReadOnlyDmName } from './volumeAccess.ts';

const VOLUME = 'store-a/vbs-vol-abcdefghijklmnopqrstuvwxyz';
const IQN = 'iqn.2026-11.io.vbs-csi:vbs-vol-abcdefghijklmnopqrstuvwxyz';
const SERIAL = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const DM = buildDmName('iqn.2026-11.io.test:worker-1', VOLUME);
const PUBLISH_CONTEXT = buildPublishContext({
  targetPortal: '127.0.0.2:3260', targetIqn: IQN, lun: 0, serial: SERIAL, agentAddress: '10.0.0.5:9500',
});
const EXT4: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_SINGLE_WRITER' } };
const BLOCK_RWX: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };

/** A node service over the fake host, served on a real grpc-js server and called through connectCsi. */
async function start(host: FakeNodeHost, overrides: Partial<NodeDeps> = {}): Promise<{ csi: CsiApi; running: RunningServer }> {
  const server = new Server();
  server.addService(loadCsiProto().csi.v1.Node.service, createNodeHandlers({ deps: host.deps(overrides), zone: 'zone-a', log: silentLog }));
  const running = await serve({ server, endpoint: { kind: 'unix', path: join(host.dir, 'csi.sock') }, log: silentLog });
  return { csi: connectCsi(running.address, 10_000), running };
}

async function rejectsWith(promise: Promise<unknown>, code: status, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${err.code} (${err.details})`);
    if (message) assert.match(err.details ?? '', message);
    return true;
  });
}

describe('Node service', () => {
  let host: FakeNodeHost;
  let csi: CsiApi;
  let running: RunningServer;
  let staging: string;
  let target: string;

  beforeEach(async () => {
    host = await FakeNodeHost.create();
    host.addLun({ targetIqn: IQN, lun: 0, serial: SERIAL, sectors: 2048 });
    ({ csi, running } = await start(host));
    staging = join(host.dir, 'kubelet', 'staging');
    target = join(host.dir, 'kubelet', 'pods', 'p1', 'mount');
    await mkdir(staging, { recursive: true });
  });

  afterEach(async () => {
    csi.close();
    await running.shutdown(0);
    await host.cleanup();
  });

  const stage = (cap: VolumeCapability = EXT4, extra: Record<string, unknown> = {}) =>
    csi.node.nodeStageVolume({ volume_id: VOLUME, staging_target_path: staging, volume_capability: cap, publish_context: PUBLISH_CONTEXT, ...extra });
  const unstage = () => csi.node.nodeUnstageVolume({ volume_id: VOLUME, staging_target_path: staging });
  const publish = (path = target, cap: VolumeCapability = EXT4, readonly = false) =>
    csi.node.nodePublishVolume({ volume_id: VOLUME, staging_target_path: staging, target_path: path, volume_capability: cap, readonly });
  const unpublish = (path = target) => csi.node.nodeUnpublishVolume({ volume_id: VOLUME, target_path: path });

  describe('NodeGetInfo and NodeGetCapabilities', () => {
    it('reports the initiator name as node id with the zone as topology', async () => {
      assert.deepEqual(await csi.node.nodeGetInfo({}), {
        node_id: 'iqn.2026-11.io.test:worker-1', max_volumes_per_node: 0, accessible_topology: { segments: { [TOPOLOGY_ZONE_KEY]: 'zone-a' } },
      });
    });

    it('advertises stage/unstage, stats, expansion, single-node multi-writer and volume health only', async () => {
      const caps = (await csi.node.nodeGetCapabilities({})).capabilities.map((c) => c.rpc?.type);
      assert.deepEqual(caps, ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'SINGLE_NODE_MULTI_WRITER', 'GET_VOLUME_HEALTH']);
    });
  });

  describe('NodeStageVolume', () => {
    it("mounts with the mount flags kubelet sends, its SELinux context among them (CSIDriver seLinuxMount)", async () => {
      const context = 'context="system_u:object_r:container_file_t:s0:c10,c20"';
      await stage({ mount: { fs_type: 'ext4', mount_flags: [context, 'noatime'] }, access_mode: { mode: 'SINGLE_NODE_SINGLE_WRITER' } });
      assert.equal(host.calls.at(-1), `mount /dev/mapper/${DM} ${staging} -o ${context},noatime`);
    });

    it('logs in, verifies the serial, builds the dm device over the disk, formats the blank device and mounts it', async () => {
      await stage();
      assert.deepEqual(host.calls, [
        `ensureNodeRecord ${IQN}`,
        `login ${IQN}`,
        `dm create ${DM} 2048 8:16`,
        `mkfs ext4 /dev/mapper/${DM}`,
        `mount /dev/mapper/${DM} ${staging} -o noatime`,
      ]);
      assert.equal([...host.nodeRecords.values()][0]?.chap.password, 'secret-secret-1');
      assert.equal(host.findSessionCalls, 0, 'the session id comes from sysfs, not from iscsiadm');
    });

    it("gets the CHAP credentials (mutual included) from the volume's agent, never from publish_context", async () => {
      await stage();
      assert.deepEqual(host.chapRequests, [
        { volumeId: 'vbs-vol-abcdefghijklmnopqrstuvwxyz', storageNode: 'store-a', agentAddress: '10.0.0.5:9500', initiatorIqn: 'iqn.2026-11.io.test:worker-1' },
      ]);
      assert.deepEqual([...host.nodeRecords.values()][0]?.chap, host.chap, 'the node record holds what the agent answered, mutual included');
    });

    it('refuses to log in when the agent does not hand out credentials (not published here), or names another target', async () => {
      host.luns.clear();
      await rejectsWith(stage(), status.FAILED_PRECONDITION, /not published/);
      assert.equal(host.nodeRecords.size, 0, 'no node record without credentials');
      host.addLun({ targetIqn: `iqn.2026-11.io.vbs-csi:other:vbs-vol-abcdefghijklmnopqrstuvwxyz`, lun: 0, serial: SERIAL, sectors: 2048 });
      await rejectsWith(stage(), status.FAILED_PRECONDITION, /publish_context names/);
      assert.equal(host.nodeRecords.size, 0);
      assert.equal(host.sessions.size, 0);
    });

    it('asks iscsiadm for the session when sysfs does not show who a session belongs to', async () => {
      host.sessionIdentityInSysfs = false;
      await stage();
      assert.equal(host.findSessionCalls, 1);
      assert.equal(host.mounts.get(staging)?.source, `/dev/mapper/${DM}`);
    });

    it('reuses the dm device a crashed stage left, comparing its table instead of creating another', async () => {
      await stage(BLOCK_RWX);
      await new StageRecordStore({ dir: host.stateDir }).remove(VOLUME);
      host.calls.length = 0;
      await stage(BLOCK_RWX);
      assert.deepEqual(host.calls, [`ensureNodeRecord ${IQN}`, `login ${IQN}`, 'rescan 1']);
      assert.equal(host.dm.size, 1);
    });

    it('is idempotent: a second call changes nothing', async () => {
      await stage();
      host.calls.length = 0;
      await stage();
      assert.deepEqual(host.calls, [`ensureNodeRecord ${IQN}`, `login ${IQN}`, 'rescan 1']);
      assert.equal(host.mounts.size, 1);
    });

    it('refuses a disk whose serial differs, formats nothing and logs out again', async () => {
      host.luns.clear();
      host.addLun({ targetIqn: IQN, lun: 0, serial: 'another-volume', sectors: 2048 });
      await rejectsWith(stage(), status.FAILED_PRECONDITION, /unit serial "another-volume", expected c0ffee00/);
      assert.ok(!host.calls.some((c) => c.startsWith('mkfs') || c.startsWith('dm create') || c.startsWith('mount')), host.calls.join('\n'));
      assert.deepEqual(host.calls.slice(-2), [`logout ${IQN}`, `deleteNodeRecord ${IQN}`]);
      assert.equal(host.sessions.size, 0);
      assert.deepEqual(await readdir(host.stateDir), [], 'the stage record is rolled back');
    });

    it('rolls back the dm device, the session and the record when the mount fails', async () => {
      host.before.set(`mount /dev/mapper/${DM} ${staging} -o noatime`, async () => {
        throw new Error('mount: wrong fs type');
      });
      await rejectsWith(stage(), status.INTERNAL);
      assert.deepEqual(host.calls.slice(-4), [`mount /dev/mapper/${DM} ${staging} -o noatime`, `dm remove ${DM}`, `logout ${IQN}`, `deleteNodeRecord ${IQN}`]);
      assert.equal(host.dm.size, 0);
      assert.equal(host.sessions.size, 0);
    });

    it('grows an existing filesystem instead of formatting it (a restore into a larger volume)', async () => {
      host.filesystems.set(`/dev/mapper/${DM}`, 'ext4');
      await stage();
      assert.ok(!host.calls.some((c) => c.startsWith('mkfs')));
      assert.equal(host.calls.at(-1), `grow ext4 /dev/mapper/${DM} ${staging}`);
    });

    it('stages a block volume as the device only', async () => {
      await stage(BLOCK_RWX);
      assert.deepEqual(host.calls, [`ensureNodeRecord ${IQN}`, `login ${IQN}`, `dm create ${DM} 2048 8:16`]);
      assert.equal(host.mounts.size, 0);
    });

    it('logs in through its own iface with its own initiator name when configured', async () => {
      csi.close();
      await running.shutdown(0);
      ({ csi, running } = await start(host, { iface: 'vbs-w2', initiatorName: 'iqn.2026-11.io.test:worker-2' }));
      await stage(BLOCK_RWX);
      assert.equal(host.calls[0], 'ensureIface vbs-w2=iqn.2026-11.io.test:worker-2');
      assert.equal([...host.sessions.values()][0]?.target.iface, 'vbs-w2');
      assert.ok(host.dm.has(buildDmName('iqn.2026-11.io.test:worker-2', VOLUME)), 'a dm name of its own');
    });

    it('answers ABORTED while the same volume is staging, and works once it is done', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inLogin = new Promise<void>((resolve) => (entered = resolve));
      host.before.set(`login ${IQN}`, async () => {
        entered();
        await held;
      });
      const first = stage();
      await inLogin;
      await rejectsWith(stage(), status.ABORTED, /in progress/);
      await rejectsWith(unstage(), status.ABORTED);
      release();
      await first;
      host.before.clear();
      await stage();
    });

    it('checks its inputs: unknown volume ids are NOT_FOUND, missing fields INVALID_ARGUMENT', async () => {
      await rejectsWith(csi.node.nodeStageVolume({ volume_id: 'nope', staging_target_path: staging, volume_capability: EXT4, publish_context: PUBLISH_CONTEXT }), status.NOT_FOUND);
      await rejectsWith(stage(EXT4, { staging_target_path: '' }), status.INVALID_ARGUMENT, /staging_target_path/);
      await rejectsWith(stage(EXT4, { publish_context: {} }), status.INVALID_ARGUMENT, /publish_context has no/);
      await rejectsWith(stage({ mount: { fs_type: 'ext4' }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }), status.INVALID_ARGUMENT, /block volumes only/);
      await rejectsWith(stage({ mount: { fs_type: 'btrfs' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }), status.INVALID_ARGUMENT, /not supported/);
      assert.deepEqual(host.calls, []);
    });

    it('checks every required field before the volume id: a missing one is INVALID_ARGUMENT even for an unknown volume (csi-sanity)', async () => {
      const unknown = 'fake-vol-id-0123456789';
      await rejectsWith(csi.node.nodeStageVolume({ volume_id: unknown, volume_capability: EXT4, publish_context: PUBLISH_CONTEXT }), status.INVALID_ARGUMENT, /staging_target_path/);
      await rejectsWith(csi.node.nodeStageVolume({ volume_id: unknown, staging_target_path: staging, publish_context: PUBLISH_CONTEXT }), status.INVALID_ARGUMENT, /volume_capability/);
      await rejectsWith(csi.node.nodePublishVolume({ volume_id: unknown, staging_target_path: staging, volume_capability: EXT4 }), status.INVALID_ARGUMENT, /target_path/);
      await rejectsWith(csi.node.nodePublishVolume({ volume_id: unknown, target_path: target, volume_capability: EXT4 }), status.INVALID_ARGUMENT, /staging_target_path/);
      await rejectsWith(csi.node.nodePublishVolume({ volume_id: unknown, staging_target_path: staging, target_path: target }), status.INVALID_ARGUMENT, /volume_capability/);
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: unknown }), status.INVALID_ARGUMENT, /volume_path/);
      await rejectsWith(csi.node.nodeExpandVolume({ volume_id: unknown }), status.INVALID_ARGUMENT, /volume_path/);
      // With every field there, the unknown id is NOT_FOUND.
      await rejectsWith(csi.node.nodePublishVolume({ volume_id: unknown, staging_target_path: staging, target_path: target, volume_capability: EXT4 }), status.NOT_FOUND);
      assert.deepEqual(host.calls, []);
    });

    it('refuses to stage the same volume at a second staging path', async () => {
      await stage();
      await rejectsWith(stage(EXT4, { staging_target_path: join(host.dir, 'other') }), status.ALREADY_EXISTS);
    });
  });

  describe('NodePublishVolume and NodeUnpublishVolume', () => {
    it('bind-mounts the staging path, twice idempotently, and unpublishes twice idempotently', async () => {
      await stage();
      host.calls.length = 0;
      await publish();
      await publish();
      assert.deepEqual(host.calls, [`bind ${staging} ${target}`]);
      assert.ok((await stat(target)).isDirectory());
      await unpublish();
      await unpublish();
      assert.deepEqual(host.calls, [`bind ${staging} ${target}`, `umount ${target}`]);
      await assert.rejects(stat(target), /ENOENT/);
    });

    it('binds the dm device onto a target file for block volumes', async () => {
      await stage(BLOCK_RWX);
      await publish(target, BLOCK_RWX);
      assert.equal(host.calls.at(-1), `bind /dev/mapper/${DM} ${target}`);
      assert.ok((await stat(target)).isFile());
      await rejectsWith(publish(target, BLOCK_RWX, true), status.ALREADY_EXISTS, /read-write/);
    });

    it('gives a read-only block target a read-only dm device of its own over the volume\'s, and unpublish removes it', async () => {
      await stage(BLOCK_RWX);
      host.calls.length = 0;
      await publish(target, BLOCK_RWX, true);
      await publish(target, BLOCK_RWX, true);
      const ro = buildReadOnlyDmName(DM, target);
      const volumeDevice = `254:${host.dm.get(DM)!.kernelName.slice('dm-'.length)}`;
      assert.deepEqual(host.calls, [`dm create ${ro} 2048 ${volumeDevice}`, `bind /dev/mapper/${ro} ${target} ro`], 'created and bound once');
      assert.equal(host.dm.get(ro)?.readOnly, true, 'the kernel refuses writes to it');
      assert.notEqual(host.mounts.get(target)?.source, `/dev/mapper/${DM}`, 'the writable device is not what the pod gets');
      await rejectsWith(publish(target, BLOCK_RWX, false), status.ALREADY_EXISTS, /read-only/);
      await unpublish();
      await unpublish();
      assert.ok(!host.dm.has(ro), 'the read-only device is gone');
      assert.ok(host.dm.has(DM));
      await unstage();
      assert.equal(host.dm.size, 0);
    });

    it('removes a read-only device whose target is already gone (a crash between unmount and removal)', async () => {
      await stage(BLOCK_RWX);
      await publish(target, BLOCK_RWX, true);
      host.mounts.delete(target);
      host.dm.get(buildReadOnlyDmName(DM, target))!.openCount = 0;
      await rm(target);
      await unpublish();
      assert.ok(!host.dm.has(buildReadOnlyDmName(DM, target)));
    });

    it('removes the read-only device it made when the bind mount fails', async () => {
      await stage(BLOCK_RWX);
      const ro = buildReadOnlyDmName(DM, target);
      host.before.set(`bind /dev/mapper/${ro} ${target} ro`, async () => {
        throw new Error('mount: permission denied');
      });
      await rejectsWith(publish(target, BLOCK_RWX, true), status.INTERNAL);
      assert.ok(!host.dm.has(ro));
    });

    it('unstage removes a read-only device a crashed publish left, which holds the volume\'s device open', async () => {
      await stage(BLOCK_RWX);
      const ro = buildReadOnlyDmName(DM, target);
      await host.deps().dmsetup.createLinear(ro, { sectors: 2048, device: `254:${host.dm.get(DM)!.kernelName.slice('dm-'.length)}` }, { readOnly: true });
      await unstage();
      assert.equal(host.dm.size, 0);
      assert.equal(host.sessions.size, 0);
    });

    it('binds a volume staged read-only (a reader-only mode) to its own read-only device without another', async () => {
      const ROX: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } };
      await stage(ROX);
      await publish(target, ROX, true);
      assert.equal(host.calls.at(-1), `bind /dev/mapper/${DM} ${target} ro`);
      assert.equal(host.dm.get(DM)?.readOnly, true);
      assert.equal(host.dm.size, 1);
    });

    it('refuses a second target path for a single-writer volume but allows it for multi-writer', async () => {
      await stage();
      await publish();
      await rejectsWith(publish(`${target}-2`), status.FAILED_PRECONDITION, /one target path only/);
      await publish(`${target}-2`, { ...EXT4, access_mode: { mode: 'SINGLE_NODE_MULTI_WRITER' } });
    });

    it('refuses to publish a volume that is not staged', async () => {
      await rejectsWith(publish(), status.FAILED_PRECONDITION, /not staged/);
    });

    it('treats an unpublish of a target path that does not exist as done', async () => {
      await unpublish(join(host.dir, 'never'));
    });

    it('leaves a mount that is not this volume\'s alone: FAILED_PRECONDITION, still mounted', async () => {
      const foreign = join(host.dir, 'kubelet', 'pods', 'other', 'mount');
      await mkdir(foreign, { recursive: true });
      host.mounts.set(foreign, { source: '/dev/sdz', readOnly: false, fsType: 'ext4' });
      await rejectsWith(unpublish(foreign), status.FAILED_PRECONDITION, /not of volume .* which does not exist on this node/);
      assert.ok(host.mounts.has(foreign), 'another pod\'s mount stays');
      assert.ok((await stat(foreign)).isDirectory());

      // Nor a mount of another volume staged here: its dm device is not this volume's.
      await stage();
      await publish();
      const other = 'store-a/vbs-vol-zzzzzzzzzzzzzzzzzzzzzzzzzz';
      await rejectsWith(csi.node.nodeUnpublishVolume({ volume_id: other, target_path: target }), status.FAILED_PRECONDITION, /not of volume/);
      assert.ok(host.mounts.has(target));
      await unpublish();
      assert.ok(!host.mounts.has(target), 'the owner unpublishes it');
    });
  });

  describe('NodeUnstageVolume', () => {
    it('tears down mount, dm device, this session and its node record, and a second call succeeds', async () => {
      await stage();
      host.calls.length = 0;
      await unstage();
      await unstage();
      assert.deepEqual(host.calls, [
        `umount ${staging}`,
        `flush /dev/mapper/${DM}`,
        `dm remove ${DM}`,
        'flush /dev/sdb',
        `logout ${IQN}`,
        `deleteNodeRecord ${IQN}`,
      ], 'the second call finds nothing left to do');
      assert.equal(await readFile(join(host.sysRoot, 'block', 'sdb', 'device', 'delete'), 'utf8'), '1', 'the SCSI disk is deleted before logout');
      assert.equal(host.sessions.size + host.dm.size + host.mounts.size + host.nodeRecords.size, 0);
      assert.deepEqual(await readdir(host.stateDir), []);
    });

    it('leaves other volumes\' sessions alone and finds its own session without a stage record', async () => {
      const other = 'iqn.2026-11.io.vbs-csi:vbs-vol-zzzzzzzzzzzzzzzzzzzzzzzzzz';
      host.addLun({ targetIqn: other, lun: 0, serial: 'f'.repeat(32), sectors: 2048 });
      await stage(BLOCK_RWX);
      await csi.node.nodeStageVolume({
        volume_id: 'store-a/vbs-vol-zzzzzzzzzzzzzzzzzzzzzzzzzz', staging_target_path: join(host.dir, 's2'), volume_capability: BLOCK_RWX,
        publish_context: { ...PUBLISH_CONTEXT, targetIqn: other, serial: 'f'.repeat(32) },
      });
      await host.deps().records.remove(VOLUME); // as if the record was lost
      await unstage();
      assert.deepEqual([...host.sessions.values()].map((s) => s.target.targetIqn), [other]);
    });

    it('answers UNAVAILABLE, keeping the node and stage records, while the session outlives the logout', async () => {
      await stage(BLOCK_RWX);
      host.logoutMissesSession = true;
      await rejectsWith(unstage(), status.UNAVAILABLE, /session 1 to .* is still logged in after the logout/);
      assert.equal(host.sessions.size, 1);
      assert.equal(host.nodeRecords.size, 1, 'the retry needs the node record to log out');
      assert.ok(!host.calls.includes(`deleteNodeRecord ${IQN}`));
      assert.equal((await readdir(host.stateDir)).length, 1, 'the stage record stays');
      host.logoutMissesSession = false;
      await unstage();
      assert.equal(host.sessions.size + host.nodeRecords.size + host.dm.size, 0);
      assert.deepEqual(await readdir(host.stateDir), []);
    });

    it('deletes a node record left without a session or a stage record (a rolled-back stage; the record holds the CHAP secret)', async () => {
      await stage(BLOCK_RWX);
      const deps = host.deps();
      const [t] = [...host.sessions.values()].map((s) => s.target);
      await deps.iscsiadm.logout(t!);
      await deps.records.remove(VOLUME);
      await unstage();
      assert.equal(host.nodeRecords.size, 0, 'no node record, no CHAP secret left on the host');
      assert.equal(host.dm.size, 0);
    });

    it('leaves a staging path that holds another device\'s mount alone', async () => {
      host.mounts.set(staging, { source: '/dev/sdz', readOnly: false, fsType: 'ext4' });
      await rejectsWith(unstage(), status.FAILED_PRECONDITION, /mounted from \/dev\/sdz, not from volume/);
      assert.deepEqual(host.calls, [], 'nothing unmounted, removed or logged out');
      assert.ok(host.mounts.has(staging));
    });

    it('refuses while the volume is still published', async () => {
      await stage();
      await publish();
      await rejectsWith(unstage(), status.FAILED_PRECONDITION, /still published/);
      assert.ok(host.mounts.has(staging));
    });
  });

  describe('NodeExpandVolume', () => {
    it('rescans the session, waits for the new size, reloads the dm table and grows the filesystem', async () => {
      await stage();
      await host.resizeLun(IQN, 4096);
      host.calls.length = 0;
      const listings = host.findSessionCalls;
      const res = await csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: staging, capacity_range: { required_bytes: 4096 * 512 } });
      assert.equal(res.capacity_bytes, 4096 * 512);
      assert.deepEqual(host.calls, ['rescan 1', `dm reload ${DM} 4096 8:16`, `grow ext4 /dev/mapper/${DM} ${staging}`]);
      assert.equal(host.findSessionCalls, listings, 'the session id comes from sysfs');
      host.calls.length = 0;
      await csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: staging });
      assert.deepEqual(host.calls, ['rescan 1', `grow ext4 /dev/mapper/${DM} ${staging}`], 'nothing to reload the second time');
    });

    it('grows a block volume\'s device without touching a filesystem', async () => {
      await stage(BLOCK_RWX);
      await publish(target, BLOCK_RWX);
      await host.resizeLun(IQN, 8192);
      await csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: target, capacity_range: { required_bytes: 8192 * 512 } });
      assert.ok(!host.calls.some((c) => c.startsWith('grow')));
      assert.equal(host.dm.get(DM)?.table[0]?.sectors, 8192);
    });

    it('grows the read-only device of a read-only block target too, and keeps it read-only', async () => {
      await stage(BLOCK_RWX);
      const roTarget = `${target}-ro`;
      await publish(roTarget, BLOCK_RWX, true);
      const ro = buildReadOnlyDmName(DM, roTarget);
      await host.resizeLun(IQN, 8192);
      await csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: roTarget, capacity_range: { required_bytes: 8192 * 512 } });
      assert.equal(host.dm.get(ro)?.table[0]?.sectors, 8192, 'the read-only target sees the new size');
      assert.equal(host.dm.get(ro)?.readOnly, true, 'and still refuses writes');
      host.calls.length = 0;
      await csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: roTarget });
      assert.ok(!host.calls.some((c) => c.startsWith('dm reload')), 'nothing to grow the second time');
    });

    it('gives up with UNAVAILABLE when the LUN never reaches the requested size', async () => {
      await stage();
      await rejectsWith(csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: staging, capacity_range: { required_bytes: 1 << 30 } }), status.UNAVAILABLE, /ControllerExpandVolume/);
    });

    it('refuses a negative or impossible required_bytes at once, before touching the session', async () => {
      await stage();
      host.calls.length = 0;
      const expand = (required: string) => csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: staging, capacity_range: { required_bytes: required } });
      await rejectsWith(expand('-1'), status.INVALID_ARGUMENT, /non-negative/);
      await rejectsWith(expand('9223372036854775807'), status.OUT_OF_RANGE);
      assert.deepEqual(host.calls, []);
    });

    it('answers NOT_FOUND for a volume that is not staged here', async () => {
      await rejectsWith(csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: staging }), status.NOT_FOUND);
    });

    it('answers NOT_FOUND for a volume that is not staged here even at a relative path (csi-test pkg/sanity node.go)', async () => {
      await rejectsWith(csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: 'some/path' }), status.NOT_FOUND);
      await stage();
      await rejectsWith(csi.node.nodeExpandVolume({ volume_id: VOLUME, volume_path: 'some/path' }), status.INVALID_ARGUMENT, /volume_path/);
    });
  });

  describe('NodeGetVolumeStats and NodeGetVolumeHealth', () => {
    it('reports bytes and inodes of a filesystem and NOT_FOUND for a missing path', async () => {
      await stage();
      await publish();
      const expected = [
        { unit: 'BYTES', total: 1000, used: 100, available: 900 },
        { unit: 'INODES', total: 64, used: 11, available: 53 },
      ];
      assert.deepEqual((await csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: target })).usage, expected);
      assert.deepEqual((await csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: staging })).usage, expected);
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: join(host.dir, 'gone') }), status.NOT_FOUND);
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: '' }), status.INVALID_ARGUMENT);
    });

    it('answers NOT_FOUND for a path that is not the volume\'s, or a volume not staged here, instead of reporting that filesystem', async () => {
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: host.dir }), status.NOT_FOUND, /not staged here/);
      await stage();
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: host.dir }), status.NOT_FOUND, /neither its staging path nor one of its target paths/);
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: '/' }), status.NOT_FOUND);
    });

    it('answers NOT_FOUND, not INVALID_ARGUMENT, for a path that is not absolute (csi-sanity asks with "some/path")', async () => {
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: 'fake-vol-id-0123456789', volume_path: 'some/path' }), status.NOT_FOUND);
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: 'some/path' }), status.NOT_FOUND, /not staged here/);
      await stage();
      await publish();
      await rejectsWith(csi.node.nodeGetVolumeStats({ volume_id: VOLUME, volume_path: 'some/path' }), status.NOT_FOUND, /not published at "some\/path"/);
    });

    it('is healthy when staged, and reports a down session and a read-only filesystem, reading the session from sysfs', async () => {
      await stage();
      const before = host.findSessionCalls;
      assert.deepEqual((await csi.node.nodeGetVolumeHealth({ volume_id: VOLUME })).volume_health?.health_statuses, []);
      await host.setSessionState(IQN, 'FAILED');
      host.mounts.get(staging)!.readOnly = true;
      const health = (await csi.node.nodeGetVolumeHealth({ volume_id: VOLUME })).volume_health?.health_statuses;
      assert.deepEqual(health?.map((h) => [h.status, h.reason]), [['INACCESSIBLE', 'IscsiSessionDown'], ['DEGRADED', 'FilesystemReadOnly']]);
      assert.match(health?.[0]?.message ?? '', /is FAILED \(connection failed\)/);
      assert.equal(host.findSessionCalls, before, 'no iscsiadm session listing');
      await host.setSessionState(IQN, 'LOGGED_IN');
      host.mounts.get(staging)!.readOnly = false;
      assert.deepEqual((await csi.node.nodeGetVolumeHealth({ volume_id: VOLUME })).volume_health?.health_statuses, []);
    });

    it('asks iscsiadm for the session state when sysfs does not show the session, and reports a missing one', async () => {
      host.sessionIdentityInSysfs = false;
      await stage();
      await host.setSessionState(IQN, 'FAILED');
      const before = host.findSessionCalls;
      const down = (await csi.node.nodeGetVolumeHealth({ volume_id: VOLUME })).volume_health?.health_statuses;
      assert.deepEqual(down?.map((h) => h.reason), ['IscsiSessionDown']);
      assert.equal(host.findSessionCalls, before + 1);
      host.sessions.clear();
      const missing = (await csi.node.nodeGetVolumeHealth({ volume_id: VOLUME })).volume_health?.health_statuses;
      assert.deepEqual(missing?.map((h) => [h.status, h.reason]), [['INACCESSIBLE', 'IscsiSessionMissing']]);
    });
  });
});

describe('Node service, replicated volumes', () => {
  const LV = 'vbs-vol-abcdefghijklmnopqrstuvwxyz';
  const MIRROR_VOLUME = `@mirror/${LV}`;
  const copies = ['store-a', 'store-b'].map((node, slot) => ({
    node, targetPortal: `10.0.0.${5 + slot}:3260`, targetIqn: `iqn.2026-11.io.vbs-csi.${node}:${LV}`, lun: 0, serial: `5e7a1${slot}`, agentAddress: `10.0.0.${5 + slot}:9500`,
  }));
  let host: FakeNodeHost;
  let csi: CsiApi;
  let running: RunningServer;

  beforeEach(async () => {
    host = await FakeNodeHost.create();
    for (const c of copies) {
      host.addLun({ targetIqn: c.targetIqn, lun: 0, serial: c.serial, sectors: HEADER_SECTORS + 2048, node: c.node });
      host.mirrorCopies.set(c.node, { slot: copies.indexOf(c), record: initialMirrorRecord(['store-a', 'store-b'], 2048 * 512) });
    }
    ({ csi, running } = await start(host));
  });
  afterEach(async () => {
    csi.close();
    await running.shutdown(0);
    await host.cleanup();
  });

  it('stages a @mirror/ volume from a publish_context with copies as a raid1 device, and unstages it', async () => {
    const staging = join(host.dir, 'staging-m');
    await mkdir(staging, { recursive: true });
    const dm = buildDmName('iqn.2026-11.io.test:worker-1', MIRROR_VOLUME);
    await csi.node.nodeStageVolume({ volume_id: MIRROR_VOLUME, staging_target_path: staging, volume_capability: EXT4, publish_context: buildMirrorPublishContext({ copies }) });
    assert.equal(host.dm.get(dm)?.table[0]?.targetType, 'raid');
    assert.equal(host.mounts.get(staging)?.source, `/dev/mapper/${dm}`);
    const health = await csi.node.nodeGetVolumeHealth({ volume_id: MIRROR_VOLUME });
    assert.deepEqual(health.volume_health?.health_statuses ?? [], []);
    await csi.node.nodeUnstageVolume({ volume_id: MIRROR_VOLUME, staging_target_path: staging });
    assert.equal(host.dm.size, 0);
    assert.equal(host.sessions.size, 0);
  });

  it('refuses, with FAILED_PRECONDITION, to assemble from a stale copy alone', async () => {
    host.before.set(`login ${copies[0]!.targetIqn}`, async () => {
      throw new Error('connection refused');
    });
    const staging = join(host.dir, 'staging-m');
    await mkdir(staging, { recursive: true });
    await rejectsWith(
      csi.node.nodeStageVolume({ volume_id: MIRROR_VOLUME, staging_target_path: staging, volume_capability: EXT4, publish_context: buildMirrorPublishContext({ copies }) }),
      status.FAILED_PRECONDITION,
      /copy 0 on store-a cannot be reached/,
    );
  });
});
