import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { Dmsetup } from '../../src/dm/index.ts';
import { CommandFailedError, ExecaRunner } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import { Iscsiadm, readInitiatorName, verifyDeviceSerial, waitForSessionDisk } from '../../src/iscsi/index.ts';
import type { IscsiTarget, SessionSettings } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget, buildTargetIqn, buildUnitSerial } from '../../src/lio/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordSecret } from '../support/secretLedger.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

/**
 * The kernel mechanics of a worker-side raid1 over two iSCSI copies (issue 18), measured on the
 * real kernel before the product relies on them (docs/replication-kernel.md). Two thin LVs, each
 * behind a dm-delay (to make one leg slow on demand) and exported by LIO on its own portal address;
 * one session per copy; per disk a dm-linear header (meta) and data leg; a dm `raid raid1` table over
 * both. A portal's address is deleted to play a dead node: its TCP packets go nowhere.
 *  a) blank legs: `nosync` starts in sync; without it md resyncs (and thin-allocates) the whole second copy;
 *  b) a dead copy under fio: its leg fails within noop + replacement timeouts, no write fails (two session profiles);
 *     a copy slowed by dm-delay far beyond those timeouts is not failed;
 *  c) the copy returns: iscsid logs in again; suspend+resume re-adds the leg; the resync writes the dirty regions only;
 *  d) a stale leg alone assembles and serves old data (why the product keeps a generation record);
 *  e) a second raid1 over the same legs on one host is not refused.
 */
const VG = 'vbsmk';
const PREFIX = 'vbs-mk';
const RAID = `${PREFIX}-raid`;
const HEADER_SECTORS = 8192; // 4 MiB: dm-raid superblock + write-intent bitmap (MIRROR_HEADER_BYTES)
const DATA_MIB = 64;
const DATA_SECTORS = DATA_MIB * 2048;
const REGION_SECTORS = 4096; // 2 MiB
const REGION_BYTES = REGION_SECTORS * 512;
/** fio's degraded writes stay in the first 8 MiB: four regions, so a bitmap-driven resync has a bound. */
const HOT_BYTES = 8 * 1024 * 1024;
/** Per node record: a dead portal fails the leg after at most noop interval + noop timeout + replacement timeout. */
const SETTINGS: SessionSettings = { replacementTimeoutS: 5, noopOutIntervalS: 2, noopOutTimeoutS: 5, loginTimeoutS: 5, initialLoginRetryMax: 1 };
/** Copy 0's node record: a faster profile, measured in phase b3 (a dead copy 0) against SETTINGS on copy 1. */
const FAST_SETTINGS: SessionSettings = { replacementTimeoutS: 2, noopOutIntervalS: 1, noopOutTimeoutS: 2, loginTimeoutS: 5, initialLoginRetryMax: 1 };
/** The slow-leg phase: every bio on copy 0 waits this long (longer than its noop timeout and replacement timeout together). */
const SLOW_MS = 7000;

interface Copy {
  readonly slot: number;
  readonly ip: string;
  readonly lv: string; // /dev/vbsmk/legN
  readonly slow: string; // dm-delay name over the LV, what LIO exports
  readonly target: IscsiTarget;
  readonly targetIqn: string;
  readonly backstore: string;
  disk?: string; // /dev/sdX
  sid?: number;
  readonly meta: string; // dm-linear names on the worker
  readonly data: string;
}

