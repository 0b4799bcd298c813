import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import { FailedPreconditionError, InvalidArgumentError } from '../errors.ts';
import type { Command, CommandResult, CommandRunner } from '../exec/index.ts';
import { CommandFailedError, redactArgs } from '../exec/index.ts';
import { IscsiLoginRefusedError } from './IscsiLoginRefusedError.ts';
import { Iscsiadm } from './Iscsiadm.ts';
import type { IscsiTarget } from './Iscsiadm.ts';
import { parseRecord } from './parseRecord.ts';

const RECORD = readFileSync(new URL('./fixtures/node-record-tpgt1-default.txt', import.meta.url), 'utf8');
const IQN = 'iqn.2026-11.io.vbs:pvc-1';
const TARGET: IscsiTarget = { targetIqn: IQN, portal: { ip: '127.0.0.2', port: 3260 } };
const NODE = ['iscsiadm', '-m', 'node', '-T', IQN, '-p', '127.0.0.2:3260,1', '-I', 'default'];
const CHAP = { username: 'user-a', password: 'secret-a-123456' };
const MUTUAL = { ...CHAP, mutual: { username: 'tgt', password: 'mutual-123456' } };

function withValues(record: string, values: Record<string, string>): string {
  let out = record;
  for (const [name, value] of Object.entries(values)) out = out.replace(new RegExp(`^${name.replace(/[[\].]/g, '\\$&')} = .*$`, 'm'), `${name} = ${value}`);
  return out;
}

function makeIscsiadm(runner: CommandRunner, sleeps: number[] = []): Iscsiadm {
  return new Iscsiadm({ runner, dbRetry: { attempts: 3, delayMs: 1000 }, sleep: async (ms) => void sleeps.push(ms) });
}

/**
 * iscsiadm over a real record file in a temp dir, as open-iscsi keeps it: `-S` prints it, `-o new`
 * writes iscsid.conf's defaults (the fixture), `-o update` applies its -n/-v pairs.
 */
function simulatedIscsiadm(dir: string, initial?: string): FakeRunner {
  const file = join(dir, 'nodes', IQN, '127.0.0.2,3260,1', 'default');
  if (initial !== undefined) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, initial, { mode: 0o600 });
  }
  return new FakeRunner()
    .on([...NODE, '-S'], () => (existsSync(file) ? { stdout: readFileSync(file, 'utf8') } : { exitCode: 21, stderr: 'iscsiadm: No records found\n' }))
    .on([...NODE, '-o', 'new'], () => {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, RECORD, { mode: 0o600 });
      return { stdout: 'New iSCSI node [...] added\n' };
    })
    .on([...NODE, '-o', 'update'], (cmd) => {
      let text = readFileSync(file, 'utf8');
      const args = cmd.args.slice(NODE.length + 1);
      for (let i = 0; i < args.length; i += 4) text = withValues(text, { [args[i + 1] as string]: args[i + 3] === '' ? '<empty>' : (args[i + 3] as string) });
      writeFileSync(file, text);
      return {};
    });
}

