import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentVolumes } from '../../src/agent/AgentVolumes.ts';
import type { AgentTarget } from '../../src/agentApi/types.ts';
import type { ChapCredentials } from '../../src/chap/index.ts';
import { FailedPreconditionError } from '../../src/errors.ts';
import { CommandFailedError } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import { IscsiLoginRefusedError, Iscsiadm, readInitiatorName, verifyDeviceSerial, waitForSessionDisk } from '../../src/iscsi/index.ts';
import type { IscsiTarget, SessionSettings } from '../../src/iscsi/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordChap } from '../support/secretLedger.ts';
import { exportForLogin } from '../support/exportForLogin.ts';
import { inProcessAgent } from '../support/inProcessAgent.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

const VG = 'vbs-agentvol';
const POOL = 'pool';
const PORTAL = { ip: '127.0.0.3', port: 3260 };
const IQN_PREFIX = 'iqn.2026-11.io.vbs-e2e-agent';
/** An initiator name with no ACL anywhere, on its own iface. */
const NO_ACL_IFACE = 'vbs-e2e-agent-noacl';
const NO_ACL_INITIATOR = 'iqn.2026-11.io.vbs-e2e:agent-no-acl';
const MiB = 1024 * 1024;
const DATA_MIB = 8;
/**
 * Short replacement timeout so a fenced path fails within seconds; iscsid keeps trying to log
 * back in meanwhile, which is what lets a session survive a wiped and rebuilt export.
 */
const SESSION: SessionSettings = { replacementTimeoutS: 5, noopOutIntervalS: 1, noopOutTimeoutS: 2, loginTimeoutS: 10, initialLoginRetryMax: 1 };

/**
 * The storage agent's domain class end to end on the real kernel: AgentVolumes in process over a
 * loop-file VG and the real configfs, the guest's open-iscsi as the initiator.
 *  1. create (and re-create: idempotent), export with mutual CHAP to this host's initiator, log
 *     in, check the serial, write random data with O_DIRECT and checksum it
 *  2. expand; the initiator sees the new size after a rescan
 *  3. snapshot (parked), restore it into a larger volume and clone the volume; export and log in
 *     to both: the checksums equal the original's
 *  4. a wrong CHAP secret is refused; an initiator name without an ACL is refused
 *  5. wipe our targets from configfs by hand and deactivate one LV, as a reboot would; reconcile
 *     brings back the same IQNs and serials; the live session recovers by itself, the others log
 *     in again; the data is intact; a second reconcile changes nothing
 *  6. unexport fences the session; delete is refused while a snapshot exists
 *  7. a new volume never shows old data: the pool, made with zeroing off, zeroes after the first
 *     reconcile; a pattern written to a thick LV made by hand is still readable past 4 KiB through
 *     an LV created on the same extents as lvcreate -Z y -W y alone would, but the agent's thick
 *     volume on those extents reads as zeroes through iSCSI; a volume deleted and created again
 *     under the same name has another IQN and other CHAP secrets, and the old ones log in nowhere
 *  8. teardown through the agent leaves no LV, target, ACL, session or node record
 */