export const mirrorKernelScenario: Scenario = {
  name: 'raid1 over two iSCSI copies (kernel mechanics): a dead portal fails its leg without I/O errors (two session profiles), a slow leg does not fail, suspend/resume re-adds it and resyncs only dirty regions, a stale leg alone assembles',
  timeoutMs: 480_000,
  async run(ctx) {
    const { signal } = ctx;
    const log = pino({ level: 'debug', base: null, timestamp: false }, { write: (line: string) => ctx.log(`exec ${line.trim()}`) });
    const runner = new ExecaRunner({ log });
    const sh = (file: string, args: readonly string[], timeoutMs = 60_000) => runner.run({ file, args, timeoutMs }, signal);
    const iscsiadm = new Iscsiadm({ runner, timeoutsMs: { login: 60_000 } });
    const lio = new LioTarget({ configFs: new FsConfigFs() });
    const dmsetup = new Dmsetup({ runner });
    const figures: Record<string, unknown> = {};
    const figure = (key: string, value: unknown) => {
      figures[key] = value;
      ctx.log(`FIGURE ${key} = ${JSON.stringify(value)}`);
    };

    for (const module of ['dm-raid', 'dm-delay']) await sh('modprobe', [module]);
    const initiator = await readInitiatorName();
    const chap = { username: 'e2e-mirror', password: secret(), mutual: { username: 'e2e-mirror-target', password: secret() } };
    const copies: Copy[] = [0, 1].map((slot) => {
      const targetIqn = buildTargetIqn('iqn.2026-11.io.vbs-e2e', `mirror-${slot}`);
      const ip = `10.99.0.${slot + 1}`;
      return {
        slot, ip, lv: `/dev/${VG}/leg${slot}`, slow: `${PREFIX}-slow${slot}`,
        target: { targetIqn, portal: { ip, port: 3260 } }, targetIqn, backstore: `${PREFIX}-${slot}`,
        meta: `${PREFIX}-m${slot}`, data: `${PREFIX}-d${slot}`,
      };
    });
    const [copy0, copy1] = copies as [Copy, Copy];
    let vg: LoopVolumeGroup | undefined;
    try {
      for (const c of copies) await sh('ip', ['addr', 'replace', `${c.ip}/32`, 'dev', 'lo']);
      vg = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: VG, fileMiB: 400, poolMiB: 320, signal });
      const legSectors = HEADER_SECTORS + DATA_SECTORS;
      for (const c of copies) {
        await sh('lvm', ['lvcreate', '-y', '-V', `${legSectors / 2048}M`, '-T', `${VG}/pool`, '-n', `leg${c.slot}`]);
        await sh('dmsetup', ['create', c.slow, '--noudevsync', '--verifyudev', '--table', `0 ${legSectors} delay ${c.lv} 0 0`]);
        await lio.exportVolume({
          backstoreName: c.backstore, devicePath: `/dev/mapper/${c.slow}`, serial: buildUnitSerial(`e2e/mirror-${c.slot}`),
          targetIqn: c.targetIqn, portal: c.target.portal, thin: true, acls: [{ initiatorIqn: initiator, chap }],
        });
        await iscsiadm.ensureNodeRecord({ target: c.target, chap, settings: c.slot === 0 ? FAST_SETTINGS : SETTINGS }, signal);
        await iscsiadm.login(c.target, signal);
        const session = await iscsiadm.findSession(c.target, signal);
        assert.ok(session, `no session for copy ${c.slot}`);
        c.sid = session.sid;
        c.disk = await waitForSessionDisk(session.sid, 0, { deadlineMs: 30_000, pollMs: 100, signal });
        assert.equal(await verifyDeviceSerial(c.disk, buildUnitSerial(`e2e/mirror-${c.slot}`)), 'vpd_pg80');
        // The worker's two legs over the copy's disk: the header, then the data.
        await sh('dmsetup', ['create', c.meta, '--noudevsync', '--verifyudev', '--table', `0 ${HEADER_SECTORS} linear ${c.disk} 0`]);
        await sh('dmsetup', ['create', c.data, '--noudevsync', '--verifyudev', '--table', `0 ${DATA_SECTORS} linear ${c.disk} ${HEADER_SECTORS}`]);
        ctx.log(`copy ${c.slot}: ${c.ip} session ${c.sid} disk ${c.disk}`);
      }
      const both = raidLegs(copies.map((c) => c));

      // a) Fresh legs. `nosync` first: blank thin LVs read zeros on every leg, so they already agree.
      await createRaid(sh, RAID, both, ['nosync']);
      let status = await raidStatus(sh, RAID);
      figure('a.nosync.status', status.raw);
      assert.equal(status.health, 'AA');
      assert.equal(status.syncCurrent, status.syncTotal, 'nosync must start in sync');
      const afterNosync = await thinPercents(sh);
      figure('a.nosync.thinDataPercent', afterNosync);
      await dmsetup.remove(RAID, signal);
      // Zeroed headers again, then without nosync: dm-raid sees new devices and resyncs everything.
      for (const c of copies) await sh('dd', ['if=/dev/zero', `of=/dev/mapper/${c.meta}`, 'bs=1M', 'count=4', 'oflag=direct']);
      const writesBeforeSync = await diskWriteBytes(copies);
      let started = performance.now();
      await createRaid(sh, RAID, both, []);
      figure('a.fullsync.statusAtCreate', (await raidStatus(sh, RAID)).raw);
      status = await waitForRaid(sh, RAID, (s) => s.health === 'AA' && s.syncCurrent === s.syncTotal && s.action === 'idle', 180_000, signal);
      figure('a.fullsync.seconds', secs(started));
      figure('a.fullsync.diskWriteBytes', delta(writesBeforeSync, await diskWriteBytes(copies)));
      figure('a.fullsync.thinDataPercent', await thinPercents(sh));
      figure('a.fullsync.status', status.raw);

      // b) A dead portal under a write load: the leg fails, writes go on, none fails.
      const fioDead = startFio(ctx, 'dead', 30);
      // Under a loaded TCG host fio can take many seconds to start: cut the portal only once it writes.
      await waitForWrites(sh, RAID, 200, 120_000, signal);
      await sleep(2000, signal);
      const killedAt = performance.now();
      const fioStart = fioDead.startedAt;
      await sh('ip', ['addr', 'del', `${copy1.ip}/32`, 'dev', 'lo']);
      status = await waitForRaid(sh, RAID, (s) => s.health === 'AD', 60_000, signal);
      const failedAfterS = secs(killedAt);
      figure('b.dead.legFailedAfterSeconds', failedAfterS);
      figure('b.dead.status', status.raw);
      figure('b.dead.superblocks', await superblocks(copies));
      const dead = await fioDead.done;
      figure('b.dead.fio', dead.summary);
      assert.equal(dead.exitCode, 0, `fio failed: ${dead.stderr}`);
      assert.equal(dead.summary.errors, 0, 'writes failed while a leg died');
      // fio's log times count from its job start, a little after our spawn: thresholds lean early.
      const degradedWrites = dead.log.filter((e) => e.timeMs >= killedAt - fioStart + failedAfterS * 1000);
      const dirtyRegions = new Set(dead.log.filter((e) => e.timeMs >= killedAt - fioStart - 2000).map((e) => Math.floor(e.offset / REGION_BYTES)));
      figure('b.dead.bytesWrittenDegraded', degradedWrites.reduce((sum, e) => sum + e.bytes, 0));
      figure('b.dead.dirtyRegions', [...dirtyRegions].sort((x, y) => x - y));
      // noop interval + noop timeout + replacement timeout = 12 s, with room for a loaded TCG host; open-iscsi's default (120 s) fails this.
      assert.ok(dead.summary.longestStallMs < 20_000, `the longest stall was ${dead.summary.longestStallMs} ms`);

      // c) The address comes back: iscsid logs in again by itself; suspend+resume re-adds the leg and
      // the write-intent bitmap limits the resync to the dirty regions.
      started = performance.now();
      await sh('ip', ['addr', 'add', `${copy1.ip}/32`, 'dev', 'lo']);
      await waitUntil(async () => (await sessionState(copy1)) === 'LOGGED_IN' && (await diskState(copy1)) === 'running', 120_000, signal);
      figure('c.reloginSeconds', secs(started));
      figure('c.statusBeforeResume', (await raidStatus(sh, RAID)).raw);
      figure('c.superblocksBeforeResume', await superblocks(copies));
      const writesBeforeResync = await diskWriteBytes(copies);
      started = performance.now();
      await sh('dmsetup', ['suspend', RAID]);
      await sh('dmsetup', ['resume', RAID]);
      status = await waitForRaid(sh, RAID, (s) => s.health === 'AA' && s.syncCurrent === s.syncTotal && s.action === 'idle', 120_000, signal);
      figure('c.resyncSeconds', secs(started));
      const resynced = delta(writesBeforeResync, await diskWriteBytes(copies));
      figure('c.resyncDiskWriteBytes', resynced);
      figure('c.dirtyBytesBound', dirtyRegions.size * REGION_BYTES);
      figure('c.status', status.raw);
      figure('c.superblocks', await superblocks(copies));
      assert.ok(resynced[1]! <= (dirtyRegions.size + 2) * REGION_BYTES, `resync wrote ${resynced[1]} bytes to the returned leg, more than its dirty regions`);
      assert.ok(resynced[1]! < DATA_MIB * 1024 * 1024 / 2, 'the resync was not limited by the bitmap');
      await assertLegsEqual(sh, copies);

      // b2) A healthy but slow leg under load: every bio on copy 0 (the fast session profile) waits SLOW_MS; no leg may fail.
      await setDelay(sh, copy0, SLOW_MS);
      const fioSlow = startFio(ctx, 'slow', 25);
      const slowStates = new Set<string>();
      const pollSlow = (async () => {
        while (!fioSlow.finished()) {
          slowStates.add((await raidStatus(sh, RAID)).health);
          await sleep(1000, signal);
        }
      })();
      const slow = await fioSlow.done;
      await pollSlow;
      await setDelay(sh, copy0, 0);
      figure('b2.slow.fio', slow.summary);
      figure('b2.slow.healthSeen', [...slowStates]);
      assert.equal(slow.exitCode, 0, `fio failed: ${slow.stderr}`);
      assert.equal(slow.summary.errors, 0);
      assert.deepEqual([...slowStates], ['AA'], 'a slow leg was failed');
      await assertLegsEqual(sh, copies);

      // b3) The faster profile: copy 0 dies under the same load.
      const fioFast = startFio(ctx, 'dead-fast', 25);
      await waitForWrites(sh, RAID, 200, 120_000, signal);
      await sleep(2000, signal);
      const fastKilledAt = performance.now();
      await sh('ip', ['addr', 'del', `${copy0.ip}/32`, 'dev', 'lo']);
      await waitForRaid(sh, RAID, (s) => s.health === 'DA', 60_000, signal);
      figure('b3.fast.legFailedAfterSeconds', secs(fastKilledAt));
      const fast = await fioFast.done;
      figure('b3.fast.fio', fast.summary);
      assert.equal(fast.exitCode, 0, `fio failed: ${fast.stderr}`);
      assert.equal(fast.summary.errors, 0, 'writes failed while copy 0 died');
      assert.ok(fast.summary.longestStallMs < dead.summary.longestStallMs, 'the faster profile did not shorten the stall');
      await sh('ip', ['addr', 'add', `${copy0.ip}/32`, 'dev', 'lo']);
      await waitUntil(async () => (await sessionState(copy0)) === 'LOGGED_IN' && (await diskState(copy0)) === 'running', 120_000, signal);
      await sh('dmsetup', ['suspend', RAID]);
      await sh('dmsetup', ['resume', RAID]);
      await waitForRaid(sh, RAID, (s) => s.health === 'AA' && s.syncCurrent === s.syncTotal && s.action === 'idle', 120_000, signal);
      await assertLegsEqual(sh, copies);

      // d) The stale-assembly hazard: copy 1 dies again, 1 MiB is written, the raid device goes away.
      await sh('ip', ['addr', 'del', `${copy1.ip}/32`, 'dev', 'lo']);
      const pattern = randomBytes(1024 * 1024);
      const patternAt = 32 * 1024 * 1024;
      started = performance.now();
      await writeDirect(sh, ctx.workDir, `/dev/mapper/${RAID}`, pattern, patternAt);
      figure('d.writeWhileLegDiesSeconds', secs(started));
      await waitForRaid(sh, RAID, (s) => s.health === 'AD', 60_000, signal);
      await dmsetup.remove(RAID, signal);
      figure('d.superblocksAfterDegradedWrite', await superblocks(copies));
      await sh('ip', ['addr', 'add', `${copy1.ip}/32`, 'dev', 'lo']);
      await waitUntil(async () => (await sessionState(copy1)) === 'LOGGED_IN' && (await diskState(copy1)) === 'running', 120_000, signal);
      const staleOnly = await tryCreateRaid(sh, RAID, raidLegs([undefined, copy1]), []);
      figure('d.staleAlone.create', staleOnly);
      assert.equal(staleOnly.ok, true, 'dm-raid refused the stale leg alone (then the generation record would be belt and braces)');
      figure('d.staleAlone.status', (await raidStatus(sh, RAID)).raw);
      const staleRead = await readDirect(sh, ctx.workDir, `/dev/mapper/${RAID}`, pattern.length, patternAt);
      figure('d.staleAlone.servesStaleData', sha256(staleRead) !== sha256(pattern));
      assert.notEqual(sha256(staleRead), sha256(pattern), 'the stale leg alone served the new data');
      await dmsetup.remove(RAID, signal);
      figure('d.superblocksAfterStaleAlone', await superblocks(copies));
      const freshOnly = await tryCreateRaid(sh, RAID, raidLegs([copy0, undefined]), []);
      figure('d.freshAlone.create', freshOnly);
      assert.equal(freshOnly.ok, true);
      figure('d.freshAlone.status', (await raidStatus(sh, RAID)).raw);
      assert.equal(sha256(await readDirect(sh, ctx.workDir, `/dev/mapper/${RAID}`, pattern.length, patternAt)), sha256(pattern), 'the fresh leg alone lost the write');
      await dmsetup.remove(RAID, signal);
      figure('d.superblocksAfterFreshAlone', await superblocks(copies));
      // Both again, after each was assembled alone (both superblocks moved on): which one wins?
      const rejoined = await tryCreateRaid(sh, RAID, both, []);
      figure('d.bothAfterSplit.create', rejoined);
      if (rejoined.ok) {
        figure('d.bothAfterSplit.statusAtCreate', (await raidStatus(sh, RAID)).raw);
        figure('d.bothAfterSplit.status', (await waitForRaid(sh, RAID, (s) => s.health === 'AA' && s.action === 'idle', 120_000, signal)).raw);
        figure('d.bothAfterSplit.superblocks', await superblocks(copies));
        figure('d.bothAfterSplit.servesNewData', sha256(await readDirect(sh, ctx.workDir, `/dev/mapper/${RAID}`, pattern.length, patternAt)) === sha256(pattern));
        for (const c of copies) await sh('blockdev', ['--flushbufs', c.lv]);
        figure('d.bothAfterSplit.legsEqual', (await sh('cmp', ['-i', String(HEADER_SECTORS * 512), copy0.lv, copy1.lv], 120_000).then(() => true, () => false)));
      } else {
        await createRaid(sh, RAID, raidLegs([copy0, undefined]), []);
      }

      // e) A second raid1 over the same legs on the same host, while the first is live.
      const second = await tryCreateRaid(sh, `${RAID}-b`, both, []);
      figure('e.secondRaidOverSameLegs', second);
      if (second.ok) {
        figure('e.secondStatus', (await raidStatus(sh, `${RAID}-b`)).raw);
        await dmsetup.remove(`${RAID}-b`, signal);
      }
      ctx.log(`FIGURES ${JSON.stringify(figures)}`);
    } finally {
      const kernel = (await sh('dmesg', []).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((l) => /md\/|raid|connection[0-9]|session[0-9]|device-mapper/.test(l));
      ctx.log(`kernel log (md, dm, iSCSI):\n${kernel.join('\n')}`);
      await teardown(ctx, { sh, dmsetup, iscsiadm, lio, copies, vg }).catch((err: unknown) => ctx.log(`teardown: ${String(err)}`));
    }
  },
};