describe('Iscsiadm.ensureNodeRecord', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vbs-iscsiadm-'));
    file = join(dir, 'nodes', IQN, '127.0.0.2,3260,1', 'default');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const make = (runner: CommandRunner, sleeps: number[] = []) =>
    new Iscsiadm({ runner, dbRetry: { attempts: 3, delayMs: 1000 }, sleep: async (ms) => void sleeps.push(ms), nodeRecordDir: join(dir, 'nodes'), lockDir: join(dir, 'lock') });
  /** A field the file leaves out is empty, as open-iscsi reads it. */
  const recordValue = (name: string) => parseRecord(readFileSync(file, 'utf8')).get(name) ?? '';

  test('creates a missing record with -o new, sets every non-secret setting in one update, the secrets in the file, and reads them back', async () => {
    const runner = simulatedIscsiadm(dir);
    const result = await make(runner).ensureNodeRecord({ target: TARGET, chap: MUTUAL, settings: { replacementTimeoutS: 15, noopOutIntervalS: 5 } });
    assert.equal(result.created, true);
    assert.deepEqual(runner.argvs, [
      [...NODE, '-S'],
      [...NODE, '-o', 'new'],
      [
        ...NODE, '-o', 'update',
        '-n', 'node.startup', '-v', 'manual',
        '-n', 'node.conn[0].startup', '-v', 'manual',
        '-n', 'node.session.auth.authmethod', '-v', 'CHAP',
        '-n', 'node.session.auth.username', '-v', 'user-a',
        '-n', 'node.session.auth.username_in', '-v', 'tgt',
        '-n', 'node.session.timeo.replacement_timeout', '-v', '15',
        '-n', 'node.conn[0].timeo.noop_out_interval', '-v', '5',
      ],
      [...NODE, '-S'],
    ]);
    assert.equal(recordValue('node.session.auth.password'), 'secret-a-123456');
    assert.equal(recordValue('node.session.auth.password_in'), 'mutual-123456');
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the record stays readable by root only');
    assert.deepEqual(readdirSync(dirname(file)), ['default'], 'no temp file left');
    assert.equal(existsSync(join(dir, 'lock', 'lock.write')), false, "open-iscsi's lock released");
    assert.equal(result.updated.length, 9);
  });

  test('no password ever reaches a command line', async () => {
    const runner = simulatedIscsiadm(dir);
    const iscsiadm = make(runner);
    await iscsiadm.ensureNodeRecord({ target: TARGET, chap: MUTUAL });
    await iscsiadm.ensureNodeRecord({ target: TARGET, chap: { ...CHAP, password: 'secret-b-654321' } });
    for (const argv of runner.argvs) assert.ok(!argv.some((a) => /secret-|mutual-/.test(a)), argv.join(' '));
    assert.equal(recordValue('node.session.auth.password'), 'secret-b-654321');
    assert.equal(recordValue('node.session.auth.password_in'), '', 'mutual CHAP cleared');
    assert.doesNotMatch(readFileSync(file, 'utf8'), /^node\.session\.auth\.password(_in)? = <empty>$/m, 'never "<empty>" in the file: open-iscsi would read it as the password');
    assert.equal(recordValue('node.session.auth.username_in'), '');
  });

  test('updates an existing record with one call that carries only the non-secret settings that differ', async () => {
    const runner = simulatedIscsiadm(dir, RECORD);
    const result = await make(runner).ensureNodeRecord({ target: TARGET, chap: CHAP, settings: { replacementTimeoutS: 15, noopOutIntervalS: 5 } });
    assert.equal(result.created, false);
    assert.deepEqual(result.updated, ['node.session.auth.authmethod', 'node.session.auth.username', 'node.session.timeo.replacement_timeout', 'node.session.auth.password']);
    assert.deepEqual(runner.argvsMatching([...NODE, '-o', 'update']), [
      [
        ...NODE, '-o', 'update',
        '-n', 'node.session.auth.authmethod', '-v', 'CHAP',
        '-n', 'node.session.auth.username', '-v', 'user-a',
        '-n', 'node.session.timeo.replacement_timeout', '-v', '15',
      ],
    ]);
    const text = readFileSync(file, 'utf8');
    assert.equal(text.split('\n').filter((l) => l.startsWith('node.session.auth.password ')).length, 1, 'the line replaced, not added');
    assert.ok(text.trimEnd().endsWith('# END RECORD'));
  });

  test('sets node.startup=manual when iscsid.conf made the record automatic', async () => {
    const runner = simulatedIscsiadm(dir, withValues(RECORD, { 'node.startup': 'automatic', 'node.conn[0].startup': 'automatic' }));
    const result = await make(runner).ensureNodeRecord({ target: TARGET, chap: CHAP });
    assert.deepEqual(result.updated.slice(0, 2), ['node.startup', 'node.conn[0].startup']);
    assert.deepEqual(runner.argvsMatching([...NODE, '-o', 'update'])[0]?.slice(NODE.length, NODE.length + 6), ['-o', 'update', '-n', 'node.startup', '-v', 'manual']);
  });

  test('runs nothing but the show when the record already matches', async () => {
    const ready = withValues(RECORD, {
      'node.session.auth.authmethod': 'CHAP',
      'node.session.auth.username': 'user-a',
      'node.session.auth.password': 'secret-a-123456',
      'node.session.timeo.replacement_timeout': '15',
    });
    const runner = new FakeRunner().once([...NODE, '-S'], { stdout: ready });
    const result = await make(runner).ensureNodeRecord({ target: TARGET, chap: CHAP, settings: { replacementTimeoutS: 15 } });
    assert.deepEqual(result, { created: false, updated: [] });
    assert.equal(runner.calls.length, 1);
  });

  test('fails, naming the directory, when open-iscsi does not read back the secrets written', async () => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, RECORD);
    // An iscsiadm that reads its records elsewhere: the show never changes.
    const runner = new FakeRunner().on([...NODE, '-S'], { stdout: RECORD }).on([...NODE, '-o', 'update'], {});
    await assert.rejects(make(runner).ensureNodeRecord({ target: TARGET, chap: CHAP }), (err: unknown) => err instanceof FailedPreconditionError && /--iscsi-node-dir/.test(err.message));
  });

  test('waits for the record lock open-iscsi holds, and writes only after it is released', async () => {
    const runner = simulatedIscsiadm(dir, RECORD);
    mkdirSync(join(dir, 'lock'));
    writeFileSync(join(dir, 'lock', 'lock'), '');
    linkSync(join(dir, 'lock', 'lock'), join(dir, 'lock', 'lock.write')); // iscsiadm holds it
    const done = make(runner).ensureNodeRecord({ target: TARGET, chap: CHAP });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(recordValue('node.session.auth.password'), '', 'nothing written under the lock of another');
    rmSync(join(dir, 'lock', 'lock.write'));
    await done;
    assert.equal(recordValue('node.session.auth.password'), 'secret-a-123456');
  });

  test('hands every CHAP secret to the runner as a secret so the shown record is redacted', async () => {
    const runner = simulatedIscsiadm(dir, RECORD);
    await make(runner).ensureNodeRecord({ target: TARGET, chap: MUTUAL });
    for (const cmd of runner.calls) assert.deepEqual(cmd.secrets, ['secret-a-123456', 'mutual-123456'], cmd.args.join(' '));
  });

  test('retries an update that hits "iSCSI database failure" and then succeeds', async () => {
    const sleeps: number[] = [];
    const ready = withValues(RECORD, { 'node.session.auth.authmethod': 'CHAP', 'node.session.auth.password': 'secret-a-123456' });
    const runner = new FakeRunner()
      .once([...NODE, '-S'], { stdout: ready })
      .once([...NODE, '-o', 'update'], { exitCode: 6, stderr: 'iscsiadm: Could not execute operation on all records: encountered iSCSI database failure\n' })
      .once([...NODE, '-o', 'update'], {});
    await make(runner, sleeps).ensureNodeRecord({ target: TARGET, chap: CHAP });
    assert.equal(runner.argvsMatching([...NODE, '-o', 'update']).length, 2);
    assert.deepEqual(sleeps, [1000]);
  });

  test('gives up after the configured number of attempts', async () => {
    const sleeps: number[] = [];
    const runner = new FakeRunner().on([...NODE, '-S'], { exitCode: 6, stderr: 'encountered iSCSI database failure' });
    await assert.rejects(make(runner, sleeps).ensureNodeRecord({ target: TARGET, chap: CHAP }), CommandFailedError);
    assert.equal(runner.calls.length, 3);
    assert.deepEqual(sleeps, [1000, 1000]);
  });

  test('addresses the record by portal tag and iface so two initiator names get two records', async () => {
    const ipv6File = join(dir, 'nodes', IQN, 'fd00::2,3260,1', 'second');
    mkdirSync(dirname(ipv6File), { recursive: true });
    writeFileSync(ipv6File, RECORD);
    const runner = new FakeRunner()
      .on(['iscsiadm', '-m', 'node', '-T', IQN, '-p', '[fd00::2]:3260,1', '-I', 'second', '-S'], () => ({ stdout: readFileSync(ipv6File, 'utf8') }))
      .on(['iscsiadm', '-m', 'node'], {});
    await make(runner).ensureNodeRecord({ target: { ...TARGET, portal: { ip: 'fd00::2', port: 3260 }, iface: 'second' }, chap: CHAP });
    assert.ok(runner.argvs.every((a) => a.includes('[fd00::2]:3260,1') && a.includes('second')));
    assert.match(readFileSync(ipv6File, 'utf8'), /^node\.session\.auth\.password = secret-a-123456$/m, 'open-iscsi lays IPv6 record dirs out without brackets');
  });

  test('refuses a relative or dotted record directory', () => {
    for (const nodeRecordDir of ['nodes', '/etc/iscsi/../x']) assert.throws(() => new Iscsiadm({ runner: new FakeRunner(), nodeRecordDir }), InvalidArgumentError);
  });
});