export const agentVolumesScenario: Scenario = {
  name: 'agent volumes: create, expand, snapshot, restore and clone keep data; exports admit only the allowed initiator; reconcile restores wiped exports',
  timeoutMs: 480_000,
  async run(ctx) {
    const { signal } = ctx;
    const { runner, sh, lvm, lio, iscsiadm, agent } = inProcessAgent(ctx, { vg: VG, pool: POOL, portal: PORTAL, iqnPrefix: IQN_PREFIX });
    const initiator = await readInitiatorName();
    const suffix = randomBytes(3).toString('hex');
    const targets: IscsiTarget[] = [];
    const volumeIds: string[] = [];
    const snapshotIds: string[] = [];
    const leftBehind: string[] = [];
    let disk: LoopVolumeGroup | undefined;
    const t0 = performance.now();
    const step = (what: string): void => ctx.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);

    /** Node record with the derived credentials, login, the session's disk, its serial checked. */
    const attach = async (target: AgentTarget, chap: ChapCredentials): Promise<{ it: IscsiTarget; device: string; sid: number }> => {
      const it: IscsiTarget = { targetIqn: target.iqn, portal: target.portal };
      if (!targets.some((t) => t.targetIqn === it.targetIqn && t.iface === undefined)) targets.push(it);
      await iscsiadm.ensureNodeRecord({ target: it, chap: toIscsiChap(chap), settings: SESSION }, signal);
      await iscsiadm.login(it, signal);
      const session = await iscsiadm.findSession(it, signal);
      assert.ok(session, `no session for ${it.targetIqn}`);
      const device = await waitForSessionDisk(session.sid, target.lun, { deadlineMs: 30_000, pollMs: 100, signal });
      assert.equal(await verifyDeviceSerial(device, target.serial), 'vpd_pg80', `${device} does not carry serial ${target.serial}`);
      return { it, device, sid: session.sid };
    };

    try {
      disk = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: VG, thinPoolName: POOL, fileMiB: 1024, poolMiB: 512, zeroNewBlocks: false, signal });
      assert.equal((await lvm.getThinPool(signal)).isZeroing, false, 'the pool was made with zeroing off');
      const startReport = await agent.reconcile(signal);
      assert.deepEqual(startReport, { repaired: [], removed: [], failed: [] }, 'an empty VG needs no repair');
      assert.equal((await lvm.getThinPool(signal)).isZeroing, true, 'the first reconcile turned the pool\'s zeroing on');
      const zeroField = (await sh('lvm', ['lvs', '--noheadings', '-o', 'zero', `${VG}/${POOL}`])).stdout.trim();
      assert.match(zeroField, /^(zero|1)$/, `lvs -o zero agrees: ${JSON.stringify(zeroField)}`);
      step('the first reconcile turned the thin pool\'s zeroing on');

      // 1. Create, export, log in, write.
      const vol = await agent.createVolume({ name: `pvc-e2e-${suffix}`, sizeBytes: 60 * MiB + 1, thick: false }, signal);
      volumeIds.push(vol.id);
      assert.equal(vol.sizeBytes, 64 * MiB, 'rounded up to whole 4 MiB extents');
      assert.deepEqual(await agent.createVolume({ name: `pvc-e2e-${suffix}`, sizeBytes: 64 * MiB, thick: false }, signal), vol, 'a retried create returns the same volume');
      step(`created ${vol.id}: ${vol.target.iqn}, serial ${vol.target.serial}`);

      const exported = await exportForLogin(agent, { volumeId: vol.id, initiatorIqn: initiator, readOnly: false, mutualChap: true }, signal);
      assert.deepEqual(exported.target, vol.target);
      assert.ok(exported.chap.mutual?.password, 'mutual CHAP credentials');
      const main = await attach(vol.target, exported.chap);
      step(`logged in to ${vol.id} as ${initiator}: ${main.device}`);

      const data = randomBytes(DATA_MIB * MiB);
      const dataFile = join(ctx.workDir, 'data.bin');
      await writeFile(dataFile, data);
      await sh('dd', [`if=${dataFile}`, `of=${main.device}`, 'bs=1M', 'oflag=direct', 'conv=fsync,notrunc']);
      const checksum = sha256(data);
      assert.equal(await readChecksum(runner, ctx, main.device, signal), checksum, 'the data reads back through iSCSI');
      step(`${DATA_MIB} MiB written, sha256 ${checksum.slice(0, 16)}…`);

      // 2. Expand; the initiator sees it after a rescan.
      const grown = await agent.expandVolume(vol.id, 96 * MiB, signal);
      assert.equal(grown.sizeBytes, 96 * MiB);
      assert.equal((await agent.expandVolume(vol.id, 32 * MiB, signal)).sizeBytes, 96 * MiB, 'never shrinks');
      await iscsiadm.rescanSession(main.sid, signal);
      await pollUntil(async () => (await deviceSize(runner, main.device, signal)) === 96 * MiB, 30_000, signal, 'the initiator never saw 96 MiB');
      step('expanded to 96 MiB and seen by the initiator');

      // 3. Snapshot, restore, clone.
      const snap = await agent.createSnapshot({ name: `snap-e2e-${suffix}`, sourceVolumeId: vol.id }, signal);
      snapshotIds.push(snap.id);
      assert.equal(snap.sizeBytes, 96 * MiB);
      assert.equal(snap.readyToUse, true);
      const parked = await lvm.findVolume(snap.id, signal);
      assert.equal(parked?.isActive, false, 'a snapshot is parked inactive');
      assert.equal(parked?.attr.hasActivationSkip, true, 'and activation-skipped');
      step(`snapshot ${snap.id}`);

      const restored = await agent.createVolume({ name: `restored-e2e-${suffix}`, sizeBytes: 128 * MiB, thick: false, contentSource: { kind: 'snapshot', id: snap.id } }, signal);
      volumeIds.push(restored.id);
      assert.equal(restored.sizeBytes, 128 * MiB, 'restored larger than the snapshot');
      const clone = await agent.createVolume({ name: `clone-e2e-${suffix}`, sizeBytes: 96 * MiB, thick: false, contentSource: { kind: 'volume', id: vol.id } }, signal);
      volumeIds.push(clone.id);
      assert.equal(new Set([vol.target.serial, restored.target.serial, clone.target.serial]).size, 3, 'every volume has its own serial');
      step(`restored ${restored.id} (128 MiB) and cloned ${clone.id}`);

      // 4a. A wrong secret is refused, then the right one gets in.
      const restoredExport = await exportForLogin(agent, { volumeId: restored.id, initiatorIqn: initiator, readOnly: false, mutualChap: false }, signal);
      const restoredIt: IscsiTarget = { targetIqn: restored.target.iqn, portal: restored.target.portal };
      targets.push(restoredIt);
      await iscsiadm.ensureNodeRecord({ target: restoredIt, chap: { username: restoredExport.chap.username, password: `${restoredExport.chap.password}x` }, settings: SESSION }, signal);
      await assert.rejects(iscsiadm.login(restoredIt, signal), IscsiLoginRefusedError, 'a wrong CHAP secret must be refused');
      step('wrong CHAP secret refused');
      const restoredPath = await attach(restored.target, restoredExport.chap);
      assert.equal(await deviceSize(runner, restoredPath.device, signal), 128 * MiB);
      assert.equal(await readChecksum(runner, ctx, restoredPath.device, signal), checksum, 'the restore holds the snapshot data');

      const cloneExport = await exportForLogin(agent, { volumeId: clone.id, initiatorIqn: initiator, readOnly: true, mutualChap: false }, signal);
      const clonePath = await attach(clone.target, cloneExport.chap);
      assert.equal(await readChecksum(runner, ctx, clonePath.device, signal), checksum, 'the clone holds the volume data');
      assert.notEqual(await dd(runner, ['if=/dev/zero', `of=${clonePath.device}`, 'bs=4096', 'count=1', 'oflag=direct'], signal), 0, 'a read-only export refuses writes');
      step('restore and clone read back the original checksum; the read-only clone refuses writes');

      // 4b. An initiator name without an ACL is refused, even with valid credentials of another.
      await iscsiadm.ensureIface({ name: NO_ACL_IFACE, initiatorName: NO_ACL_INITIATOR }, signal);
      const noAcl: IscsiTarget = { ...targets[0]!, iface: NO_ACL_IFACE };
      targets.push(noAcl);
      await iscsiadm.ensureNodeRecord({ target: noAcl, chap: toIscsiChap(exported.chap), settings: SESSION }, signal);
      await assert.rejects(iscsiadm.login(noAcl, signal), IscsiLoginRefusedError, 'an initiator without an ACL must be refused');
      step('initiator without ACL refused');

      // 5. "Reboot": LIO forgets our targets, one LV is inactive. The main session stays logged in.
      const before = new Map<string, string | undefined>();
      for (const v of [vol, restored, clone]) before.set(v.target.iqn, (await lio.readExport(v.target.iqn))?.luns[0]?.backstore?.serial);
      await iscsiadm.logout(restoredIt, signal);
      await iscsiadm.logout({ targetIqn: clone.target.iqn, portal: clone.target.portal }, signal);
      for (const v of [vol, restored, clone]) await lio.unexportVolume(v.target.iqn, v.id);
      assert.deepEqual((await lio.listExports()).filter((e) => e.targetIqn.startsWith(IQN_PREFIX)), [], 'our targets are wiped');
      await sh('lvm', ['lvchange', '-an', `${VG}/${restored.id}`]);
      assert.equal((await lvm.findVolume(restored.id, signal))?.isActive, false);
      step('configfs wiped by hand and the restored LV deactivated');

      const started = performance.now();
      const report = await agent.reconcile(signal);
      step(`reconcile in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(report)}`);
      assert.deepEqual([...report.repaired].sort(), [vol.id, restored.id, clone.id].sort());
      assert.deepEqual(report.failed, []);
      for (const v of [vol, restored, clone]) {
        const back = await lio.readExport(v.target.iqn);
        assert.equal(back?.enabled, true, `${v.target.iqn} is back`);
        assert.equal(back?.luns[0]?.backstore?.serial, before.get(v.target.iqn), 'with the same serial');
        assert.equal(back?.luns[0]?.backstore?.serial, v.target.serial);
        assert.deepEqual(back?.acls.map((a) => a.initiatorIqn), [initiator], 'and the ACL its tag allows');
      }
      assert.equal((await lvm.findVolume(restored.id, signal))?.isActive, true, 'the inactive LV was activated');
      assert.deepEqual(await agent.reconcile(signal), { repaired: [], removed: [], failed: [] }, 'a second reconcile changes nothing');

      // The live session logs back in by itself (same IQN, same derived CHAP) and reads the data.
      await pollUntil(async () => (await dd(runner, [`if=${main.device}`, 'of=/dev/null', 'bs=4096', 'count=1', 'iflag=direct'], signal)) === 0, 60_000, signal, 'the live session did not recover');
      assert.equal(await readChecksum(runner, ctx, main.device, signal), checksum, 'data intact after the rebuild');
      assert.equal(await verifyDeviceSerial(main.device, vol.target.serial), 'vpd_pg80');
      step('the live session recovered by itself, data intact');
      const again = await attach(restored.target, restoredExport.chap);
      assert.equal(await readChecksum(runner, ctx, again.device, signal), checksum);
      step('restored volume logged in again, data intact');

      // 6. Unexport fences; delete waits for the snapshot to go.
      await agent.unexportVolume({ volumeId: vol.id, initiatorIqn: initiator }, signal);
      await pollUntil(async () => (await dd(runner, ['if=/dev/zero', `of=${main.device}`, 'bs=4096', 'count=1', 'seek=1024', 'oflag=direct'], signal)) !== 0, 30_000, signal, 'the fenced initiator could still write');
      assert.deepEqual((await lio.readExport(vol.target.iqn))?.acls, [], 'no ACL is left');
      assert.deepEqual((await agent.getVolume(vol.id, signal)).initiators, []);
      step('unexport fenced the session');
      await assert.rejects(agent.deleteVolume(vol.id, signal), FailedPreconditionError, 'a volume with a snapshot is not deleted');

      // 7a. Old data on reused extents: a thick LV by hand, a pattern, removed.
      const thickMiB = 32;
      const thickName = `thick-e2e-${suffix}`;
      const patternFile = join(ctx.workDir, 'pattern.bin');
      await writeFile(patternFile, Buffer.alloc(thickMiB * MiB, 0xa5));
      const byHand = async (args: readonly string[]) => {
        await sh('lvm', ['lvcreate', '-y', ...args, '-L', `${thickMiB}M`, '-n', 'old-tenant', VG]);
        return (await sh('lvm', ['lvs', '--noheadings', '-o', 'seg_pe_ranges', `${VG}/old-tenant`])).stdout.trim();
      };
      const extents = await byHand([]);
      await sh('dd', [`if=${patternFile}`, `of=/dev/${VG}/old-tenant`, 'bs=1M', 'oflag=direct', 'conv=fsync']);
      await sh('lvm', ['lvremove', '-y', `${VG}/old-tenant`]);
      // What the agent ran before: lvcreate -Z y -W y zeroes the first 4 KiB only.
      assert.equal(await byHand(['-Z', 'y', '-W', 'y']), extents, 'the same extents again');
      const leaked = await readBytes(runner, ctx, `/dev/${VG}/old-tenant`, MiB, 4096, signal);
      assert.ok(leaked.every((b) => b === 0xa5), 'lvcreate -Z y -W y alone leaves the old data readable past 4 KiB');
      await sh('lvm', ['lvremove', '-y', `${VG}/old-tenant`]);
      const thick = await agent.createVolume({ name: thickName, sizeBytes: thickMiB * MiB, thick: true }, signal);
      volumeIds.push(thick.id);
      assert.equal((await sh('lvm', ['lvs', '--noheadings', '-o', 'seg_pe_ranges', `${VG}/${thick.id}`])).stdout.trim(), extents, 'the thick volume got the old extents');
      assert.equal((await lvm.findVolume(thick.id, signal))?.tags['zeroing'], undefined, 'untagged once zeroed');
      const thickExport = await exportForLogin(agent, { volumeId: thick.id, initiatorIqn: initiator, readOnly: true, mutualChap: false }, signal);
      const thickPath = await attach(thick.target, thickExport.chap);
      const whole = await readBytes(runner, ctx, thickPath.device, 0, thickMiB * MiB, signal);
      assert.equal(whole.length, thickMiB * MiB);
      assert.ok(whole.every((b) => b === 0), 'every byte of the new thick volume reads as zero through iSCSI');
      // 7a'. Growth onto a deleted LV's extents, seen by the session that stays logged in: they are
      // zeroed before lvextend adds them, so no rescan can ever show the old tenant's data.
      const nextExtents = await byHand([]);
      await sh('dd', [`if=${patternFile}`, `of=/dev/${VG}/old-tenant`, 'bs=1M', 'oflag=direct', 'conv=fsync']);
      await sh('lvm', ['lvremove', '-y', `${VG}/old-tenant`]);
      assert.equal((await agent.expandVolume(thick.id, 2 * thickMiB * MiB, signal)).sizeBytes, 2 * thickMiB * MiB);
      const thickRanges = (await sh('lvm', ['lvs', '--segments', '--noheadings', '-o', 'seg_pe_ranges', `${VG}/${thick.id}`])).stdout.trim().split(/\s+/);
      // lvm merges adjacent segments (…:130-137 and …:138-145 become …:130-145): compare extent by extent.
      assert.deepEqual(extentsIn(thickRanges), extentsIn([extents, nextExtents]), 'the volume grew onto the deleted LV\'s extents');
      assert.deepEqual((await lvm.listVolumes({ maxAgeMs: 0 }, signal)).map((lv) => lv.name).filter((n) => n.startsWith('vbs-grow-')), [], 'no growth LV left');
      await iscsiadm.rescanSession(thickPath.sid, signal);
      await pollUntil(async () => (await deviceSize(runner, thickPath.device, signal)) === 2 * thickMiB * MiB, 30_000, signal, 'the initiator never saw the grown thick volume');
      const added = await readBytes(runner, ctx, thickPath.device, thickMiB * MiB, thickMiB * MiB, signal);
      assert.ok(added.length === thickMiB * MiB && added.every((b) => b === 0), 'the added extents read as zeroes through the live session');
      step(`thick volume grown onto a deleted LV's extents (${nextExtents}): the live session reads zeroes there`);
      await iscsiadm.logout({ targetIqn: thick.target.iqn, portal: thick.target.portal }, signal);
      step(`thick volume on a deleted LV's extents (${extents}) reads ${thickMiB} MiB of zeroes through iSCSI`);

      // 7b. Name reuse: the old IQN and secret reach nothing.
      const reuseName = `reuse-e2e-${suffix}`;
      const first = await agent.createVolume({ name: reuseName, sizeBytes: 16 * MiB, thick: false }, signal);
      volumeIds.push(first.id); // the same id as the volume created again below
      const firstChap = (await exportForLogin(agent, { volumeId: first.id, initiatorIqn: initiator, readOnly: false, mutualChap: false }, signal)).chap;
      const firstPath = await attach(first.target, firstChap);
      assert.equal(await dd(runner, ['if=/dev/zero', `of=${firstPath.device}`, 'bs=4096', 'count=1', 'oflag=direct'], signal), 0);
      await agent.unexportVolume({ volumeId: first.id, initiatorIqn: initiator }, signal);
      await agent.deleteVolume(first.id, signal);
      const second = await agent.createVolume({ name: reuseName, sizeBytes: 16 * MiB, thick: false }, signal);
      const secondChap = (await exportForLogin(agent, { volumeId: second.id, initiatorIqn: initiator, readOnly: false, mutualChap: false }, signal)).chap;
      assert.equal(second.id, first.id, 'same name, same id');
      assert.notEqual(second.target.iqn, first.target.iqn, 'another target IQN');
      assert.notEqual(secondChap.password, firstChap.password, 'another CHAP secret');
      recordChap('exported by the in-process agent', secondChap);
      // The old session, still retrying its login at the old IQN, finds no target.
      const firstIt: IscsiTarget = { targetIqn: first.target.iqn, portal: first.target.portal };
      await iscsiadm.logout(firstIt, signal).catch(() => undefined);
      await assert.rejects(iscsiadm.login(firstIt, signal), 'a login at the old IQN fails');
      // Its credentials at the new IQN are refused.
      const secondIt: IscsiTarget = { targetIqn: second.target.iqn, portal: second.target.portal };
      targets.push(secondIt);
      await iscsiadm.ensureNodeRecord({ target: secondIt, chap: toIscsiChap(firstChap), settings: SESSION }, signal);
      await assert.rejects(iscsiadm.login(secondIt, signal), IscsiLoginRefusedError, 'the old CHAP secret is refused at the new IQN');
      const secondPath = await attach(second.target, secondChap);
      assert.ok((await readBytes(runner, ctx, secondPath.device, 0, 4096, signal)).every((b) => b === 0), 'the new volume does not hold the old one\'s writes');
      step(`name reuse: ${first.target.iqn} -> ${second.target.iqn}; the old IQN and the old secret get in nowhere`);
    } finally {
      await teardown(ctx, { agent, iscsiadm, targets, volumeIds, snapshotIds, disk, leftBehind });
    }
    assert.deepEqual(leftBehind, [], 'the agent deleted every volume it created');

    // 7. Nothing may be left behind.
    assert.deepEqual((await iscsiadm.listSessions(signal)).filter((s) => s.targetIqn.startsWith(IQN_PREFIX)), [], 'no session is left');
    for (const t of targets) assert.equal(existsSync(`/etc/iscsi/nodes/${t.targetIqn}`), false, `a node record is left for ${t.targetIqn}`);
    assert.deepEqual((await lio.listExports()).filter((e) => e.targetIqn.startsWith(IQN_PREFIX)), [], 'no target is left');
    for (const id of [...volumeIds, ...snapshotIds]) assert.equal(existsSync(`/sys/kernel/config/target/core/iblock_0/${id}`), false, `backstore ${id} is left`);
    const vgs = await sh('lvm', ['vgs', '--reportformat', 'json', '-o', 'vg_name']);
    assert.doesNotMatch(vgs.stdout, new RegExp(`"${VG}"`), 'the VG is gone');
    step('teardown left nothing behind');
  },
};