type Sh = (file: string, args: readonly string[], timeoutMs?: number) => ReturnType<CommandRunner['run']>;

/** `<meta> <data>` per slot; a missing copy is `- -` (dm-raid.rst: a missing device). */
function raidLegs(copies: readonly (Copy | undefined)[]): string[] {
  return copies.flatMap((c) => (c ? [`/dev/mapper/${c.meta}`, `/dev/mapper/${c.data}`] : ['-', '-']));
}

/** `0 <len> raid raid1 <#params> 0 region_size 4096 [extra...] <#devs> <meta data>...` (dm-raid.rst; chunk size 0: raid1 has none). */
function raidTable(legs: readonly string[], extra: readonly string[]): string {
  const params = ['0', 'region_size', String(REGION_SECTORS), ...extra];
  return `0 ${DATA_SECTORS} raid raid1 ${params.length} ${params.join(' ')} ${legs.length / 2} ${legs.join(' ')}`;
}

async function createRaid(sh: Sh, name: string, legs: readonly string[], extra: readonly string[]): Promise<void> {
  await sh('dmsetup', ['create', name, '--noudevsync', '--verifyudev', '--table', raidTable(legs, extra)]);
}

async function tryCreateRaid(sh: Sh, name: string, legs: readonly string[], extra: readonly string[]): Promise<{ ok: boolean; error?: string; kernel?: string }> {
  try {
    await createRaid(sh, name, legs, extra);
    return { ok: true };
  } catch (err: unknown) {
    if (!(err instanceof CommandFailedError)) throw err;
    const kernel = (await sh('dmesg', []).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((l) => /raid|md\//.test(l)).slice(-4).join(' | ');
    await sh('dmsetup', ['remove', '--noudevsync', name]).catch(() => undefined);
    return { ok: false, error: err.stderr.trim().split('\n').slice(-2).join(' '), kernel };
  }
}

/** Until the raid device has completed `count` more writes (/sys/block/dm-N/stat field 5, Documentation/block/stat.rst). */
async function waitForWrites(sh: Sh, name: string, count: number, deadlineMs: number, signal: AbortSignal): Promise<void> {
  const dev = (await sh('dmsetup', ['info', '-c', '--noheadings', '-o', 'blkdevname', name])).stdout.trim();
  const writes = async () => Number((await fs.readFile(`/sys/block/${dev}/stat`, 'utf8')).trim().split(/\s+/)[4]);
  const start = await writes();
  await waitUntil(async () => (await writes()) >= start + count, deadlineMs, signal);
}

/**
 * Each leg's dm-raid superblock, read from its meta device: struct dm_raid_superblock (drivers/md/dm-raid.c):
 * le32 magic "DmRd", le32 compat_features, le32 num_devices, le32 array_position, le64 events,
 * le64 failed_devices (bit i: slot i failed, as this leg last knew it).
 */
async function superblocks(copies: readonly Copy[]): Promise<string[]> {
  return Promise.all(copies.map(async (c) => {
    // O_DIRECT: the page cache of the meta device would serve an old copy.
    const r = await execa('dd', [`if=/dev/mapper/${c.meta}`, 'bs=4096', 'count=1', 'iflag=direct', 'status=none'], { encoding: 'buffer', reject: false, timeout: 60_000 });
    const b = Buffer.from(r.stdout);
    if (r.exitCode !== 0 || b.length < 32) return `slot ${c.slot}: unreadable (dd exit ${r.exitCode})`;
    if (b.readUInt32LE(0) !== 0x64526d44) return `slot ${c.slot}: no superblock`;
    return `slot ${c.slot}: position ${b.readUInt32LE(12)} events ${b.readBigUInt64LE(16)} failed_devices 0x${b.readBigUInt64LE(24).toString(16)}`;
  }));
}

interface RaidStatus {
  readonly raw: string;
  readonly health: string;
  readonly syncCurrent: number;
  readonly syncTotal: number;
  readonly action: string;
}

/** `0 <len> raid raid1 <#devs> <health chars> <cur>/<total> <sync_action> <mismatch_cnt> ...` (dm-raid.rst "Status Output"). */
async function raidStatus(sh: Sh, name: string): Promise<RaidStatus> {
  const raw = (await sh('dmsetup', ['status', name])).stdout.trim();
  const f = raw.split(/\s+/);
  const [cur, total] = (f[6] ?? '').split('/').map(Number);
  return { raw, health: f[5] ?? '', syncCurrent: cur ?? NaN, syncTotal: total ?? NaN, action: f[7] ?? '' };
}

async function waitForRaid(sh: Sh, name: string, ok: (s: RaidStatus) => boolean, deadlineMs: number, signal: AbortSignal): Promise<RaidStatus> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const s = await raidStatus(sh, name);
    if (ok(s)) return s;
    if (performance.now() > deadline) throw new Error(`raid ${name} did not reach the expected state: ${s.raw}`);
    await sleep(250, signal);
  }
}

