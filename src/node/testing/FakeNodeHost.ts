import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { DmInfo, DmTableLine, LegHealth, LinearMapping, Raid1Table, RaidStatus } from '../../dm/index.ts';
import { buildRaid1Table, parseDmTable } from '../../dm/index.ts';
import { FailedPreconditionError, UnavailableError } from '../../errors.ts';
import type { AgentMirror } from '../../agentApi/types.ts';
import { MIRROR_HEADER_BYTES, sameRecord } from '../../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../../replication/mirrorRecord.ts';
import type { MirrorRecordRequest, MirrorRecordSource } from '../mirrorRecordSource.ts';
import type { ChapCredentials } from '../../chap/index.ts';
import type { IscsiSessionDetail, IscsiTarget, NodeRecordSpec } from '../../iscsi/index.ts';
import type { ChapRequest, ChapSource } from '../chapSource.ts';
import type { FilesystemProbe, FilesystemStats, MountInfo, MountOptions } from '../../mount/index.ts';
import type { NodeDeps } from '../NodeDeps.ts';
import { StageRecordStore } from '../stageRecord.ts';

/** One LUN the fake target offers: what the kernel will show once logged in. */
export interface FakeLun {
  readonly targetIqn: string;
  readonly lun: number;
  /** What VPD page 0x80 says. */
  readonly serial: string;
  sectors: number;
  /** The storage node whose agent exports it (a copy of a replicated volume); undefined = any. */
  readonly node?: string;
  /** Its first bytes hold a dm-raid superblock (a copy once assembled); a login shows it on the disk. */
  superblock?: boolean;
}

const key = (t: IscsiTarget) => `${t.targetIqn}|${t.portal.ip}:${t.portal.port}|${t.iface ?? 'default'}`;

/**
 * A worker host in memory for the node steps: iscsiadm (records, sessions, the sysfs tree a login
 * creates), device-mapper, mounts and filesystems. Sysfs and /dev are real temp directories so
 * the production sysfs readers (waitForSessionDisk, verifyDeviceSerial, readBlockGeometry) run
 * unchanged. Every effect is recorded in `calls` as a short string.
 */
export class FakeNodeHost {
  readonly calls: string[] = [];
  readonly luns = new Map<string, FakeLun>();
  readonly nodeRecords = new Map<string, { chap: ChapCredentials; target: IscsiTarget; settings?: NodeRecordSpec['settings'] }>();
  /** What the fake agent handed out, in order (ChapSource). */
  readonly chapRequests: ChapRequest[] = [];
  /** The credentials the fake agent answers with. */
  chap: ChapCredentials = { username: 'vbs-user', password: 'secret-secret-1', mutual: { username: 'vbs-t-target', password: 'mutual-secret-2' } };
  readonly sessions = new Map<string, { sid: number; disk: string; target: IscsiTarget; lun: number; state: string }>();
  readonly dm = new Map<string, { table: DmTableLine[]; openCount: number; readOnly: boolean; suspended: boolean; kernelName: string }>();
  readonly mounts = new Map<string, { source: string; readOnly: boolean; fsType: string }>();
  /** Raid devices' state as `dmsetup status` reports it; tests set it to play a failing or recovering leg. */
  readonly raid = new Map<string, { health: LegHealth[]; syncAction: string; syncedSectors: number; totalSectors: number }>();
  /** Each storage node's copy of a replicated volume: its slot and the record in its LV tags (the fake agents). */
  readonly mirrorCopies = new Map<string, { slot: number; record: MirrorRecord }>();
  /** Storage nodes whose agent does not answer (MirrorRecordSource: UnavailableError). */
  readonly agentsDown = new Set<string>();
  /** Every compare-and-set the node asked for, in order. */
  readonly mirrorWrites: { node: string; expectedGeneration: number; record: MirrorRecord; applied: boolean }[] = [];
  /** Filesystem type on a device path, undefined = blank. */
  readonly filesystems = new Map<string, string>();
  /** Hook run before a named operation, e.g. to hold it open or make it fail. */
  readonly before = new Map<string, () => Promise<void>>();
  readonly dir: string;
  readonly sysRoot: string;
  readonly devRoot: string;
  readonly stateDir: string;
  /** Whether a login writes the session's identity to sysfs (targetname, ifacename, ...); off = an older kernel that iscsiadm must be asked about. */
  sessionIdentityInSysfs = true;
  /**
   * Whether `iscsiadm --logout` answers "no session" (exit 21) and leaves the session up, as it
   * does when the session's portal or iface no longer matches the node record (the iface deleted).
   */
  logoutMissesSession = false;
  /** How often the steps asked iscsiadm for a session (`iscsiadm -m session -P 3`). */
  findSessionCalls = 0;
  #nextSid = 1;
  #nextDisk = 0;
  #nextDm = 0;

