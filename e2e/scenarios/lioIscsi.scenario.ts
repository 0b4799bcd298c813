import type { ChapCredentials } from '../../src/chap/index.ts';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { CommandFailedError, ExecaRunner } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import {
  IscsiLoginRefusedError,
  Iscsiadm,
  buildLioNaaWwid,
  byPathDevice,
  findSessionDisk,
  readDeviceIdentity,
  readDeviceSerial,
  readInitiatorName,
  verifyDeviceSerial,
  waitForDevice,
  waitForSessionDisk,
} from '../../src/iscsi/index.ts';
import type { IscsiTarget } from '../../src/iscsi/index.ts';
import { DEFAULT_CONFIGFS_ROOT, FsConfigFs, LioTarget, buildTargetIqn, buildUnitSerial } from '../../src/lio/index.ts';
import type { ConfigFs, ConfigFsEntry, ExportSpec } from '../../src/lio/index.ts';
import { recordSecret } from '../support/secretLedger.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

const PORTAL = { ip: '127.0.0.2', port: 3260 };
const BACKSTORE = 'vbs-e2e-lio';
const OTHER_IFACE = 'vbs-e2e-other';
const UPPER_IFACE = 'vbs-e2e-upper';
/** A second initiator name on the same host, with its own ACL: how one VM host attaches a volume twice. */
const SECOND_IFACE = 'vbs-e2e-second';
const SECOND_INITIATOR = 'iqn.2026-11.io.vbs-e2e:second';
const IFACES = [OTHER_IFACE, UPPER_IFACE, SECOND_IFACE];
/** An initiator name with no ACL on the target. */
const OTHER_INITIATOR = 'iqn.2026-11.io.vbs-e2e:no-acl';
const IMAGE_BYTES = 64 * 1024 * 1024;
const DATA_BYTES = 1024 * 1024;

/**
 * The storage and initiator halves against the real kernel, over loopback: LioTarget exports a
 * loop device with one ACL and mutual CHAP through the real configfs; Iscsiadm logs in with the
 * right secret and finds the LUN by its serial; a wrong secret and an initiator name without an
 * ACL are both refused; a second export run changes nothing; teardown leaves no target, backstore,
 * session or node record behind.
 */