async function waitUntil(check: () => Promise<boolean>, deadlineMs: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('timed out');
    await sleep(250, signal);
  }
}

async function sessionState(c: Copy): Promise<string> {
  return (await fs.readFile(`/sys/class/iscsi_session/session${c.sid}/state`, 'utf8')).trim();
}

async function diskState(c: Copy): Promise<string> {
  return (await fs.readFile(`/sys/block/${path.basename(c.disk!)}/device/state`, 'utf8')).trim();
}

/** Bytes written to each copy's iSCSI disk so far: /sys/block/<dev>/stat field 7 (write sectors; Documentation/block/stat.rst). */
async function diskWriteBytes(copies: readonly Copy[]): Promise<number[]> {
  return Promise.all(copies.map(async (c) => Number((await fs.readFile(`/sys/block/${path.basename(c.disk!)}/stat`, 'utf8')).trim().split(/\s+/)[6]) * 512));
}

function delta(before: readonly number[], after: readonly number[]): number[] {
  return after.map((v, i) => v - before[i]!);
}

async function thinPercents(sh: Sh): Promise<string> {
  return (await sh('lvm', ['lvs', '--noheadings', '-o', 'lv_name,data_percent', VG])).stdout.trim().replace(/\s+/g, ' ');
}

async function setDelay(sh: Sh, c: Copy, ms: number): Promise<void> {
  await sh('dmsetup', ['reload', c.slow, '--noudevsync', '--table', `0 ${HEADER_SECTORS + DATA_SECTORS} delay ${c.lv} 0 ${ms}`]);
  await sh('dmsetup', ['resume', c.slow, '--noudevsync']);
}

