import { FailedPreconditionError, InvalidArgumentError } from '../errors.ts';
import type { Command, CommandResult, CommandRunner } from '../exec/index.ts';
import { CommandFailedError } from '../exec/index.ts';
import { IscsiLoginRefusedError } from './IscsiLoginRefusedError.ts';
import { OneAtATimePerKey } from './OneAtATime.ts';
import type { IfaceListEntry } from './parseRecord.ts';
import { parseIfaceList, parseNodeList, parseRecord } from './parseRecord.ts';
import type { NodeRecordEntry } from './parseRecord.ts';
import type { IscsiSession, IscsiSessionDetail } from './parseSessions.ts';
import { parseSessionList, parseSessionTree } from './parseSessions.ts';
import type { IscsiPortal } from './portal.ts';
import { formatPortalArg, validatePortal } from './portal.ts';
import { sleep } from './sleep.ts';
import type { ChapCredentials } from '../chap/index.ts';
import { DEFAULT_ISCSI_LOCK_DIR, withIdbmLock } from './idbmLock.ts';
import { DEFAULT_NODE_RECORD_DIR, nodeRecordPath, writeNodeRecordSecrets } from './nodeRecordSecrets.ts';
import type { NodeRecordSecrets } from './nodeRecordSecrets.ts';

/** iscsiadm exit codes (open-iscsi include/iscsi_err.h) that mean something to us. */
export const ISCSI_ERR = {
  /** ISCSI_ERR_SESS_EXISTS: login to a target we are already logged in to. */
  sessionExists: 15,
  /** ISCSI_ERR_NO_OBJS_FOUND: no such record or session. */
  noObjectsFound: 21,
  /** ISCSI_ERR_LOGIN_AUTH_FAILED: CHAP failure or no ACL for this initiator. */
  loginAuthFailed: 24,
} as const;

/** One target as the initiator addresses it. */
export interface IscsiTarget {
  readonly targetIqn: string;
  readonly portal: IscsiPortal;
  /**
   * Target portal group tag; default 1, what LIO exports use. Node records carry it: with a tag,
   * open-iscsi keeps one record per iface for the same portal instead of overwriting one.
   */
  readonly tpgt?: number;
  /** iscsiadm iface; default "default", which uses /etc/iscsi/initiatorname.iscsi. */
  readonly iface?: string;
}


/**
 * Session settings stored in the node record; they take effect at the next login (docs/field-notes.md 1.7).
 * Leave one out to keep what iscsid.conf gave the record.
 */
export interface SessionSettings {
  /** How long I/O queues while the session is down before failing upward (default 120 s). */
  readonly replacementTimeoutS?: number;
  readonly noopOutIntervalS?: number;
  readonly noopOutTimeoutS?: number;
  readonly loginTimeoutS?: number;
  /** Login attempts before iscsiadm gives up on an unreachable portal. */
  readonly initialLoginRetryMax?: number;
}

export interface NodeRecordSpec {
  readonly target: IscsiTarget;
  /** `mutual`, when set, becomes the record's username_in/password_in: the target must prove itself too. */
  readonly chap: ChapCredentials;
  readonly settings?: SessionSettings;
}