/** Initiator side first, then the agent deletes (snapshot, then volumes), then the VG and loop device; each step tolerates "gone". */
async function teardown(
  ctx: ScenarioContext,
  t: {
    agent: AgentVolumes;
    iscsiadm: Iscsiadm;
    targets: readonly IscsiTarget[];
    volumeIds: readonly string[];
    snapshotIds: readonly string[];
    disk: LoopVolumeGroup | undefined;
    leftBehind: string[];
  },
): Promise<void> {
  const note = (what: string) => (err: unknown) => ctx.log(`teardown ${what}: ${String(err)}`);
  for (const target of t.targets) {
    await t.iscsiadm.logout(target, ctx.signal).catch(note(`logout ${target.targetIqn}`));
    await t.iscsiadm.deleteNodeRecord(target, ctx.signal).catch(note(`delete record ${target.targetIqn}`));
  }
  await t.iscsiadm.deleteIface(NO_ACL_IFACE, ctx.signal).catch(note('delete iface'));
  for (const id of t.snapshotIds) await t.agent.deleteSnapshot(id, ctx.signal).catch(note(`delete snapshot ${id}`));
  for (const id of [...t.volumeIds].reverse()) await t.agent.deleteVolume(id, ctx.signal).catch(note(`delete volume ${id}`));
  const left = await t.agent.listVolumes(ctx.signal).then((vs) => vs.map((v) => v.id), (err: unknown) => [`listVolumes failed: ${String(err)}`]);
  if (left.length > 0) ctx.log(`teardown: volumes left: ${left.join(', ')}`);
  t.leftBehind.push(...left);
  await t.disk?.destroy(ctx.log);
}