export const lioIscsiScenario: Scenario = {
  name: 'LIO export with per-initiator ACL and CHAP: the allowed initiator logs in and reads the serial; a wrong secret is refused; teardown leaves nothing',
  timeoutMs: 240_000,
  async run(ctx) {
    const { signal } = ctx;
    // Exec lines (argv redacted by the runner) go into the scenario log.
    const log = pino({ level: 'debug', base: null, timestamp: false }, { write: (line: string) => ctx.log(`exec ${line.trim()}`) });
    const runner = new ExecaRunner({ log });
    const iscsiadm = new Iscsiadm({ runner, timeoutsMs: { login: 60_000 } });
    const lio = new LioTarget({ configFs: new FsConfigFs() });

    const initiator = await readInitiatorName();
    const targetIqn = buildTargetIqn('iqn.2026-11.io.vbs-e2e', 'lio-scenario');
    const serial = buildUnitSerial('e2e/lio-scenario');
    const chap = { username: 'e2e-initiator', password: secret(), mutual: { username: 'e2e-target', password: secret() } };
    const target: IscsiTarget = { targetIqn, portal: PORTAL };
    const otherTarget: IscsiTarget = { ...target, iface: OTHER_IFACE };
    ctx.log(`initiator ${initiator}, target ${targetIqn}, serial ${serial}`);

    const image = path.join(ctx.workDir, 'lun.img');
    const sparse = await fs.open(image, 'w');
    await sparse.truncate(IMAGE_BYTES);
    await sparse.close();
    const loop = (await runner.run({ file: 'losetup', args: ['--find', '--show', image], timeoutMs: 15_000 }, signal)).stdout.trim();
    ctx.log(`backing device ${loop}`);
    let tornDown = false;

    try {
      const spec: ExportSpec = {
        backstoreName: BACKSTORE,
        devicePath: loop,
        serial,
        targetIqn,
        portal: PORTAL,
        thin: true,
        acls: [{ initiatorIqn: initiator, chap }],
      };
      // Half-built exports on the real kernel: crash before each configfs mutation in turn; unexport
      // must clean up what was left, and a re-run must converge on the full export.
      let started = performance.now();
      const crashPoints = await checkCrashRecovery(ctx, spec);
      ctx.log(`crash recovery checked at ${crashPoints} points in ${ms(started)}`);

      started = performance.now();
      const exported = await lio.exportVolume(spec);
      ctx.log(`exportVolume: ${exported.changes.length} changes in ${ms(started)}\n${exported.changes.join('\n')}`);
      assert.ok(exported.changes.length > 0);

      const [summary, ...others] = (await lio.listExports()).filter((e) => e.targetIqn === targetIqn);
      assert.deepEqual(others, []);
      assert.equal(summary?.enabled, true);
      assert.deepEqual(summary?.luns[0]?.backstore, { plugin: 'iblock', hbaIndex: 0, name: BACKSTORE, devicePath: loop, serial, enabled: true, thin: true });
      assert.deepEqual(summary?.acls.map((a) => [a.initiatorIqn, a.chapUserid, a.mutualUserid]), [[initiator, chap.username, chap.mutual.username]]);
      assert.equal(JSON.stringify(summary).includes(chap.password), false, 'the summary must not carry the CHAP secret');

      // The right initiator with the right secrets gets in and sees the LUN with our serial.
      const nodeChap: ChapCredentials = chap;
      const record = await iscsiadm.ensureNodeRecord({ target, chap: nodeChap, settings: { replacementTimeoutS: 15, loginTimeoutS: 10, initialLoginRetryMax: 1 } }, signal);
      ctx.log(`node record: created=${record.created} updated=${record.updated.join(',')}`);
      assert.equal(record.created, true);
      assert.deepEqual((await iscsiadm.ensureNodeRecord({ target, chap: nodeChap, settings: { replacementTimeoutS: 15, loginTimeoutS: 10, initialLoginRetryMax: 1 } }, signal)).updated, []);

      started = performance.now();
      assert.deepEqual(await iscsiadm.login(target, signal), { alreadyLoggedIn: false });
      ctx.log(`login in ${ms(started)}`);
      assert.deepEqual(await iscsiadm.login(target, signal), { alreadyLoggedIn: true }, 'a second login must count as done (exit 15)');

      const session = await iscsiadm.findSession(target, signal);
      assert.ok(session, 'no session for the target after login');
      ctx.log(`session ${session.sid}: iface ${session.ifaceName}, initiator ${session.initiatorName}, state ${session.sessionState}`);
      assert.equal(session.initiatorName, initiator);
      await captureForFixtures(ctx, runner, signal);
      await iscsiadm.rescanSession(session.sid, signal);

      const device = await waitForDevice(byPathDevice(PORTAL, targetIqn, 0), { deadlineMs: 30_000, pollMs: 100, signal });
      ctx.log(`device ${device} after ${ms(started)} from login`);
      assert.equal(await findSessionDisk(session.sid, 0), path.basename(device), 'sysfs and udev disagree on the session disk');
      assert.equal(await readDeviceSerial(device), serial);
      assert.equal(await verifyDeviceSerial(device, serial), 'vpd_pg80');
      const identity = await readDeviceIdentity(device);
      ctx.log(`identity: ${JSON.stringify(identity)}`);
      assert.equal(identity.wwid, buildLioNaaWwid(serial), 'the wwid is not the NAA id LIO derives from the serial');
      await assert.rejects(verifyDeviceSerial(device, buildUnitSerial('another volume')), /refusing/);

      // Data written through the initiator lands in the backing file and reads back the same.
      const data = randomBytes(DATA_BYTES);
      const handle = await fs.open(device, 'r+');
      try {
        await handle.write(data, 0, data.length, 0);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const backing = await fs.open(image, 'r');
      const onTarget = Buffer.alloc(DATA_BYTES);
      try {
        await backing.read(onTarget, 0, DATA_BYTES, 0);
      } finally {
        await backing.close();
      }
      assert.equal(sha256(onTarget), sha256(data), 'the backing file does not hold what the initiator wrote');
      assert.equal(sha256(await readHead(device, DATA_BYTES)), sha256(data));
      ctx.log(`sha256 ${sha256(data)} matches on both sides`);

      // A second initiator name on this host gets its own ACL on the live export and a second
      // session to the same LUN. Both sessions share one by-path name, so their disks are found
      // through sysfs. Then removing that ACL fences the second path while the first keeps working.
      const secondChap = { username: 'e2e-second', password: secret() };
      const added = await lio.addAcl(targetIqn, { initiatorIqn: SECOND_INITIATOR, chap: secondChap });
      assert.ok(added.changes.length > 0);
      const secondTarget: IscsiTarget = { ...target, iface: SECOND_IFACE };
      await iscsiadm.ensureIface({ name: SECOND_IFACE, initiatorName: SECOND_INITIATOR }, signal);
      // A short replacement_timeout so I/O on the fenced path fails within seconds instead of queueing.
      await iscsiadm.ensureNodeRecord(
        { target: secondTarget, chap: { username: secondChap.username, password: secondChap.password }, settings: { replacementTimeoutS: 2, noopOutIntervalS: 1, noopOutTimeoutS: 1, loginTimeoutS: 5, initialLoginRetryMax: 1 } },
        signal,
      );
      assert.deepEqual(await iscsiadm.login(secondTarget, signal), { alreadyLoggedIn: false });
      const secondSession = await iscsiadm.findSession(secondTarget, signal);
      assert.ok(secondSession, 'no session for the second initiator name');
      assert.notEqual(secondSession.sid, session.sid);
      assert.equal(secondSession.initiatorName, SECOND_INITIATOR);
      await captureForFixtures(ctx, runner, signal);
      const firstDisk = await waitForSessionDisk(session.sid, 0, { deadlineMs: 30_000, pollMs: 100, signal });
      const secondDisk = await waitForSessionDisk(secondSession.sid, 0, { deadlineMs: 30_000, pollMs: 100, signal });
      ctx.log(`two paths to one LUN: ${firstDisk} (session ${session.sid}) and ${secondDisk} (session ${secondSession.sid})`);
      assert.notEqual(secondDisk, firstDisk);
      assert.equal(await verifyDeviceSerial(secondDisk, serial), 'vpd_pg80');
      assert.equal(sha256(await readHead(secondDisk, DATA_BYTES)), sha256(data), 'the second path does not see the same data');
      assert.equal((await dd(runner, ['if=/dev/zero', `of=${secondDisk}`, 'bs=4096', 'count=1', 'seek=1024', 'oflag=direct'], signal)).exitCode, 0);

      started = performance.now();
      assert.equal(await lio.removeAcl(targetIqn, SECOND_INITIATOR), true);
      const fenced = await dd(runner, ['if=/dev/zero', `of=${secondDisk}`, 'bs=4096', 'count=1', 'seek=1024', 'oflag=direct'], signal);
      ctx.log(`write on the fenced path: exit ${fenced.exitCode} after ${ms(started)}: ${fenced.stderr.trim()}`);
      assert.notEqual(fenced.exitCode, 0, 'the fenced initiator could still write');
      assert.equal((await dd(runner, [`if=${firstDisk}`, 'of=/dev/null', 'bs=4096', 'count=1', 'iflag=direct'], signal)).exitCode, 0, 'the other initiator lost its access');
      assert.equal(await lio.removeAcl(targetIqn, SECOND_INITIATOR), false);
      ctx.log(`logout of the fenced session: ${JSON.stringify(await iscsiadm.logout(secondTarget, signal))}`);

      assert.deepEqual(await iscsiadm.logout(target, signal), { wasLoggedIn: true });
      assert.deepEqual(await iscsiadm.logout(target, signal), { wasLoggedIn: false }, 'a second logout must count as done (exit 21)');

      // A wrong secret is refused with our clear error.
      await iscsiadm.ensureNodeRecord({ target, chap: { ...nodeChap, password: secret() } }, signal);
      await assert.rejects(iscsiadm.login(target, signal), (err: unknown) => {
        assert.ok(err instanceof IscsiLoginRefusedError, `expected IscsiLoginRefusedError, got ${String(err)}`);
        assert.match(err.message, /CHAP authentication failed/);
        ctx.log(`wrong secret: ${err.message}`);
        return true;
      });

      // Another initiator name on the same host, with the right secrets but no ACL, is refused too.
      assert.deepEqual(await iscsiadm.ensureIface({ name: OTHER_IFACE, initiatorName: OTHER_INITIATOR }, signal), { created: true, updated: true });
      await iscsiadm.ensureNodeRecord({ target: otherTarget, chap: nodeChap, settings: { loginTimeoutS: 10, initialLoginRetryMax: 1 } }, signal);
      ctx.log(`capture iscsiadm -m iface\n${(await runner.run({ file: 'iscsiadm', args: ['-m', 'iface'], timeoutMs: 15_000 }, signal)).stdout}`);
      await assert.rejects(iscsiadm.login(otherTarget, signal), IscsiLoginRefusedError);
      ctx.log('initiator without ACL: refused');

      // LIO lowercases the name an initiator logs in with (RFC 3720: names are case-insensitive),
      // which is why ACLs and readInitiatorName use the lowercase form: a name that differs from
      // the ACL only in case gets in.
      const upperTarget: IscsiTarget = { ...target, iface: UPPER_IFACE };
      await iscsiadm.ensureIface({ name: UPPER_IFACE, initiatorName: initiator.replace(/:([^:]+)$/, (_m, tail: string) => `:${tail.toUpperCase()}`) }, signal);
      await iscsiadm.ensureNodeRecord({ target: upperTarget, chap: nodeChap, settings: { loginTimeoutS: 10, initialLoginRetryMax: 1 } }, signal);
      assert.deepEqual(await iscsiadm.login(upperTarget, signal), { alreadyLoggedIn: false });
      assert.deepEqual(await iscsiadm.logout(upperTarget, signal), { wasLoggedIn: true });
      assert.deepEqual((await iscsiadm.listSessions(signal)).filter((s) => s.targetIqn === targetIqn), []);

      // Exporting again changes nothing.
      const again = await lio.exportVolume(spec);
      assert.deepEqual(again.changes, [], `a second export changed: ${again.changes.join('; ')}`);

      // Teardown, then prove nothing is left.
      await teardown(ctx, { iscsiadm, lio, runner, target, targetIqn, loop });
      tornDown = true;
      assert.deepEqual((await lio.unexportVolume(targetIqn, BACKSTORE)).changes, [], 'a second unexport found something to do');
      assert.deepEqual(await listTargets(), [], 'a target is left in configfs');
      await assert.rejects(fs.access(path.join(DEFAULT_CONFIGFS_ROOT, 'core', 'iblock_0', BACKSTORE)), { code: 'ENOENT' });
      assert.deepEqual(await iscsiadm.listSessions(signal), []);
      const records = await runner.run({ file: 'iscsiadm', args: ['-m', 'node', '-T', targetIqn], okExitCodes: [0, 21], timeoutMs: 15_000 }, signal);
      assert.equal(records.exitCode, 21, `node records are left for the target:\n${records.stdout}`);
      assert.deepEqual((await iscsiadm.listIfaces(signal)).filter((i) => i.name.startsWith('vbs-e2e')), [], 'an extra iface is left');
    } finally {
      if (!tornDown) await teardown(ctx, { iscsiadm, lio, runner, target, targetIqn, loop }).catch((err: unknown) => ctx.log(`teardown after failure: ${String(err)}`));
    }
  },
};

/** Initiator side first (logout, records, iface), then the target, then the loop device; each step tolerates "already gone". */
async function teardown(
  ctx: ScenarioContext,
  t: { iscsiadm: Iscsiadm; lio: LioTarget; runner: CommandRunner; target: IscsiTarget; targetIqn: string; loop: string },
): Promise<void> {
  const started = performance.now();
  for (const target of [t.target, ...IFACES.map((iface) => ({ ...t.target, iface }))]) {
    await t.iscsiadm.logout(target, ctx.signal);
    await t.iscsiadm.deleteNodeRecord(target, ctx.signal);
  }
  for (const iface of IFACES) await t.iscsiadm.deleteIface(iface, ctx.signal);
  const removed = await t.lio.unexportVolume(t.targetIqn, BACKSTORE);
  ctx.log(`unexportVolume: ${removed.changes.length} changes`);
  await t.runner.run({ file: 'losetup', args: ['-d', t.loop], timeoutMs: 15_000 }, ctx.signal).catch((err: unknown) => {
    if (!(err instanceof CommandFailedError)) throw err;
    ctx.log(`losetup -d: ${err.message}`);
  });
  ctx.log(`teardown in ${ms(started)}`);
}

/**
 * For k = 0, 1, ...: an export that crashes before its k-th configfs mutation, then unexport,
 * which must leave no target and no backstore; then the same crash followed by a full export,
 * which must converge (a further export changes nothing). Stops when an export gets through.
 */
async function checkCrashRecovery(ctx: ScenarioContext, spec: ExportSpec): Promise<number> {
  const real = new FsConfigFs();
  const clean = new LioTarget({ configFs: real });
  const assertClean = async (when: string): Promise<void> => {
    assert.deepEqual(await listTargets(), [], `${when}: a target is left`);
    await assert.rejects(fs.access(path.join(DEFAULT_CONFIGFS_ROOT, 'core', 'iblock_0', spec.backstoreName)), { code: 'ENOENT' }, `${when}: the backstore is left`);
  };
  for (let k = 0; ; k++) {
    ctx.signal.throwIfAborted();
    const crashed = await new LioTarget({ configFs: new CrashingConfigFs(real, k) }).exportVolume(spec).then(() => false, (err: unknown) => {
      if (err instanceof Error && err.message === CRASH) return true;
      throw err;
    });
    if (!crashed) {
      await clean.unexportVolume(spec.targetIqn, spec.backstoreName);
      await assertClean('after an export without crash');
      return k;
    }
    await clean.unexportVolume(spec.targetIqn, spec.backstoreName);
    await assertClean(`unexport after a crash before mutation ${k}`);

    await new LioTarget({ configFs: new CrashingConfigFs(real, k) }).exportVolume(spec).catch(() => undefined);
    await clean.exportVolume(spec);
    const again = await clean.exportVolume(spec);
    assert.deepEqual(again.changes, [], `after a crash before mutation ${k}, the export did not converge: ${again.changes.join('; ')}`);
    await clean.unexportVolume(spec.targetIqn, spec.backstoreName);
    await assertClean(`unexport after recovering from a crash before mutation ${k}`);
  }
}

const CRASH = 'simulated crash';

/** iSCSI targets in configfs; the iscsi fabric dir itself only appears once something created a target. */
async function listTargets(): Promise<string[]> {
  const names = await fs.readdir(path.join(DEFAULT_CONFIGFS_ROOT, 'iscsi')).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  });
  return names.filter((n) => /^(iqn|eui|naa)\./.test(n));
}