export interface IscsiadmOptions {
  readonly runner: CommandRunner;
  /** Default "iscsiadm"; a host prefix (chroot/nsenter) belongs in the runner. */
  readonly file?: string;
  readonly timeoutsMs?: { readonly default?: number; readonly login?: number; readonly logout?: number };
  /**
   * Retries of commands that fail with "iSCSI database failure" (ISCSI_ERR_IDBM: among others,
   * open-iscsi's host-wide record lock not acquired within its 30 s, usr/idbm.c idbm_lock);
   * default 5 x 1000 ms.
   */
  readonly dbRetry?: { readonly attempts: number; readonly delayMs: number };
  /**
   * open-iscsi's node record directory (NODE_CONFIG_DIR: /etc/iscsi/nodes on Debian and Ubuntu,
   * /var/lib/iscsi/nodes on Fedora and RHEL), where the CHAP secrets are written directly.
   */
  readonly nodeRecordDir?: string;
  /** open-iscsi's lock directory (default /run/lock/iscsi); unit tests point both at temp dirs. */
  readonly lockDir?: string;
  /** Injected so tests need not wait. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const DEFAULT_IFACE = 'default';
const DEFAULT_TPGT = 1;
const IFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const TARGET_NAME = /^(?:iqn\.[0-9]{4}-[0-9]{2}\.[A-Za-z0-9.:-]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$/;
const CHAP_TEXT = /^[\x21-\x7e]{1,255}$/;

/**
 * The only code that runs iscsiadm; one instance per host.
 *
 * Serialisation: calls on one target record (target IQN + portal, every iface's record of it)
 * run one at a time, in call order, so a show/new/update, a login and a delete of that record
 * never interleave. Calls on different records run side by side: a login to a dead portal (up to
 * initial_login_retry_max x login_timeout, 90 s here) must not stall the stage, unstage or
 * rescan of healthy volumes. That is safe because open-iscsi serialises its own record store:
 * every read and write of a node or iface record takes a host-wide lock
 * (usr/idbm.c idbm_lock: link() of /run/lock/iscsi/lock.write, 10 ms polls, up to 30 s, then
 * "iSCSI database failure", which #run retries), and iscsiadm holds it only around the record
 * file I/O, not while iscsid logs in (iscsid drives many logins at once from its event loop; it is
 * how `iscsiadm -m node -L all` logs in to every record in parallel). Ifaces are serialised per
 * iface name; a rescan per session; session listings read sysfs and take no lock at all.
 * Node records are created directly (`-o new`), never by sendtargets discovery, so the host
 * learns only the targets it is told to attach.
 */
export class Iscsiadm {
  readonly #runner: CommandRunner;
  readonly #file: string;
  readonly #timeouts: { readonly default: number; readonly login: number; readonly logout: number };
  readonly #dbRetry: { readonly attempts: number; readonly delayMs: number };
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #queues = new OneAtATimePerKey();
  readonly #nodeRecordDir: string;
  readonly #lockDir: string;

  constructor(opts: IscsiadmOptions) {
    this.#runner = opts.runner;
    this.#file = opts.file ?? 'iscsiadm';
    this.#timeouts = { default: 15_000, login: 90_000, logout: 30_000, ...opts.timeoutsMs };
    this.#dbRetry = opts.dbRetry ?? { attempts: 5, delayMs: 1000 };
    this.#sleep = opts.sleep ?? sleep;
    this.#nodeRecordDir = validateDir(opts.nodeRecordDir ?? DEFAULT_NODE_RECORD_DIR, 'node record directory');
    this.#lockDir = validateDir(opts.lockDir ?? DEFAULT_ISCSI_LOCK_DIR, 'iSCSI lock directory');
  }

