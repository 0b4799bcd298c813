import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { buildMirrorPublishContext, parseMirrorPublishContext } from '../csi/publishContext.ts';
import type { RaidStatus } from '../dm/index.ts';
import { initialMirrorRecord, markAllInSync, markOutOfSync } from '../replication/mirrorRecord.ts';
import { HEADER_SECTORS } from './mirrorLegs.ts';
import { KeyedLocks } from '../locks/index.ts';
import { decideMirrorAction, MirrorWatch, RESTORE_BACKOFF_MS } from './mirrorWatch.ts';
import { stageMirror } from './stageMirror.ts';
import { FakeNodeHost, silentLog } from './testing/FakeNodeHost.ts';
import { buildDmName } from './volumeAccess.ts';

const status = (health: string, syncAction = 'idle', synced = 8): RaidStatus => ({
  raidType: 'raid1', health: [...health] as RaidStatus['health'], syncedSectors: synced, totalSectors: 8, syncAction, mismatchCount: 0,
});
const GEN1 = initialMirrorRecord(['store-a', 'store-b'], 2 ** 20);
const GEN2 = markOutOfSync(GEN1, [1]);

describe('decideMirrorAction', () => {
  it('does nothing while the mirror is whole and the record agrees', () => {
    assert.deepEqual(decideMirrorAction(GEN1, status('AA'), [true, true]), { kind: 'none' });
  });

  it('records a dead leg out of sync first, even when its session is already back', () => {
    assert.deepEqual(decideMirrorAction(GEN1, status('AD'), [true, true]), { kind: 'markOutOfSync', slots: [1] });
    assert.deepEqual(decideMirrorAction(GEN1, status('A-'), [true, false]), { kind: 'markOutOfSync', slots: [1] });
  });

  it('restores a dead leg recorded out of sync once its session answers; waits while it does not', () => {
    assert.deepEqual(decideMirrorAction(GEN2, status('AD'), [true, true]), { kind: 'restore', slots: [1] });
    assert.deepEqual(decideMirrorAction(GEN2, status('AD'), [true, false]), { kind: 'none' });
  });

  it('records all in sync only once every leg is A and the sync is idle and complete', () => {
    assert.deepEqual(decideMirrorAction(GEN2, status('Aa', 'recover', 4), [true, true]), { kind: 'none' });
    assert.deepEqual(decideMirrorAction(GEN2, status('AA', 'resync', 4), [true, true]), { kind: 'none' });
    assert.deepEqual(decideMirrorAction(GEN2, status('A-'), [true, false]), { kind: 'none' });
    assert.deepEqual(decideMirrorAction(GEN2, status('AA'), [true, true]), { kind: 'markAllInSync' });
  });

  it('leaves the initial resync of a new set (every leg a) alone', () => {
    assert.deepEqual(decideMirrorAction(GEN1, status('aa', 'resync', 2), [true, true]), { kind: 'none' });
  });
});