  private constructor(dir: string) {
    this.dir = dir;
    this.sysRoot = join(dir, 'sys');
    this.devRoot = join(dir, 'dev');
    this.stateDir = join(dir, 'state');
  }

  static async create(): Promise<FakeNodeHost> {
    const host = new FakeNodeHost(await mkdtemp(join(tmpdir(), 'vbs-node-')));
    await mkdir(host.devRoot, { recursive: true });
    return host;
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  addLun(lun: FakeLun): void {
    this.luns.set(lun.targetIqn, lun);
  }

  /** The disk grew on the target: the kernel sees it after a rescan. */
  async resizeLun(targetIqn: string, sectors: number): Promise<void> {
    this.luns.get(targetIqn)!.sectors = sectors;
  }

  deps(overrides: Partial<NodeDeps> = {}): NodeDeps {
    return {
      iscsiadm: this.#iscsiadm(),
      mounter: this.#mounter(),
      dmsetup: this.#dmsetup(),
      records: new StageRecordStore({ dir: this.stateDir }),
      chap: this.#chapSource(),
      mirrorRecords: this.mirrorRecordSource(),
      mirrorSessionSettings: { replacementTimeoutS: 5 },
      initiatorName: 'iqn.2026-11.io.test:worker-1',
      iface: undefined,
      sessionSettings: { replacementTimeoutS: 180 },
      deviceWaitMs: 500,
      sysRoot: this.sysRoot,
      devRoot: this.devRoot,
      pollMs: 5,
      ...overrides,
    };
  }

  async #hook(name: string): Promise<void> {
    this.calls.push(name);
    await this.before.get(name)?.();
  }