  /**
   * Ensures a node record for the target with CHAP, node.startup=manual and the given session
   * settings. Steps: show the record (`-S` so secrets can be compared: they go to stdout, never
   * argv); if missing, create it with `-o new` (which never applies `-n/-v`, and on an existing
   * record resets it to iscsid.conf's defaults, so it is only run after the show found none); then
   * one `-o update` carrying every non-secret setting that differs as `-n/-v` pairs (all of them
   * for a new record), or none when all match. open-iscsi 2.1 applies the pairs in one write, all
   * or none (checked in the test bed with 2.1.8). node.startup=manual keeps the host from logging
   * back in to every past target after a reboot (docs/field-notes.md 1.2).
   * The passwords are never on a command line (/proc/<pid>/cmdline is world-readable): when they
   * differ they are written into the record file under open-iscsi's own record lock
   * (nodeRecordSecrets.ts, idbmLock.ts), then the record is shown again to prove open-iscsi reads
   * back exactly what was written.
   */
  async ensureNodeRecord(spec: NodeRecordSpec, signal?: AbortSignal): Promise<{ readonly created: boolean; readonly updated: readonly string[] }> {
    const target = validateTarget(spec.target);
    const chap = validateChap(spec.chap);
    const desired = desiredRecord(chap, spec.settings ?? {});
    const secretFields = desiredSecrets(chap);
    const secrets = [chap.password, ...(chap.mutual ? [chap.mutual.password] : [])];
    return this.#queues.run(recordKey(target), async () => {
      const shown = await this.#run({ args: [...nodeArgs(target), '-S'], secrets, okExitCodes: [0, ISCSI_ERR.noObjectsFound] }, signal).catch((err: unknown) => {
        throw isMissingIface(err) ? new FailedPreconditionError(`iscsiadm iface ${target.iface} does not exist; create it with ensureIface first`) : err;
      });
      const created = shown.exitCode === ISCSI_ERR.noObjectsFound;
      if (created) await this.#run({ args: [...nodeArgs(target), '-o', 'new'] }, signal);
      // A record just made holds iscsid.conf's defaults: every setting we own is written, unshown.
      const current = created ? new Map<string, string>() : parseRecord(shown.stdout);
      const changes = desired.filter(([name, value]) => current.get(name) !== value);
      if (changes.length > 0) {
        await this.#run({ args: [...nodeArgs(target), '-o', 'update', ...changes.flatMap(([name, value]) => ['-n', name, '-v', value])], secrets }, signal);
      }
      // A field the show leaves out is empty; a new record gets both written, whatever iscsid.conf gave it.
      const secretChanges = (Object.entries(secretFields) as [keyof NodeRecordSecrets, string][])
        .filter(([name, value]) => created || (current.get(name) ?? '') !== value)
        .map(([name]) => name);
      if (secretChanges.length > 0) {
        const path = nodeRecordPath(this.#nodeRecordDir, target);
        await withIdbmLock({ lockDir: this.#lockDir }, () => writeNodeRecordSecrets(path, secretFields), signal);
        const readBack = parseRecord((await this.#run({ args: [...nodeArgs(target), '-S'], secrets }, signal)).stdout);
        const wrong = secretChanges.filter((name) => (readBack.get(name) ?? '') !== secretFields[name]);
        if (wrong.length > 0) {
          throw new FailedPreconditionError(`open-iscsi does not read back the CHAP secrets written to ${path} (${wrong.join(', ')}): is --iscsi-node-dir the directory this host's open-iscsi keeps node records in?`);
        }
      }
      return { created, updated: [...changes.map(([name]) => name), ...secretChanges] };
    }, signal);
  }

  /**
   * Logs in to the target through its node record. Already logged in (exit 15) is success.
   * An authorization failure (exit 24) becomes IscsiLoginRefusedError.
   */
  async login(target: IscsiTarget, signal?: AbortSignal): Promise<{ readonly alreadyLoggedIn: boolean }> {
    const t = validateTarget(target);
    return this.#queues.run(recordKey(t), async () => {
      try {
        const result = await this.#run({ args: [...nodeArgs(t), '--login'], okExitCodes: [0, ISCSI_ERR.sessionExists], timeoutMs: this.#timeouts.login }, signal);
        return { alreadyLoggedIn: result.exitCode === ISCSI_ERR.sessionExists };
      } catch (err: unknown) {
        if (err instanceof CommandFailedError && err.exitCode === ISCSI_ERR.loginAuthFailed) {
          throw new IscsiLoginRefusedError({ targetIqn: t.targetIqn, portal: formatPortalArg(t.portal), iface: t.iface });
        }
        if (isMissingIface(err)) throw new FailedPreconditionError(`iscsiadm iface ${t.iface} does not exist; create it with ensureIface first`);
        throw err;
      }
    }, signal);
  }