/** The real configfs, except that the k-th mutating call throws instead of running. */
class CrashingConfigFs implements ConfigFs {
  readonly #inner: ConfigFs;
  #left: number;
  constructor(inner: ConfigFs, crashAt: number) {
    this.#inner = inner;
    this.#left = crashAt;
  }
  #step(): void {
    if (this.#left-- === 0) throw new Error(CRASH);
  }
  async ensureDir(p: string): Promise<boolean> {
    if (!(await this.#inner.exists(p))) this.#step();
    return this.#inner.ensureDir(p);
  }
  async writeAttr(p: string, value: string): Promise<void> {
    this.#step();
    return this.#inner.writeAttr(p, value);
  }
  async ensureLink(p: string, target: string): Promise<boolean> {
    if (!(await this.#inner.exists(p))) this.#step();
    return this.#inner.ensureLink(p, target);
  }
  async removeIfPresent(p: string): Promise<boolean> {
    this.#step();
    return this.#inner.removeIfPresent(p);
  }
  readAttr(p: string): Promise<string | undefined> {
    return this.#inner.readAttr(p);
  }
  readLink(p: string): Promise<string | undefined> {
    return this.#inner.readLink(p);
  }
  list(p: string): Promise<ConfigFsEntry[]> {
    return this.#inner.list(p);
  }
  exists(p: string): Promise<boolean> {
    return this.#inner.exists(p);
  }
}

/** Raw iscsiadm session output, logged so parser fixtures come from a real run. */
async function captureForFixtures(ctx: ScenarioContext, runner: CommandRunner, signal: AbortSignal): Promise<void> {
  for (const args of [['-m', 'session'], ['-m', 'session', '-P', '3']]) {
    const out = await runner.run({ file: 'iscsiadm', args, timeoutMs: 15_000 }, signal);
    ctx.log(`capture iscsiadm ${args.join(' ')}\n${out.stdout}`);
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    await handle.read(buffer, 0, bytes, 0);
    return buffer;
  } finally {
    await handle.close();
  }
}

/** dd with O_DIRECT, so the result reflects the device and not the page cache; a failure is a result here. */
async function dd(runner: CommandRunner, args: readonly string[], signal: AbortSignal): Promise<{ exitCode: number; stderr: string }> {
  try {
    const result = await runner.run({ file: 'dd', args, timeoutMs: 60_000 }, signal);
    return { exitCode: result.exitCode, stderr: result.stderr };
  } catch (err: unknown) {
    if (err instanceof CommandFailedError && err.exitCode !== undefined) return { exitCode: err.exitCode, stderr: err.stderr };
    throw err;
  }
}

function secret(): string {
  return recordSecret('chap-secret', 'chosen by the LIO scenario', randomBytes(12).toString('base64url'));
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function ms(since: number): string {
  return `${Math.round(performance.now() - since)} ms`;
}