describe('Iscsiadm argument checks', () => {
  const invalid: { name: string; run: (i: Iscsiadm) => Promise<unknown> }[] = [
    { name: 'refuses a target IQN with a space', run: (i) => i.ensureNodeRecord({ target: { ...TARGET, targetIqn: 'iqn.2026-11.io.vbs:a b' }, chap: CHAP }) },
    { name: 'refuses a target name that looks like an option', run: (i) => i.login({ ...TARGET, targetIqn: '--op=delete' }) },
    { name: 'refuses a host name as portal', run: (i) => i.login({ ...TARGET, portal: { ip: 'storage-1', port: 3260 } }) },
    { name: 'refuses an iface name with a slash', run: (i) => i.logout({ ...TARGET, iface: '../x' }) },
    { name: 'refuses a CHAP password with a newline', run: (i) => i.ensureNodeRecord({ target: TARGET, chap: { ...CHAP, password: 'pw\n' } }) },
    { name: 'refuses mutual CHAP reusing the same secret', run: (i) => i.ensureNodeRecord({ target: TARGET, chap: { ...CHAP, mutual: { username: 't', password: CHAP.password } } }) },
    { name: 'refuses a negative replacement timeout', run: (i) => i.ensureNodeRecord({ target: TARGET, chap: CHAP, settings: { replacementTimeoutS: -1 } }) },
  ];
  for (const c of invalid) {
    test(`${c.name}, without running iscsiadm`, async () => {
      const runner = new FakeRunner();
      await assert.rejects(c.run(makeIscsiadm(runner)), InvalidArgumentError);
      assert.equal(runner.calls.length, 0);
    });
  }
});

