import assert from 'node:assert/strict';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { buildMirrorPublishContext, parseMirrorPublishContext } from '../csi/publishContext.ts';
import { FailedPreconditionError } from '../errors.ts';
import { initialMirrorRecord, markOutOfSync } from '../replication/mirrorRecord.ts';
import { expandVolume } from './expandVolume.ts';
import { HEADER_SECTORS, legNames } from './mirrorLegs.ts';
import { stageMirror } from './stageMirror.ts';
import { FakeNodeHost, silentLog } from './testing/FakeNodeHost.ts';
import { unstageVolume } from './unstageVolume.ts';
import { buildDmName } from './volumeAccess.ts';
import type { VolumeAccess } from './volumeAccess.ts';
import { volumeHealth } from './volumeHealth.ts';

const LV = 'vbs-vol-abcdefghijklmnopqrstuvwxyz';
const VOLUME = `@mirror/${LV}`;
const IQN_A = `iqn.2026-11.io.vbs-csi.store-a:${LV}`;
const IQN_B = `iqn.2026-11.io.vbs-csi.store-b:${LV}`;
const DM = buildDmName('iqn.2026-11.io.test:worker-1', VOLUME);
const DATA = 2048;
const EXT4: VolumeAccess = { kind: 'mount', fsType: 'ext4', mountFlags: [] };
const CONTEXT = parseMirrorPublishContext(
  buildMirrorPublishContext({
    copies: [
      { node: 'store-a', targetPortal: '10.0.0.5:3260', targetIqn: IQN_A, lun: 0, serial: 'aaaa0001', agentAddress: '10.0.0.5:9500' },
      { node: 'store-b', targetPortal: '10.0.0.6:3260', targetIqn: IQN_B, lun: 0, serial: 'bbbb0001', agentAddress: '10.0.0.6:9500' },
    ],
  }),
);
const GEN1 = initialMirrorRecord(['store-a', 'store-b'], DATA * 512);
const GEN2 = markOutOfSync(GEN1, [1]);
const ctx = () => ({ log: silentLog, signal: new AbortController().signal });