  /** What the kernel shows of a session in sysfs once iscsid logged in. */
  async #writeSession(sid: number, target: IscsiTarget): Promise<void> {
    if (!this.sessionIdentityInSysfs) return;
    const session = join(this.sysRoot, 'class', 'iscsi_session', `session${sid}`);
    const conn = join(this.sysRoot, 'class', 'iscsi_connection', `connection${sid}:0`);
    await mkdir(session, { recursive: true });
    await mkdir(conn, { recursive: true });
    await writeFile(join(session, 'targetname'), `${target.targetIqn}\n`);
    await writeFile(join(session, 'tpgt'), '1\n');
    await writeFile(join(session, 'ifacename'), `${target.iface ?? 'default'}\n`);
    await writeFile(join(conn, 'persistent_address'), `${target.portal.ip}\n`);
    await writeFile(join(conn, 'persistent_port'), `${target.portal.port}\n`);
    await writeFile(join(session, 'state'), 'LOGGED_IN\n');
    await writeFile(join(conn, 'state'), 'up\n');
  }

  /** A session's state changes, as the kernel shows it in sysfs and iscsiadm reports it (FAILED while recovering). */
  async setSessionState(targetIqn: string, state: 'LOGGED_IN' | 'FAILED'): Promise<void> {
    const s = [...this.sessions.values()].find((x) => x.target.targetIqn === targetIqn);
    if (!s) throw new Error(`no session to ${targetIqn}`);
    s.state = state;
    if (!this.sessionIdentityInSysfs) return;
    await writeFile(join(this.sysRoot, 'class', 'iscsi_session', `session${s.sid}`, 'state'), `${state}\n`);
    await writeFile(join(this.sysRoot, 'class', 'iscsi_connection', `connection${s.sid}:0`, 'state'), state === 'LOGGED_IN' ? 'up\n' : 'failed\n');
  }

  async #attachDisk(sid: number, lun: FakeLun): Promise<string> {
    const disk = `sd${String.fromCharCode(98 + this.#nextDisk++)}`;
    const unit = join(this.sysRoot, 'class', 'iscsi_session', `session${sid}`, 'device', `target${sid}:0:0`, `${sid}:0:0:${lun.lun}`, 'block', disk);
    await mkdir(unit, { recursive: true });
    await this.#writeDiskFiles(disk, lun);
    await writeFile(join(this.devRoot, disk), lun.superblock ? Buffer.from('DmRd') : '');
    return disk;
  }

  async #writeDiskFiles(disk: string, lun: FakeLun): Promise<void> {
    const dir = join(this.sysRoot, 'block', disk);
    await mkdir(join(dir, 'device'), { recursive: true });
    const serial = Buffer.from(lun.serial, 'latin1');
    await writeFile(join(dir, 'device', 'vpd_pg80'), Buffer.concat([Buffer.from([0, 0x80, 0, serial.length]), serial]));
    await writeFile(join(dir, 'size'), `${lun.sectors}\n`);
    await writeFile(join(dir, 'dev'), `8:${16 * (disk.charCodeAt(2) - 97)}\n`);
  }

  #detail(s: { sid: number; disk: string; target: IscsiTarget; lun: number; state: string }): IscsiSessionDetail {
    return {
      transport: 'tcp', sid: s.sid, portal: s.target.portal, tpgt: 1, targetIqn: s.target.targetIqn, persistentPortal: s.target.portal,
      ifaceName: s.target.iface ?? 'default', initiatorName: undefined, connectionState: s.state === 'LOGGED_IN' ? 'LOGGED IN' : 'TRANSPORT WAIT',
      sessionState: s.state, hostNumber: s.sid, disks: [{ lun: s.lun, device: s.disk, state: 'running' }],
    };
  }

  /**
   * The volume's agent: it answers for a LUN whose target IQN ends in the volume's agent id (as
   * LIO targets of this driver do), else FailedPrecondition, as an agent does for a volume not
   * published to this node.
   */
  #chapSource(): ChapSource {
    return {
      fetch: async (req) => {
        await this.before.get(`chap ${req.volumeId}`)?.(); // not in `calls`: the agent is not the host
        this.chapRequests.push(req);
        const lun = [...this.luns.values()].find((l) => l.targetIqn.endsWith(`:${req.volumeId}`) && (l.node === undefined || l.node === req.storageNode));
        if (!lun) throw new FailedPreconditionError(`volume ${req.volumeId} is not published to ${req.initiatorIqn}`);
        return { chap: this.chap, targetIqn: lun.targetIqn };
      },
    };
  }

  /** The copies' agents: each answers with its own copy's record; compare-and-set as AgentCredentials does. */
  mirrorRecordSource(): MirrorRecordSource {
    const copyOf = (req: MirrorRecordRequest) => {
      if (this.agentsDown.has(req.storageNode)) throw new UnavailableError(`the agent of ${req.storageNode} does not answer`);
      const c = this.mirrorCopies.get(req.storageNode);
      if (!c) throw new FailedPreconditionError(`${req.volumeId} on ${req.storageNode} is not a replicated copy`);
      return c;
    };
    const mirror = (c: { slot: number; record: MirrorRecord }): AgentMirror => ({ slot: c.slot, headerBytes: MIRROR_HEADER_BYTES, record: c.record });
    return {
      read: async (req) => mirror(copyOf(req)),
      compareAndSet: async (req) => {
        const c = copyOf(req);
        // The agent's rule (AgentVolumes.setMirrorRecord): a copy behind the writer catches up.
        const applied = sameRecord(c.record, req.record) || (c.record.generation <= req.expectedGeneration && req.record.generation === req.expectedGeneration + 1);
        if (applied) c.record = req.record;
        this.mirrorWrites.push({ node: req.storageNode, expectedGeneration: req.expectedGeneration, record: req.record, applied });
        return { applied, current: mirror(c) };
      },
    };
  }

  /** The session a linear device's major:minor names (the fake numbers disks 8:<16 n>). */
  #sessionOf(majorMinor: string): { disk: string; target: IscsiTarget } | undefined {
    return [...this.sessions.values()].find((s) => `8:${16 * (s.disk.charCodeAt(2) - 97)}` === majorMinor);
  }

  /** What dm-raid does at create: a superblock on every present leg's metadata device (here: the start of its disk). */
  async #writeSuperblocks(table: Raid1Table): Promise<void> {
    for (const leg of table.legs) {
      const lin = leg && [...this.dm.values()].find((d) => `254:${d.kernelName.slice('dm-'.length)}` === leg.meta);
      const session = lin ? this.#sessionOf(lin.table[0]?.args[0] ?? '') : undefined;
      if (!session) continue;
      await writeFile(join(this.devRoot, session.disk), Buffer.from('DmRd'));
      const lun = this.luns.get(session.target.targetIqn);
      if (lun) lun.superblock = true;
    }
  }

  #raidLegs(table: DmTableLine[]): string[] {
    const args = table[0]?.args ?? [];
    const nParams = Number(args[1]);
    return args.slice(2 + nParams + 1).filter((a) => a !== '-');
  }

  #iscsiadm(): NodeDeps['iscsiadm'] {
    return {
      ensureIface: async (spec) => {
        await this.#hook(`ensureIface ${spec.name}=${spec.initiatorName}`);
        return { created: false, updated: false };
      },
      ensureNodeRecord: async (spec: NodeRecordSpec) => {
        await this.#hook(`ensureNodeRecord ${spec.target.targetIqn}`);
        const created = !this.nodeRecords.has(key(spec.target));
        this.nodeRecords.set(key(spec.target), { chap: spec.chap, target: spec.target, settings: spec.settings });
        return { created, updated: [] };
      },
      login: async (target) => {
        await this.#hook(`login ${target.targetIqn}`);
        if (this.sessions.has(key(target))) return { alreadyLoggedIn: true };
        const lun = this.luns.get(target.targetIqn);
        if (!lun) throw new Error(`no such target ${target.targetIqn}`);
        const sid = this.#nextSid++;
        await this.#writeSession(sid, target);
        const disk = await this.#attachDisk(sid, lun);
        this.sessions.set(key(target), { sid, disk, target, lun: lun.lun, state: 'LOGGED_IN' });
        return { alreadyLoggedIn: false };
      },
      logout: async (target) => {
        await this.#hook(`logout ${target.targetIqn}`);
        if (this.logoutMissesSession) return { wasLoggedIn: false };
        const s = this.sessions.get(key(target));
        if (s) {
          await rm(join(this.sysRoot, 'class', 'iscsi_session', `session${s.sid}`), { recursive: true, force: true });
          await rm(join(this.sysRoot, 'class', 'iscsi_connection', `connection${s.sid}:0`), { recursive: true, force: true });
        }
        return { wasLoggedIn: this.sessions.delete(key(target)) };
      },
      deleteNodeRecord: async (target) => {
        await this.#hook(`deleteNodeRecord ${target.targetIqn}`);
        return this.nodeRecords.delete(key(target));
      },
      findSession: async (target) => {
        this.findSessionCalls += 1;
        const s = this.sessions.get(key(target));
        return s ? this.#detail(s) : undefined;
      },
      listSessionDetails: async () => [...this.sessions.values()].map((s) => this.#detail(s)),
      listNodeRecords: async () => [...this.nodeRecords.values()].map((r) => ({ targetIqn: r.target.targetIqn, portal: r.target.portal, tpgt: 1 })),
      rescanSession: async (sid) => {
        await this.#hook(`rescan ${sid}`);
        const s = [...this.sessions.values()].find((x) => x.sid === sid);
        const lun = s ? this.luns.get(s.target.targetIqn) : undefined;
        if (s && lun) await this.#writeDiskFiles(s.disk, lun);
      },
    };
  }

  #dmsetup(): NodeDeps['dmsetup'] {
    return {
      createLinear: async (name: string, mapping: LinearMapping, opts: { readonly readOnly?: boolean } = {}) => {
        await this.#hook(`dm create ${name} ${mapping.sectors} ${mapping.device}${mapping.offsetSector ? ` +${mapping.offsetSector}` : ''}`);
        if (this.dm.has(name)) throw new Error(`dm ${name} exists`);
        const kernelName = `dm-${this.#nextDm++}`;
        await mkdir(join(this.sysRoot, 'block', kernelName, 'dm'), { recursive: true });
        await writeFile(join(this.sysRoot, 'block', kernelName, 'dm', 'name'), `${name}\n`);
        this.dm.set(name, { table: [line(mapping)], openCount: 0, readOnly: opts.readOnly ?? false, suspended: false, kernelName });
        this.#holdDm(mapping.device, +1);
      },
      reloadLinear: async (name: string, mapping: LinearMapping, _signal?: AbortSignal, opts: { readonly readOnly?: boolean } = {}) => {
        await this.#hook(`dm reload ${name} ${mapping.sectors} ${mapping.device}${opts.readOnly ? ' ro' : ''}`);
        const d = this.dm.get(name)!;
        d.table = [line(mapping)];
        d.readOnly = opts.readOnly ?? false;
      },
      remove: async (name: string) => {
        await this.#hook(`dm remove ${name}`);
        const d = this.dm.get(name);
        if (d?.openCount) throw new Error(`device-mapper: remove ioctl on ${name} failed: Device or resource busy`);
        if (d) {
          await rm(join(this.sysRoot, 'block', d.kernelName), { recursive: true, force: true });
          if (d.table[0]?.targetType === 'raid') for (const leg of this.#raidLegs(d.table)) this.#holdDm(leg, -1);
          else this.#holdDm(d.table[0]?.args[0] ?? '', -1);
          this.raid.delete(name);
        }
        return this.dm.delete(name);
      },
      info: async (name: string): Promise<DmInfo | undefined> => {
        const d = this.dm.get(name);
        return d && { name, uuid: undefined, major: 254, minor: Number(d.kernelName.slice('dm-'.length)), openCount: d.openCount, isSuspended: d.suspended, isReadOnly: d.readOnly, hasInactiveTable: false };
      },
      table: async (name: string) => this.dm.get(name)?.table.map((l) => ({ ...l })),
      createRaid1: async (name: string, table: Raid1Table, opts: { readonly readOnly?: boolean } = {}) => {
        const text = buildRaid1Table(table);
        await this.#hook(`dm create ${name} ${text}`);
        if (this.dm.has(name)) throw new Error(`dm ${name} exists`);
        const kernelName = `dm-${this.#nextDm++}`;
        await mkdir(join(this.sysRoot, 'block', kernelName, 'dm'), { recursive: true });
        await writeFile(join(this.sysRoot, 'block', kernelName, 'dm', 'name'), `${name}\n`);
        const lines = parseDmTable(text);
        this.dm.set(name, { table: lines, openCount: 0, readOnly: opts.readOnly ?? false, suspended: false, kernelName });
        for (const leg of this.#raidLegs(lines)) this.#holdDm(leg, +1);
        const rebuild = table.rebuild ?? [];
        this.raid.set(name, {
          health: table.legs.map((l, i) => (l ? (rebuild.includes(i) ? 'a' : 'A') : '-')),
          syncAction: rebuild.length ? 'recover' : 'idle',
          syncedSectors: rebuild.length ? 0 : table.sectors,
          totalSectors: table.sectors,
        });
        await this.#writeSuperblocks(table);
      },
      reloadRaid1: async (name: string, table: Raid1Table) => {
        const text = buildRaid1Table(table);
        await this.#hook(`dm reload ${name} ${text}`);
        const d = this.dm.get(name)!;
        for (const leg of this.#raidLegs(d.table)) this.#holdDm(leg, -1);
        d.table = parseDmTable(text);
        for (const leg of this.#raidLegs(d.table)) this.#holdDm(leg, +1);
        const r = this.raid.get(name);
        if (r) r.totalSectors = r.syncedSectors = table.sectors;
      },
      suspend: async (name: string) => {
        await this.#hook(`dm suspend ${name}`);
        const d = this.dm.get(name);
        if (d) d.suspended = true;
      },
      // dm-raid re-adds a failed leg that answers again on resume (attempt_restore_of_faulty_devices): it recovers.
      resume: async (name: string) => {
        await this.#hook(`dm resume ${name}`);
        const d = this.dm.get(name);
        if (d) d.suspended = false;
        const r = this.raid.get(name);
        if (r && r.health.includes('D')) {
          r.health = r.health.map((h) => (h === 'D' ? 'a' : h));
          r.syncAction = 'recover';
        }
      },
      raidStatus: async (name: string): Promise<RaidStatus | undefined> => {
        const r = this.raid.get(name);
        return r && this.dm.has(name) ? { raidType: 'raid1', health: [...r.health], syncedSectors: r.syncedSectors, totalSectors: r.totalSectors, syncAction: r.syncAction, mismatchCount: 0 } : undefined;
      },
    };
  }

  #mounter(): NodeDeps['mounter'] {
    const info = (target: string): MountInfo | undefined => {
      const m = this.mounts.get(target);
      return m && { target, source: m.source, fsType: m.fsType, options: [m.readOnly ? 'ro' : 'rw'], isReadOnly: m.readOnly };
    };
    return {
      probeFilesystem: async (device): Promise<FilesystemProbe> => {
        const fsType = this.filesystems.get(device);
        return fsType ? { kind: 'filesystem', sizeBytes: 1, fsType, uuid: undefined, label: undefined } : { kind: 'blank', sizeBytes: 1 };
      },
      formatIfBlank: async (device, fsType) => {
        const existing = this.filesystems.get(device);
        if (existing === fsType) return { formatted: false };
        if (existing) throw new FailedPreconditionError(`${device} holds ${existing}`);
        await this.#hook(`mkfs ${fsType} ${device}`);
        this.filesystems.set(device, fsType);
        return { formatted: true };
      },
      mount: async (device, target, opts: MountOptions) => {
        const m = this.mounts.get(target);
        const readOnly = opts.readOnly ?? false;
        if (m) {
          if (m.source === device && m.readOnly === readOnly) return;
          throw new FailedPreconditionError(`${target} is mounted from ${m.source}`);
        }
        await this.#hook(`mount ${device} ${target}${readOnly ? ' ro' : ''}${opts.options?.length ? ` -o ${opts.options.join(',')}` : ''}`);
        this.mounts.set(target, { source: device, readOnly, fsType: opts.fsType });
        this.#open(device, +1);
      },
      bindMount: async (source, target, opts = {}) => {
        if (this.mounts.has(target)) return;
        await this.#hook(`bind ${source} ${target}${opts.readOnly ? ' ro' : ''}`);
        const below = this.mounts.get(source);
        const device = below?.source ?? source;
        this.mounts.set(target, { source: device, readOnly: opts.readOnly ?? false, fsType: below?.fsType ?? 'devtmpfs' });
        this.#open(device, +1);
      },
      unmount: async (target) => {
        const m = this.mounts.get(target);
        if (!m) return;
        await this.#hook(`umount ${target}`);
        this.mounts.delete(target);
        this.#open(m.source, -1);
      },
      findMount: async (target) => info(target),
      // Our dm devices are 254:<n> as their dm-<n>; anything else mounted here is sd-something's, 8:0.
      mountedDevice: async (target) => {
        const source = this.mounts.get(target)?.source ?? '';
        const d = source.startsWith('/dev/mapper/') ? this.dm.get(source.slice('/dev/mapper/'.length)) : undefined;
        return d ? { major: 254, minor: Number(d.kernelName.slice('dm-'.length)) } : { major: 8, minor: 0 };
      },
      growFilesystem: async (device, mountPath, fsType) => {
        await this.#hook(`grow ${fsType} ${device} ${mountPath}`);
      },
      getFilesystemStats: async (): Promise<FilesystemStats> => ({ totalBytes: 1000, usedBytes: 100, availableBytes: 900, totalInodes: 64, usedInodes: 11, availableInodes: 53 }),
      flushBuffers: async (device) => {
        await this.#hook(`flush ${device}`);
      },
    };
  }

  /** A dm device stacked on another (254:<n>) holds it open, as the kernel counts it. */
  #holdDm(majorMinor: string, delta: number): void {
    const below = [...this.dm.values()].find((d) => `254:${d.kernelName.slice('dm-'.length)}` === majorMinor);
    if (below) below.openCount += delta;
  }

  #open(device: string, delta: number): void {
    const name = device.startsWith('/dev/mapper/') ? device.slice('/dev/mapper/'.length) : undefined;
    const d = name ? this.dm.get(name) : undefined;
    if (d) d.openCount += delta;
  }
}

function line(mapping: LinearMapping): DmTableLine {
  return { startSector: 0, sectors: mapping.sectors, targetType: 'linear', args: [mapping.device, String(mapping.offsetSector ?? 0)] };
}

export const silentLog = pino({ level: 'silent' });