describe('Iscsiadm.login and logout', () => {
  test('logs in through the node record with the login timeout', async () => {
    const runner = new FakeRunner().once([...NODE, '--login'], { stdout: 'Login to [...] successful.\n' });
    const iscsiadm = new Iscsiadm({ runner, timeoutsMs: { login: 42_000 } });
    assert.deepEqual(await iscsiadm.login(TARGET), { alreadyLoggedIn: false });
    assert.equal(runner.calls[0]!.timeoutMs, 42_000);
  });

  test('treats exit 15 (session already present) as a successful login', async () => {
    const runner = new FakeRunner().once([...NODE, '--login'], { exitCode: 15, stderr: 'iscsiadm: default: 1 session requested, but 1 already present.\n' });
    assert.deepEqual(await makeIscsiadm(runner).login(TARGET), { alreadyLoggedIn: true });
  });

  test('turns exit 24 into IscsiLoginRefusedError that says CHAP authentication failed', async () => {
    const runner = new FakeRunner().once([...NODE, '--login'], { exitCode: 24, stderr: 'iscsiadm: initiator reported error (24 - iSCSI login failed due to authorization failure)\n' });
    await assert.rejects(makeIscsiadm(runner).login(TARGET), (err: unknown) => {
      assert.ok(err instanceof IscsiLoginRefusedError);
      assert.match(err.message, /CHAP authentication failed/);
      assert.match(err.message, /127\.0\.0\.2:3260/);
      assert.equal(err.iface, 'default');
      return true;
    });
  });

  test('passes any other login failure through as it is', async () => {
    const runner = new FakeRunner().once([...NODE, '--login'], { exitCode: 8, stderr: 'iscsiadm: initiator reported error (8 - connection timed out)\n' });
    await assert.rejects(makeIscsiadm(runner).login(TARGET), (err: unknown) => err instanceof CommandFailedError && err.exitCode === 8);
  });

  test('treats exit 21 (no matching session) as a successful logout', async () => {
    const runner = new FakeRunner().once([...NODE, '--logout'], { exitCode: 21, stderr: 'iscsiadm: No matching sessions found\n' });
    assert.deepEqual(await makeIscsiadm(runner).logout(TARGET), { wasLoggedIn: false });
  });

  test('reports a real logout', async () => {
    const runner = new FakeRunner().once([...NODE, '--logout'], { stdout: 'Logout of [...] successful.\n' });
    assert.deepEqual(await makeIscsiadm(runner).logout(TARGET), { wasLoggedIn: true });
  });

  test('deletes the node record and treats a missing one (exit 21) as already deleted', async () => {
    const runner = new FakeRunner().once([...NODE, '-o', 'delete'], {}).once([...NODE, '-o', 'delete'], { exitCode: 21, stderr: 'iscsiadm: No records found\n' });
    const iscsiadm = makeIscsiadm(runner);
    assert.equal(await iscsiadm.deleteNodeRecord(TARGET), true);
    assert.equal(await iscsiadm.deleteNodeRecord(TARGET), false);
  });
});