describe('stageMirror and unstage of a replicated volume', () => {
  let host: FakeNodeHost;
  let staging: string;

  beforeEach(async () => {
    host = await FakeNodeHost.create();
    host.addLun({ targetIqn: IQN_A, lun: 0, serial: 'aaaa0001', sectors: HEADER_SECTORS + DATA, node: 'store-a' });
    host.addLun({ targetIqn: IQN_B, lun: 0, serial: 'bbbb0001', sectors: HEADER_SECTORS + DATA, node: 'store-b' });
    host.mirrorCopies.set('store-a', { slot: 0, record: GEN1 });
    host.mirrorCopies.set('store-b', { slot: 1, record: GEN1 });
    staging = join(host.dir, 'staging');
    await mkdir(staging, { recursive: true });
  });
  afterEach(() => host.cleanup());

  const stage = (access: VolumeAccess = EXT4) => stageMirror(host.deps(), { volumeId: VOLUME, stagingPath: staging, access, accessMode: 'SINGLE_NODE_WRITER', publishContext: CONTEXT }, ctx());
  const unstage = () => unstageVolume(host.deps(), { volumeId: VOLUME, stagingPath: staging }, ctx());
  const nothingLeft = async () => {
    assert.deepEqual([...host.dm.keys()], []);
    assert.deepEqual([...host.sessions.keys()], []);
    assert.deepEqual([...host.nodeRecords.keys()], []);
    assert.equal(await host.deps().records.read(VOLUME), undefined);
  };

  it('logs in to every copy, builds the legs and the raid1 device under the volume dm name, formats and mounts it; a retry changes nothing', async () => {
    await stage();
    const m0 = legNames(DM, 0);
    const m1 = legNames(DM, 1);
    assert.deepEqual(host.calls, [
      `ensureNodeRecord ${IQN_A}`, `login ${IQN_A}`,
      `ensureNodeRecord ${IQN_B}`, `login ${IQN_B}`,
      `dm create ${m0.meta} ${HEADER_SECTORS} 8:16`, `dm create ${m0.data} ${DATA} 8:16 +${HEADER_SECTORS}`,
      `dm create ${m1.meta} ${HEADER_SECTORS} 8:32`, `dm create ${m1.data} ${DATA} 8:32 +${HEADER_SECTORS}`,
      `dm create ${DM} 0 ${DATA} raid raid1 4 0 nosync region_size 4096 2 254:0 254:1 254:2 254:3`,
      `mkfs ext4 /dev/mapper/${DM}`, `mount /dev/mapper/${DM} ${staging}`,
    ]);
    // CHAP from each copy's own agent; every copy's session uses the replicated settings (fail a dead copy fast)
    assert.deepEqual(host.chapRequests.map((r) => r.storageNode), ['store-a', 'store-b']);
    assert.deepEqual([...host.nodeRecords.values()].map((r) => r.settings), [{ replacementTimeoutS: 5 }, { replacementTimeoutS: 5 }]);
    const record = await host.deps().records.read(VOLUME);
    assert.equal(record?.version, 2);
    const before = host.calls.length;
    await stage();
    assert.deepEqual(host.calls.slice(before), [`ensureNodeRecord ${IQN_A}`, `login ${IQN_A}`, 'rescan 1', `ensureNodeRecord ${IQN_B}`, `login ${IQN_B}`, 'rescan 2']);

    await unstage();
    await nothingLeft();
  });

  it('refuses to assemble when an in-sync copy is unreachable, and undoes everything', async () => {
    host.before.set(`login ${IQN_A}`, async () => {
      throw new Error('iscsiadm: connection refused');
    });
    await assert.rejects(stage(), (err: Error) => {
      assert.ok(err instanceof FailedPreconditionError);
      assert.match(err.message, /copy 0 on store-a cannot be reached/);
      assert.match(err.message, /connection refused/);
      return true;
    });
    await nothingLeft();
    assert.ok(!host.calls.some((c) => c.startsWith('dm create')), 'nothing assembled, nothing written');
  });

  it('assembles the fresh copy alone when the record says the other is out of sync', async () => {
    host.mirrorCopies.set('store-a', { slot: 0, record: GEN2 });
    host.before.set(`login ${IQN_B}`, async () => {
      throw new Error('timed out');
    });
    await stage({ kind: 'block' });
    assert.ok(host.calls.includes(`dm create ${DM} 0 ${DATA} raid raid1 3 0 region_size 4096 2 254:0 254:1 - -`), host.calls.join('\n'));
    const health = await volumeHealth(host.deps(), VOLUME, ctx().signal);
    assert.deepEqual(health.map((h) => [h.status, h.reason]), [['DEGRADED', 'CopyMissing']]);
    assert.match(health[0]!.message, /copy 1 on store-b/);
  });

  it('rebuilds a blank replacement copy, but resyncs a returning stale one from the bitmap', async () => {
    await stage({ kind: 'block' });
    await unstage();
    // b comes back stale (superblock kept): no rebuild
    host.mirrorCopies.set('store-a', { slot: 0, record: GEN2 });
    await stage({ kind: 'block' });
    assert.match(host.calls.at(-1) ?? '', /raid raid1 3 0 region_size 4096 2 254:\d+ 254:\d+ 254:\d+ 254:\d+$/);
    await unstage();
    // b replaced by a blank copy
    host.luns.get(IQN_B)!.superblock = false;
    await stage({ kind: 'block' });
    assert.match(host.calls.at(-1) ?? '', /raid raid1 5 0 region_size 4096 rebuild 1 2 254:\d+ 254:\d+ 254:\d+ 254:\d+$/);
  });

  it('undoes legs and logins when the raid device cannot be made, and the retry converges', async () => {
    let fail = true;
    host.before.set(`dm create ${DM} 0 ${DATA} raid raid1 4 0 nosync region_size 4096 2 254:0 254:1 254:2 254:3`, async () => {
      if (fail) throw new Error('device-mapper: reload ioctl failed: Invalid argument');
    });
    await assert.rejects(stage(), /Invalid argument/);
    await nothingLeft();
    fail = false;
    host.calls.length = 0;
    await stage();
    assert.ok(host.calls.some((c) => c.startsWith(`dm create ${DM} 0 ${DATA} raid`)));
    assert.equal(host.mounts.get(staging)?.source, `/dev/mapper/${DM}`);
  });

  it('a retry after a crash between the legs and the raid device, or before the mount, converges', async () => {
    await stage();
    // crash after the legs: no raid device, no mount; legs, sessions and the record left
    await host.deps().mounter.unmount(staging, ctx().signal);
    await host.deps().dmsetup.remove(DM, ctx().signal);
    host.calls.length = 0;
    await stage();
    assert.deepEqual(host.calls.filter((c) => c.startsWith('dm ') || c.startsWith('mount') || c.startsWith('mkfs')), [
      `dm create ${DM} 0 ${DATA} raid raid1 3 0 region_size 4096 2 254:0 254:1 254:2 254:3`,
      `mount /dev/mapper/${DM} ${staging}`,
    ]);
    // crash after the raid device: no mount
    await host.deps().mounter.unmount(staging, ctx().signal);
    host.calls.length = 0;
    await stage();
    assert.deepEqual(host.calls.filter((c) => c.startsWith('dm ') || c.startsWith('mount') || c.startsWith('mkfs')), [`mount /dev/mapper/${DM} ${staging}`]);
    await unstage();
    await nothingLeft();
  });

  it('unstages without a stage record: legs and every copy found by the volume id', async () => {
    await stage({ kind: 'block' });
    await host.deps().records.remove(VOLUME);
    await unstage();
    await nothingLeft();
  });

  it('reports a failed and a resynchronising copy by name', async () => {
    await stage({ kind: 'block' });
    host.raid.get(DM)!.health = ['A', 'D'];
    let health = await volumeHealth(host.deps(), VOLUME, ctx().signal);
    assert.deepEqual(health.map((h) => h.reason), ['CopyFailed']);
    assert.match(health[0]!.message, /copy 1 on store-b failed/);
    Object.assign(host.raid.get(DM)!, { health: ['A', 'a'], syncAction: 'recover', syncedSectors: DATA / 2 });
    health = await volumeHealth(host.deps(), VOLUME, ctx().signal);
    assert.match(health[0]!.message, /copy 1 on store-b is being resynchronised \(recover 50%\)/);
    host.raid.get(DM)!.health = ['A', 'A'];
    await host.setSessionState(IQN_A, 'FAILED');
    health = await volumeHealth(host.deps(), VOLUME, ctx().signal);
    assert.deepEqual(health.map((h) => [h.status, h.reason]), [['DEGRADED', 'IscsiSessionDown']]);
  });

  it('grows every leg, then the raid device, then the filesystem', async () => {
    await stage();
    await host.resizeLun(IQN_A, HEADER_SECTORS + 2 * DATA);
    await host.resizeLun(IQN_B, HEADER_SECTORS + 2 * DATA);
    const { capacityBytes } = await expandVolume(host.deps(), { volumeId: VOLUME, volumePath: staging, requiredBytes: 2 * DATA * 512 }, ctx());
    assert.equal(capacityBytes, 2 * DATA * 512);
    const grown = host.calls.filter((c) => c.startsWith('dm reload') || c.startsWith('grow'));
    assert.deepEqual(grown, [
      `dm reload ${legNames(DM, 0).data} ${2 * DATA} 8:16`,
      `dm reload ${legNames(DM, 1).data} ${2 * DATA} 8:32`,
      `dm reload ${DM} 0 ${2 * DATA} raid raid1 3 0 region_size 4096 2 254:0 254:1 254:2 254:3`,
      `grow ext4 /dev/mapper/${DM} ${staging}`,
    ]);
    await access(staging);
  });
});