/** The credentials as the node record takes them (the one shape), recorded for the secrets scan. */
function toIscsiChap(chap: ChapCredentials): ChapCredentials {
  return recordChap('exported by the in-process agent', chap);
}

/** sha256 of the first DATA_MIB MiB, read with O_DIRECT so the page cache cannot answer. */
async function readChecksum(runner: CommandRunner, ctx: ScenarioContext, device: string, signal: AbortSignal): Promise<string> {
  const out = join(ctx.workDir, 'readback.bin');
  await runner.run({ file: 'dd', args: [`if=${device}`, `of=${out}`, 'bs=1M', `count=${DATA_MIB}`, 'iflag=direct'], timeoutMs: 60_000 }, signal);
  return sha256(await readFile(out));
}

/** `length` bytes at `offset` of a device, read with O_DIRECT (offset and length in whole 4 KiB blocks). */
async function readBytes(runner: CommandRunner, ctx: ScenarioContext, device: string, offset: number, length: number, signal: AbortSignal): Promise<Buffer> {
  const out = join(ctx.workDir, 'bytes.bin');
  const bs = offset % MiB === 0 && length % MiB === 0 ? MiB : 4096;
  await runner.run({ file: 'dd', args: [`if=${device}`, `of=${out}`, `bs=${bs}`, `skip=${offset / bs}`, `count=${length / bs}`, 'iflag=direct'], timeoutMs: 60_000 }, signal);
  return readFile(out);
}