  /**
   * Logs out of the target's session on this iface. No session (exit 21) is success, and so is an
   * iface that does not exist (exit 3, "Could not read iface info"): nothing can be logged in through it.
   */
  async logout(target: IscsiTarget, signal?: AbortSignal): Promise<{ readonly wasLoggedIn: boolean }> {
    const t = validateTarget(target);
    return this.#queues.run(recordKey(t), async () => {
      try {
        const result = await this.#run({ args: [...nodeArgs(t), '--logout'], okExitCodes: [0, ISCSI_ERR.noObjectsFound], timeoutMs: this.#timeouts.logout }, signal);
        return { wasLoggedIn: result.exitCode === 0 };
      } catch (err: unknown) {
        if (isMissingIface(err)) return { wasLoggedIn: false };
        throw err;
      }
    }, signal);
  }

  /**
   * Deletes the node record (and the CHAP secret stored in it, docs/field-notes.md 1.14). A missing record
   * (exit 21) or iface (exit 3) is success. Delete records before their iface: once the iface is
   * gone, `-I` can no longer address them.
   */
  async deleteNodeRecord(target: IscsiTarget, signal?: AbortSignal): Promise<boolean> {
    const t = validateTarget(target);
    return this.#queues.run(recordKey(t), async () => {
      try {
        const result = await this.#run({ args: [...nodeArgs(t), '-o', 'delete'], okExitCodes: [0, ISCSI_ERR.noObjectsFound] }, signal);
        return result.exitCode === 0;
      } catch (err: unknown) {
        if (isMissingIface(err)) return false;
        throw err;
      }
    }, signal);
  }

  /** `iscsiadm -m node`: every node record (one entry per record and iface); none (exit 21) is an empty list. */
  async listNodeRecords(signal?: AbortSignal): Promise<NodeRecordEntry[]> {
    const result = await this.#run({ args: ['-m', 'node'], okExitCodes: [0, ISCSI_ERR.noObjectsFound] }, signal);
    return result.exitCode === 0 ? parseNodeList(result.stdout) : [];
  }

  /** `iscsiadm -m session`; no sessions (exit 21) is an empty list. */
  async listSessions(signal?: AbortSignal): Promise<IscsiSession[]> {
    const result = await this.#run({ args: ['-m', 'session'], okExitCodes: [0, ISCSI_ERR.noObjectsFound] }, signal);
    return result.exitCode === 0 ? parseSessionList(result.stdout) : [];
  }

  /** `iscsiadm -m session -P 3`: sessions with iface, initiator name, states and attached disks. */
  async listSessionDetails(signal?: AbortSignal): Promise<IscsiSessionDetail[]> {
    const result = await this.#run({ args: ['-m', 'session', '-P', '3'], okExitCodes: [0, ISCSI_ERR.noObjectsFound] }, signal);
    return result.exitCode === 0 ? parseSessionTree(result.stdout) : [];
  }

  /** The session of this target, portal and iface, if logged in. */
  async findSession(target: IscsiTarget, signal?: AbortSignal): Promise<IscsiSessionDetail | undefined> {
    const t = validateTarget(target);
    const sessions = await this.listSessionDetails(signal);
    return sessions.find(
      (s) => s.targetIqn === t.targetIqn && s.portal.ip === t.portal.ip && s.portal.port === t.portal.port && (s.ifaceName ?? DEFAULT_IFACE) === t.iface,
    );
  }

  /** Rescans one session's LUNs (`-m session -r <sid> --rescan`), e.g. after a login that found no LUN yet or a resize. */
  async rescanSession(sid: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isSafeInteger(sid) || sid < 0) throw new InvalidArgumentError(`session id ${sid} must be a non-negative integer`);
    await this.#queues.run(`session ${sid}`, () => this.#run({ args: ['-m', 'session', '-r', String(sid), '--rescan'] }, signal), signal);
  }

  /** `iscsiadm -m iface`. */
  async listIfaces(signal?: AbortSignal): Promise<IfaceListEntry[]> {
    return parseIfaceList((await this.#run({ args: ['-m', 'iface'] }, signal)).stdout);
  }

  /**
   * Ensures an iface that logs in under its own initiator name, so one host can hold sessions
   * to a target under several names (one ACL each). Steps: list ifaces; `-o new` if missing;
   * `-o update iface.initiatorname` if it differs.
   */
  async ensureIface(spec: { readonly name: string; readonly initiatorName: string }, signal?: AbortSignal): Promise<{ readonly created: boolean; readonly updated: boolean }> {
    const name = validateIfaceName(spec.name);
    if (name === DEFAULT_IFACE) throw new InvalidArgumentError('the default iface takes its name from initiatorname.iscsi and cannot be changed here');
    const initiatorName = validateTargetName(spec.initiatorName, 'initiator name');
    return this.#queues.run(`iface ${name}`, async () => {
      const existing = parseIfaceList((await this.#run({ args: ['-m', 'iface'] }, signal)).stdout).find((i) => i.name === name);
      if (!existing) await this.#run({ args: ['-m', 'iface', '-I', name, '-o', 'new'] }, signal);
      const updated = existing?.initiatorName !== initiatorName;
      if (updated) await this.#run({ args: ['-m', 'iface', '-I', name, '-o', 'update', '-n', 'iface.initiatorname', '-v', initiatorName] }, signal);
      return { created: !existing, updated };
    }, signal);
  }

  /** Deletes an iface; one that does not exist counts as deleted. */
  async deleteIface(name: string, signal?: AbortSignal): Promise<boolean> {
    const iface = validateIfaceName(name);
    if (iface === DEFAULT_IFACE) throw new InvalidArgumentError('the default iface cannot be deleted');
    return this.#queues.run(`iface ${iface}`, async () => {
      const exists = parseIfaceList((await this.#run({ args: ['-m', 'iface'] }, signal)).stdout).some((i) => i.name === iface);
      if (exists) await this.#run({ args: ['-m', 'iface', '-I', iface, '-o', 'delete'] }, signal);
      return exists;
    }, signal);
  }

  /** Runs one iscsiadm command, retrying while it fails with "iSCSI database failure". */
  async #run(cmd: Omit<Command, 'file' | 'timeoutMs'> & { readonly timeoutMs?: number }, signal?: AbortSignal): Promise<CommandResult> {
    const full: Command = { ...cmd, file: this.#file, timeoutMs: cmd.timeoutMs ?? this.#timeouts.default };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#runner.run(full, signal);
      } catch (err: unknown) {
        const retryable = err instanceof CommandFailedError && /database failure/i.test(err.stderr);
        if (!retryable || attempt >= this.#dbRetry.attempts) throw err;
        await this.#sleep(this.#dbRetry.delayMs, signal);
      }
    }
  }
}