describe('Iscsiadm with an iface that does not exist', () => {
  /** What iscsiadm 2.1.8 answered in the test bed for `-I` naming a deleted iface. */
  const missing = { exitCode: 3, stderr: 'iscsiadm: Could not read iface info for gone.\n' };
  const GONE = [...NODE.slice(0, -1), 'gone'];

  test('counts logout and record deletion as done', async () => {
    const runner = new FakeRunner().on(GONE, missing);
    const iscsiadm = makeIscsiadm(runner);
    assert.deepEqual(await iscsiadm.logout({ ...TARGET, iface: 'gone' }), { wasLoggedIn: false });
    assert.equal(await iscsiadm.deleteNodeRecord({ ...TARGET, iface: 'gone' }), false);
  });

  test('refuses login and node records with FailedPrecondition naming the iface', async () => {
    const runner = new FakeRunner().on(GONE, missing);
    const iscsiadm = makeIscsiadm(runner);
    await assert.rejects(iscsiadm.login({ ...TARGET, iface: 'gone' }), (err: unknown) => err instanceof FailedPreconditionError && /iface gone does not exist/.test(err.message));
    await assert.rejects(iscsiadm.ensureNodeRecord({ target: { ...TARGET, iface: 'gone' }, chap: CHAP }), FailedPreconditionError);
  });
});