/** Every physical extent of `PV:first-last` ranges, as `PV:n`, sorted. */
function extentsIn(ranges: readonly string[]): string[] {
  return ranges
    .flatMap((range) => {
      const [pv, span] = [range.slice(0, range.lastIndexOf(':')), range.slice(range.lastIndexOf(':') + 1)];
      const [first, last] = span.split('-').map(Number) as [number, number];
      return Array.from({ length: last - first + 1 }, (_, i) => `${pv}:${first + i}`);
    })
    .sort();
}

async function deviceSize(runner: CommandRunner, device: string, signal: AbortSignal): Promise<number> {
  return Number((await runner.run({ file: 'blockdev', args: ['--getsize64', device], timeoutMs: 15_000 }, signal)).stdout.trim());
}

/** dd's exit code; a failure is a result here (fenced or read-only paths). */
async function dd(runner: CommandRunner, args: readonly string[], signal: AbortSignal): Promise<number> {
  try {
    return (await runner.run({ file: 'dd', args, timeoutMs: 60_000 }, signal)).exitCode;
  } catch (err: unknown) {
    if (err instanceof CommandFailedError && err.exitCode !== undefined) return err.exitCode;
    throw err;
  }
}

async function pollUntil(check: () => Promise<boolean>, deadlineMs: number, signal: AbortSignal, message: string): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(message);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 250);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      }, { once: true });
    });
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