/** The data legs' backing LVs, read on the storage side after dropping their page cache. */
async function assertLegsEqual(sh: Sh, copies: readonly Copy[]): Promise<void> {
  for (const c of copies) await sh('blockdev', ['--flushbufs', c.lv]);
  const [a, b] = copies;
  await sh('cmp', ['-i', String(HEADER_SECTORS * 512), a!.lv, b!.lv], 120_000);
}

interface LatEntry {
  readonly timeMs: number;
  readonly latMs: number;
  readonly bytes: number;
  readonly offset: number;
}

interface FioRun {
  readonly startedAt: number;
  finished(): boolean;
  readonly done: Promise<{ exitCode: number; stderr: string; log: LatEntry[]; summary: { writes: number; errors: number; maxClatMs: number; longestStallMs: number; p99ClatMs: number } }>;
}

/**
 * 4k random direct writes at queue depth 4 over the hot range, with a completion-latency log of every
 * I/O (fio --write_lat_log, log_avg_msec=0, log_offset=1: time ms, latency ns, direction, size, offset, priority). The longest
 * stall is the longest gap between two completions.
 */
function startFio(ctx: ScenarioContext, tag: string, runtimeS: number): FioRun {
  const prefix = path.join(ctx.workDir, `fio-${tag}`);
  const startedAt = performance.now();
  let isDone = false;
  const done = (async () => {
    const result = await execa('fio', [
      `--name=${tag}`, `--filename=/dev/mapper/${RAID}`, '--rw=randwrite', '--bs=4k', '--direct=1', '--ioengine=libaio', '--iodepth=4',
      '--offset=0', `--size=${HOT_BYTES}`, '--time_based', `--runtime=${runtimeS}`, `--write_lat_log=${prefix}`, '--log_avg_msec=0', '--log_offset=1',
      '--output-format=json',
    ], { reject: false, cancelSignal: ctx.signal, timeout: (runtimeS + 120) * 1000 });
    isDone = true;
    const json = JSON.parse(result.stdout || '{}') as { jobs?: { error?: number; write?: { total_ios?: number; clat_ns?: { max?: number; percentile?: Record<string, number> } } }[] };
    const job = json.jobs?.[0];
    const log = (await fs.readFile(`${prefix}_clat.1.log`, 'utf8')).trim().split('\n').map((line) => {
      const [t, lat, , bs, off] = line.split(',').map((v) => Number(v.trim()));
      return { timeMs: t!, latMs: lat! / 1e6, bytes: bs!, offset: off! };
    });
    let longestStallMs = 0;
    for (let i = 1; i < log.length; i++) longestStallMs = Math.max(longestStallMs, log[i]!.timeMs - log[i - 1]!.timeMs);
    const summary = {
      writes: job?.write?.total_ios ?? 0,
      errors: job?.error ?? -1,
      maxClatMs: Math.round((job?.write?.clat_ns?.max ?? 0) / 1e6),
      p99ClatMs: Math.round((job?.write?.clat_ns?.percentile?.['99.000000'] ?? 0) / 1e6),
      longestStallMs,
    };
    ctx.log(`fio ${tag}: exit ${result.exitCode} ${JSON.stringify(summary)} ${String(result.stderr).trim()}`);
    return { exitCode: result.exitCode ?? -1, stderr: String(result.stderr), log, summary };
  })();
  return { startedAt, finished: () => isDone, done };
}