describe('Iscsiadm sessions', () => {
  test('lists no sessions when iscsiadm exits 21', async () => {
    const runner = new FakeRunner().once(['iscsiadm', '-m', 'session'], { exitCode: 21, stderr: 'iscsiadm: No active sessions.\n' });
    assert.deepEqual(await makeIscsiadm(runner).listSessions(), []);
  });

  test('finds the session of the given iface among two sessions to one target', async () => {
    const tree = readFileSync(new URL('./fixtures/session-P3-two-ifaces.txt', import.meta.url), 'utf8');
    const runner = new FakeRunner().on(['iscsiadm', '-m', 'session', '-P', '3'], { stdout: tree });
    const iscsiadm = makeIscsiadm(runner);
    const target = { targetIqn: 'iqn.2026-11.io.vbs-e2e:lio-scenario', portal: { ip: '127.0.0.2', port: 3260 } };
    assert.equal((await iscsiadm.findSession({ ...target, iface: 'vbs-e2e-second' }))?.sid, 2);
    assert.equal((await iscsiadm.findSession(target))?.sid, 1);
    assert.equal(await iscsiadm.findSession({ ...target, iface: 'absent' }), undefined);
  });

  test('rescans one session by its id', async () => {
    const runner = new FakeRunner().once(['iscsiadm', '-m', 'session', '-r', '3', '--rescan'], { stdout: 'Rescanning session [sid: 3, ...]\n' });
    await makeIscsiadm(runner).rescanSession(3);
    assert.deepEqual(runner.argvs, [['iscsiadm', '-m', 'session', '-r', '3', '--rescan']]);
  });
});

describe('Iscsiadm ifaces', () => {
  const LIST = readFileSync(new URL('./fixtures/iface-list-host.txt', import.meta.url), 'utf8');

  test('creates a missing iface and sets its initiator name', async () => {
    const runner = new FakeRunner().once(['iscsiadm', '-m', 'iface'], { stdout: LIST }).on(['iscsiadm', '-m', 'iface', '-I', 'second'], {});
    const result = await makeIscsiadm(runner).ensureIface({ name: 'second', initiatorName: 'iqn.2026-11.io.vbs:second' });
    assert.deepEqual(result, { created: true, updated: true });
    assert.deepEqual(runner.argvs.slice(1), [
      ['iscsiadm', '-m', 'iface', '-I', 'second', '-o', 'new'],
      ['iscsiadm', '-m', 'iface', '-I', 'second', '-o', 'update', '-n', 'iface.initiatorname', '-v', 'iqn.2026-11.io.vbs:second'],
    ]);
  });

  test('changes nothing when the iface already has that initiator name', async () => {
    const runner = new FakeRunner().once(['iscsiadm', '-m', 'iface'], { stdout: `${LIST}second tcp,<empty>,<empty>,<empty>,iqn.2026-11.io.vbs:second\n` });
    assert.deepEqual(await makeIscsiadm(runner).ensureIface({ name: 'second', initiatorName: 'iqn.2026-11.io.vbs:second' }), { created: false, updated: false });
    assert.equal(runner.calls.length, 1);
  });

  test('refuses to rename the default iface', async () => {
    await assert.rejects(makeIscsiadm(new FakeRunner()).ensureIface({ name: 'default', initiatorName: 'iqn.2026-11.io.vbs:x' }), InvalidArgumentError);
  });

  test('deletes an iface only if it exists', async () => {
    const runner = new FakeRunner().on(['iscsiadm', '-m', 'iface'], (cmd) => ({ stdout: cmd.args.length === 2 ? LIST : '' }));
    const iscsiadm = makeIscsiadm(runner);
    assert.equal(await iscsiadm.deleteIface('vbsprobe'), true);
    assert.equal(await iscsiadm.deleteIface('absent'), false);
    assert.deepEqual(runner.argvsMatching(['iscsiadm', '-m', 'iface', '-I']), [['iscsiadm', '-m', 'iface', '-I', 'vbsprobe', '-o', 'delete']]);
  });
});