/** `-I <iface>` naming an iface that does not exist: iscsiadm exits 3, "Could not read iface info for <name>." */
function isMissingIface(err: unknown): boolean {
  return err instanceof CommandFailedError && /Could not read iface info/i.test(err.stderr);
}

type ValidTarget = { readonly targetIqn: string; readonly portal: IscsiPortal; readonly tpgt: number; readonly iface: string };

function validateTarget(target: IscsiTarget): ValidTarget {
  const tpgt = target.tpgt ?? DEFAULT_TPGT;
  if (!Number.isInteger(tpgt) || tpgt < 0 || tpgt > 65535) throw new InvalidArgumentError(`target portal group tag ${tpgt} must be from 0 to 65535`);
  return {
    targetIqn: validateTargetName(target.targetIqn, 'target IQN'),
    portal: validatePortal(target.portal),
    tpgt,
    iface: validateIfaceName(target.iface ?? DEFAULT_IFACE),
  };
}

/**
 * The serialisation key of a target record: target and portal, so every iface's record of it
 * (files in one directory, /etc/iscsi/nodes/<iqn>/<ip>,<port>,<tpgt>/) shares one queue.
 */
function recordKey(t: ValidTarget): string {
  return `record ${t.targetIqn} ${formatPortalArg(t.portal, t.tpgt)}`;
}

/** The argv that selects exactly one node record: target, portal with its tag, iface. */
function nodeArgs(t: ValidTarget): string[] {
  return ['-m', 'node', '-T', t.targetIqn, '-p', formatPortalArg(t.portal, t.tpgt), '-I', t.iface];
}

function validateTargetName(name: string, what: string): string {
  if (!TARGET_NAME.test(name) || name.length > 223) throw new InvalidArgumentError(`${what} ${JSON.stringify(name)} is not a valid iSCSI name`);
  return name;
}

function validateIfaceName(name: string): string {
  if (!IFACE_NAME.test(name)) throw new InvalidArgumentError(`iface name ${JSON.stringify(name)} must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit`);
  return name;
}

function validateChap(chap: ChapCredentials): ChapCredentials {
  const bad = (field: string) => new InvalidArgumentError(`CHAP ${field} must be 1-255 printable ASCII characters without spaces`);
  if (!CHAP_TEXT.test(chap.username)) throw bad('username');
  if (!CHAP_TEXT.test(chap.password)) throw bad('password');
  if (chap.mutual !== undefined) {
    if (!CHAP_TEXT.test(chap.mutual.username)) throw bad('mutual username');
    if (!CHAP_TEXT.test(chap.mutual.password)) throw bad('mutual password');
    if (chap.mutual.password === chap.password) throw new InvalidArgumentError('mutual CHAP must use a different secret in each direction');
  }
  return chap;
}

/** An absolute, normalised directory: it becomes part of the paths the secrets are written to. */
function validateDir(dir: string, what: string): string {
  if (!dir.startsWith('/') || dir.split('/').some((part) => part === '..' || part === '.') || /[\0\n]/.test(dir)) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(dir)} must be an absolute path without . or .. parts`);
  }
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

/** The secret fields, written to the record file, never passed to iscsiadm. */
function desiredSecrets(chap: ChapCredentials): NodeRecordSecrets {
  return { 'node.session.auth.password': chap.password, 'node.session.auth.password_in': chap.mutual?.password ?? '' };
}

/** The node-record settings we own, in the order they are applied. */
function desiredRecord(chap: ChapCredentials, settings: SessionSettings): (readonly [string, string])[] {
  const seconds = (name: string, value: number | undefined, min: number): (readonly [string, string])[] => {
    if (value === undefined) return [];
    if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}`);
    return [[name, String(value)]];
  };
  return [
    ['node.startup', 'manual'],
    ['node.conn[0].startup', 'manual'],
    ['node.session.auth.authmethod', 'CHAP'],
    ['node.session.auth.username', chap.username],
    ['node.session.auth.username_in', chap.mutual?.username ?? ''],
    ...seconds('node.session.timeo.replacement_timeout', settings.replacementTimeoutS, 0),
    ...seconds('node.conn[0].timeo.noop_out_interval', settings.noopOutIntervalS, 0),
    ...seconds('node.conn[0].timeo.noop_out_timeout', settings.noopOutTimeoutS, 0),
    ...seconds('node.conn[0].timeo.login_timeout', settings.loginTimeoutS, 1),
    ...seconds('node.session.initial_login_retry_max', settings.initialLoginRetryMax, 0),
  ];
}