describe('MirrorWatch', () => {
  const LV = 'vbs-vol-abcdefghijklmnopqrstuvwxyz';
  const VOLUME = `@mirror/${LV}`;
  const IQN_A = `iqn.2026-11.io.vbs-csi.store-a:${LV}`;
  const IQN_B = `iqn.2026-11.io.vbs-csi.store-b:${LV}`;
  const DM = buildDmName('iqn.2026-11.io.test:worker-1', VOLUME);
  let host: FakeNodeHost;
  let now: number;
  let watch: MirrorWatch;

  beforeEach(async () => {
    host = await FakeNodeHost.create();
    host.addLun({ targetIqn: IQN_A, lun: 0, serial: 'aaaa0001', sectors: HEADER_SECTORS + 2048, node: 'store-a' });
    host.addLun({ targetIqn: IQN_B, lun: 0, serial: 'bbbb0001', sectors: HEADER_SECTORS + 2048, node: 'store-b' });
    host.mirrorCopies.set('store-a', { slot: 0, record: GEN1 });
    host.mirrorCopies.set('store-b', { slot: 1, record: GEN1 });
    const staging = join(host.dir, 'staging');
    await mkdir(staging, { recursive: true });
    const publishContext = parseMirrorPublishContext(
      buildMirrorPublishContext({
        copies: [
          { node: 'store-a', targetPortal: '10.0.0.5:3260', targetIqn: IQN_A, lun: 0, serial: 'aaaa0001', agentAddress: '10.0.0.5:9500' },
          { node: 'store-b', targetPortal: '10.0.0.6:3260', targetIqn: IQN_B, lun: 0, serial: 'bbbb0001', agentAddress: '10.0.0.6:9500' },
        ],
      }),
    );
    await stageMirror(host.deps(), { volumeId: VOLUME, stagingPath: staging, access: { kind: 'block' }, accessMode: 'SINGLE_NODE_WRITER', publishContext }, { log: silentLog, signal: new AbortController().signal });
    now = 0;
    watch = new MirrorWatch({ deps: host.deps(), log: silentLog, now: () => now });
  });
  afterEach(async () => {
    await watch.stop();
    await host.cleanup();
  });

  it('a leg fails: out of sync on the survivor only, once; it answers again: suspend + resume; resynced: all in sync', async () => {
    await watch.tick();
    assert.equal(host.mirrorWrites.length, 0, 'nothing to write while whole');

    host.raid.get(DM)!.health = ['A', 'D'];
    await host.setSessionState(IQN_B, 'FAILED');
    await watch.tick();
    assert.deepEqual(host.mirrorWrites.map((w) => [w.node, w.expectedGeneration, w.record.generation, w.applied]), [['store-a', 1, 2, true]]);
    assert.deepEqual(host.mirrorCopies.get('store-a')!.record, GEN2);
    await watch.tick();
    assert.equal(host.mirrorWrites.length, 1, 'written once');
    assert.ok(!host.calls.includes(`dm suspend ${DM}`), 'no restore while the copy is down');

    await host.setSessionState(IQN_B, 'LOGGED_IN');
    await watch.tick();
    assert.deepEqual(host.calls.slice(-2), [`dm suspend ${DM}`, `dm resume ${DM}`]);
    assert.deepEqual(host.raid.get(DM)!.health, ['A', 'a']);

    Object.assign(host.raid.get(DM)!, { health: ['A', 'A'], syncAction: 'idle' });
    await watch.tick();
    const last = host.mirrorWrites.at(-1)!;
    assert.deepEqual([last.record.generation, last.record.copies.every((c) => c.inSync)], [3, true]);
    assert.deepEqual(host.mirrorCopies.get('store-a')!.record, markAllInSync(GEN2));
  });

  it('a restore that does not hold is retried after the backoff, not at every look', async () => {
    host.mirrorCopies.set('store-a', { slot: 0, record: GEN2 });
    host.raid.get(DM)!.health = ['A', 'D'];
    const restores = () => host.calls.filter((c) => c === `dm suspend ${DM}`).length;
    await watch.tick();
    assert.equal(restores(), 1);
    host.raid.get(DM)!.health = ['A', 'D'];
    await watch.tick();
    assert.equal(restores(), 1);
    now += RESTORE_BACKOFF_MS;
    await watch.tick();
    assert.equal(restores(), 2);
  });

  it('does not restore while a CSI call holds the volume', async () => {
    const locks = new KeyedLocks();
    watch = new MirrorWatch({ deps: host.deps(), log: silentLog, now: () => now, locks });
    host.mirrorCopies.set('store-a', { slot: 0, record: GEN2 });
    host.raid.get(DM)!.health = ['A', 'D'];
    assert.ok(locks.tryAcquire(`volume ${VOLUME}`));
    await watch.tick();
    assert.ok(!host.calls.includes(`dm suspend ${DM}`));
    locks.release(`volume ${VOLUME}`);
    await watch.tick();
    assert.ok(host.calls.includes(`dm suspend ${DM}`));
  });

  it('a compare-and-set lost to another writer is redone over the winner', async () => {
    await watch.tick(); // learns generation 1
    const other = { ...GEN1, generation: 2 }; // someone else wrote generation 2 (all in sync still)
    host.mirrorCopies.set('store-a', { slot: 0, record: other });
    host.raid.get(DM)!.health = ['A', 'D'];
    await watch.tick();
    assert.deepEqual(host.mirrorWrites.map((w) => [w.expectedGeneration, w.record.generation, w.applied]), [[1, 2, false], [2, 3, true]]);
    assert.deepEqual(host.mirrorCopies.get('store-a')!.record.copies.map((c) => c.inSync), [true, false]);
  });

  it('a copy whose agent did not answer the in-sync record catches up once it answers', async () => {
    host.mirrorCopies.set('store-a', { slot: 0, record: GEN2 }); // store-b was away for generation 2
    Object.assign(host.raid.get(DM)!, { health: ['A', 'A'], syncAction: 'idle' });
    host.agentsDown.add('store-b'); // its session is back, its agent not yet
    await watch.tick();
    assert.deepEqual(host.mirrorCopies.get('store-a')!.record, markAllInSync(GEN2));
    assert.deepEqual(host.mirrorCopies.get('store-b')!.record, GEN1, 'the write to store-b failed');
    await watch.tick();
    assert.deepEqual(host.mirrorCopies.get('store-b')!.record, GEN1, 'still down: still behind');
    host.agentsDown.delete('store-b');
    await watch.tick();
    assert.deepEqual(host.mirrorCopies.get('store-b')!.record, markAllInSync(GEN2), 'caught up from generation 1 to 3');
    const writes = host.mirrorWrites.length;
    await watch.tick();
    assert.equal(host.mirrorWrites.length, writes, 'nothing more to write');
  });

  it('a copy found behind when the watch starts (a node plugin restart) is caught up', async () => {
    const whole = markAllInSync(GEN2);
    host.mirrorCopies.set('store-a', { slot: 0, record: whole });
    await watch.tick();
    assert.deepEqual(host.mirrorCopies.get('store-b')!.record, whole);
  });

  it('a volume whose agent does not answer is skipped and tried again', async () => {
    host.agentsDown.add('store-a');
    host.raid.get(DM)!.health = ['A', 'D'];
    await watch.tick();
    assert.equal(host.mirrorWrites.length, 0);
    host.agentsDown.delete('store-a');
    await watch.tick();
    assert.equal(host.mirrorWrites.length, 1);
  });
});