describe('Iscsiadm serialisation', () => {
  /**
   * A runner whose commands on chosen targets (or all, with '*') finish only when the test says
   * so; the others answer at once. Tracks how many gated commands run at once.
   */
  class GatedRunner implements CommandRunner {
    inFlight = 0;
    maxInFlight = 0;
    readonly started: string[] = [];
    readonly #gates: (() => void)[] = [];
    readonly #gated: readonly string[];
    constructor(gated: readonly string[] = ['*']) {
      this.#gated = gated;
    }
    async run(cmd: Command): Promise<CommandResult> {
      const t = cmd.args[cmd.args.indexOf('-T') + 1];
      this.started.push(`${cmd.args.at(-1)!}${cmd.args.includes('-T') ? ` ${t}` : ''}`);
      if (!this.#gated.includes('*') && !(cmd.args.includes('-T') && this.#gated.includes(t!))) return { stdout: '', stderr: '', exitCode: 0 };
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      await new Promise<void>((resolve) => this.#gates.push(resolve));
      this.inFlight -= 1;
      return { stdout: '', stderr: '', exitCode: 0 };
    }
    async releaseNext(): Promise<void> {
      while (this.#gates.length === 0) await new Promise((r) => setImmediate(r));
      this.#gates.shift()!();
    }
  }

  const OTHER: IscsiTarget = { targetIqn: 'iqn.2026-11.io.vbs:pvc-2', portal: { ip: '127.0.0.3', port: 3260 } };
  const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} waited more than ${ms} ms`)), ms).unref())]);

  test('runs the calls on one target record one at a time, in call order, even when called concurrently', async () => {
    const runner = new GatedRunner();
    const iscsiadm = makeIscsiadm(runner);
    const all = Promise.all([iscsiadm.login(TARGET), iscsiadm.logout(TARGET), iscsiadm.deleteNodeRecord(TARGET)]);
    for (let i = 0; i < 3; i++) await runner.releaseNext();
    await all;
    assert.equal(runner.maxInFlight, 1);
    assert.deepEqual(runner.started, [`--login ${IQN}`, `--logout ${IQN}`, `delete ${IQN}`]);
  });

  test('a login blocked on one target delays nothing on another target, nor rescans and session listings', async () => {
    const runner = new GatedRunner([IQN]);
    const iscsiadm = makeIscsiadm(runner);
    const stuck = iscsiadm.login(TARGET); // a dead portal: iscsiadm waits up to 90 s
    const queuedBehind = iscsiadm.logout(TARGET);
    await within(1000, 'work on another target', (async () => {
      await iscsiadm.login(OTHER);
      await iscsiadm.rescanSession(7);
      await iscsiadm.logout(OTHER);
      await iscsiadm.deleteNodeRecord(OTHER);
      await iscsiadm.listSessionDetails();
    })());
    assert.deepEqual(runner.started, [`--login ${IQN}`, `--login ${OTHER.targetIqn}`, '--rescan', `--logout ${OTHER.targetIqn}`, `delete ${OTHER.targetIqn}`, '3']);
    await runner.releaseNext();
    await stuck;
    await runner.releaseNext();
    await queuedBehind;
    assert.equal(runner.maxInFlight, 1, 'the logout of the stuck target waited for its login');
  });

  test('a caller aborted while waiting leaves the queue without running and without overlapping others', async () => {
    const runner = new GatedRunner();
    const iscsiadm = makeIscsiadm(runner);
    const first = iscsiadm.login(TARGET);
    const controller = new AbortController();
    const second = iscsiadm.logout(TARGET, controller.signal);
    const third = iscsiadm.deleteNodeRecord(TARGET);
    controller.abort(new Error('deadline'));
    await assert.rejects(second, /deadline/);
    await runner.releaseNext();
    await first;
    await runner.releaseNext();
    await third;
    assert.deepEqual(runner.started, [`--login ${IQN}`, `delete ${IQN}`]);
    assert.equal(runner.maxInFlight, 1);
  });
});