/** dd with O_DIRECT through a file: the result reflects the device, not the page cache. */
async function writeDirect(sh: Sh, dir: string, device: string, data: Buffer, at: number): Promise<void> {
  const file = path.join(dir, 'pattern.bin');
  await fs.writeFile(file, data);
  await sh('dd', [`if=${file}`, `of=${device}`, `bs=${data.length}`, 'count=1', `seek=${at / data.length}`, 'oflag=direct'], 120_000);
}

async function readDirect(sh: Sh, dir: string, device: string, bytes: number, at: number): Promise<Buffer> {
  const file = path.join(dir, 'read.bin');
  await sh('dd', [`if=${device}`, `of=${file}`, `bs=${bytes}`, 'count=1', `skip=${at / bytes}`, 'iflag=direct'], 120_000);
  return fs.readFile(file);
}

async function teardown(
  ctx: ScenarioContext,
  t: { sh: Sh; dmsetup: Dmsetup; iscsiadm: Iscsiadm; lio: LioTarget; copies: readonly Copy[]; vg: LoopVolumeGroup | undefined },
): Promise<void> {
  const note = (step: string) => (err: unknown) => ctx.log(`teardown ${step}: ${err instanceof Error ? err.message : String(err)}`);
  for (const c of t.copies) await t.sh('ip', ['addr', 'replace', `${c.ip}/32`, 'dev', 'lo']).catch(note('ip addr'));
  for (const name of [`${RAID}-b`, RAID]) await t.dmsetup.remove(name, ctx.signal).catch(note(`remove ${name}`));
  for (const c of t.copies) {
    for (const name of [c.meta, c.data]) await t.dmsetup.remove(name, ctx.signal).catch(note(`remove ${name}`));
    await t.iscsiadm.logout(c.target, ctx.signal).catch(note('logout'));
    await t.iscsiadm.deleteNodeRecord(c.target, ctx.signal).catch(note('node record'));
    await t.lio.unexportVolume(c.targetIqn, c.backstore).catch(note('unexport'));
    await t.dmsetup.remove(c.slow, ctx.signal).catch(note(`remove ${c.slow}`));
  }
  for (const c of t.copies) await t.sh('ip', ['addr', 'del', `${c.ip}/32`, 'dev', 'lo']).catch(note('ip addr del'));
  await t.vg?.destroy((m) => ctx.log(`teardown vg: ${m}`));
}

function secs(since: number): number {
  return Math.round((performance.now() - since) / 100) / 10;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

function secret(): string {
  return recordSecret('chap-secret', 'chosen by the mirror kernel scenario', randomBytes(12).toString('base64url'));
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
