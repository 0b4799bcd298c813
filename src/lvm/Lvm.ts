import type { CommandRunner } from '../exec/index.ts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.ts';
import { classifyLvmError } from './lvmErrors.ts';
import { LVS_FIELDS, parseLvsReport } from './parseLvsReport.ts';
import { PVS_FIELDS, parsePvsReport } from './parsePvsReport.ts';
import { VGS_FIELDS, parseVgsReport } from './parseVgsReport.ts';
import { decodeTag, encodeTag } from './tagCodec.ts';
import type { LogicalVolume, PhysicalVolume, ThinPool, ThinPoolHealth, VolumeGroup } from './types.ts';
import { validateDmNameLength, validateLvName, validateVgName } from './validateNames.ts';

export interface LvmOptions {
  readonly runner: CommandRunner;
  readonly vgName: string;
  readonly thinPoolName: string;
  /** The lvm binary; every call is `<lvmPath> <subcommand> ...`. Default 'lvm'. */
  readonly lvmPath?: string;
  /** For lvs/vgs. Default 30 s. */
  readonly readTimeoutMs?: number;
  /** For lvcreate/lvextend/lvremove/lvchange. Default 120 s. */
  readonly writeTimeoutMs?: number;
  /**
   * How old the remembered `lvs` report of the whole VG may be when a lookup is answered from it
   * (findVolume, listVolumes, getThinPool, readPoolAndVolumes); a caller may ask for a younger
   * one. 0, the default, runs lvm for every read. See "Remembered report" on the class.
   */
  readonly reportMaxAgeMs?: number;
  /** Milliseconds on a monotonic clock; default performance.now. */
  readonly now?: () => number;
}

/** How old a remembered report a read accepts; 0 runs lvm now. Default: the Lvm's reportMaxAgeMs. */
export interface ReadFreshness {
  readonly maxAgeMs?: number;
}

/** The thin pool and every other visible LV of the VG, from one report. */
export interface PoolAndVolumes {
  readonly pool: ThinPool;
  readonly volumes: LogicalVolume[];
}

/** Tags as key → value; each becomes one `vbs.<key>=<value>` LV tag (tagCodec.ts). */
export type LvTags = Readonly<Record<string, string>>;

export interface CreateVolumeRequest {
  readonly lvName: string;
  /** Rounded up to the VG's extent size; the result carries the real size. */
  readonly sizeBytes: number;
  readonly tags?: LvTags;
}

export interface CreateThinSnapshotRequest {
  /** A thin LV in this VG. */
  readonly sourceLv: string;
  readonly lvName: string;
  readonly tags?: LvTags;
  /**
   * false: a parked CSI snapshot, created with the activation-skip flag and inactive, so it is
   * never opened by accident (docs/field-notes.md 3.5). true: a clone or restore that will be exported,
   * created without the flag and active, so it also comes back after a reboot.
   */
  readonly activate: boolean;
}

/** A whole-VG `lvs` under way, which callers asking for a report no older than its start share. */
interface RunningListing {
  readonly promise: Promise<LogicalVolume[]>;
  readonly startedAtMs: number;
  readonly epoch: number;
}

const REPORT_ARGS = ['--reportformat', 'json', '--units', 'b', '--nosuffix'] as const;

/**
 * The only code that runs lvm: thin (and thick) LVs in one VG and one thin pool.
 * Reads go through JSON reports with explicit field lists (parseLvsReport, parseVgsReport);
 * failures are classified in lvmErrors.ts. Every method takes an optional AbortSignal that
 * reaches the runner, so a cancelled RPC does not leave lvm running.
 *
 * Remembered report (reportMaxAgeMs > 0, the storage agent): under software emulation each lvm
 * command costs 0.5-1.5 s, and a CreateVolume used to run five (the controller's name lookup,
 * the agent's existence check, pool and LV list for admission, the re-read) around its one
 * lvcreate; in a burst those reads queued behind the lvcreates past their deadlines. So lookups
 * are answered from one `lvs <vg>` report of every LV, the pool included, taken at most
 * reportMaxAgeMs ago, and this class keeps that report true to its own changes: every change
 * re-reads the LV it touched (`lvs <vg>/<lv>`, never from memory) and puts it in the report, a
 * removal takes it out, and a change that fails drops the report. A report taken while a change
 * ran is used by its callers but not remembered. What the report can miss is a change made
 * outside this object (an operator's lvchange, the pool's fill level as initiators write) for at
 * most reportMaxAgeMs; callers that must see those (reconcile) ask for `{ maxAgeMs: 0 }`, which
 * also renews the report for everyone. The VG's own figures (vgs) are remembered the same way,
 * kept until a change allocates or frees extents.
 */
export class Lvm {
  readonly #runner: CommandRunner;
  readonly #vg: string;
  readonly #pool: string;
  readonly #lvmPath: string;
  readonly #readTimeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #reportMaxAgeMs: number;
  readonly #now: () => number;
  #extentSizeBytes: number | undefined;
  /** The last whole-VG report, pool included, and when its lvs started. */
  #report: { readonly lvs: LogicalVolume[]; readonly takenAtMs: number } | undefined;
  /** Bumped when a change starts: a report begun before it is not remembered. */
  #changeEpoch = 0;
  #changesRunning = 0;
  #listing: RunningListing | undefined;
  /** The last `vgs`, and the extent epoch it belongs to: bumped by changes that allocate or free extents. */
  #vgReport: { readonly vg: VolumeGroup; readonly takenAtMs: number; readonly epoch: number } | undefined;
  #extentEpoch = 0;
  #extentChangesRunning = 0;

  constructor(opts: LvmOptions) {
    validateVgName(opts.vgName);
    validateLvName(opts.thinPoolName);
    this.#runner = opts.runner;
    this.#vg = opts.vgName;
    this.#pool = opts.thinPoolName;
    this.#lvmPath = opts.lvmPath ?? 'lvm';
    this.#readTimeoutMs = opts.readTimeoutMs ?? 30_000;
    this.#writeTimeoutMs = opts.writeTimeoutMs ?? 120_000;
    this.#reportMaxAgeMs = opts.reportMaxAgeMs ?? 0;
    if (!(Number.isFinite(this.#reportMaxAgeMs) && this.#reportMaxAgeMs >= 0)) throw new InvalidArgumentError(`reportMaxAgeMs must be 0 or more, got ${this.#reportMaxAgeMs}`);
    this.#now = opts.now ?? (() => performance.now());
  }

  get vgName(): string {
    return this.#vg;
  }

  get thinPoolName(): string {
    return this.#pool;
  }

  /**
   * `lvm vgs <report args> -o <VGS_FIELDS> <vg>`, or the VG as last read if that is young enough
   * and no change that allocates or frees extents (a thick create, an extend, a removal) ran
   * since. A missing VG is a FailedPreconditionError.
   */
  async getVolumeGroup(signal?: AbortSignal, freshness: ReadFreshness = {}): Promise<VolumeGroup> {
    const maxAgeMs = freshness.maxAgeMs ?? this.#reportMaxAgeMs;
    const now = this.#now();
    const remembered = this.#vgReport;
    if (remembered && maxAgeMs > 0 && remembered.epoch === this.#extentEpoch && now - remembered.takenAtMs <= maxAgeMs) return remembered.vg;
    const epoch = this.#extentEpoch;
    const quiet = this.#extentChangesRunning === 0;
    const stdout = await this.#read(['vgs', ...REPORT_ARGS, '-o', VGS_FIELDS.join(','), this.#vg], `read volume group ${this.#vg}`, signal);
    const vg = parseVgsReport(stdout).find((row) => row.name === this.#vg);
    if (!vg) throw new FailedPreconditionError(`volume group ${this.#vg} not found`);
    this.#extentSizeBytes = vg.extentSizeBytes;
    if (this.#reportMaxAgeMs > 0 && quiet && epoch === this.#extentEpoch) this.#vgReport = { vg, takenAtMs: now, epoch };
    return vg;
  }

  /**
   * The physical volumes of this VG: `lvm pvs <report args> -o <PVS_FIELDS>`, filtered here rather
   * than with `-S` so no VG name ever passes through lvm's selection syntax. A PV whose device is
   * gone is listed with isMissing (and no devicePath), so callers can say so instead of guessing.
   */
  async listPhysicalVolumes(signal?: AbortSignal): Promise<PhysicalVolume[]> {
    const stdout = await this.#read(['pvs', ...REPORT_ARGS, '-o', PVS_FIELDS.join(',')], `list physical volumes of ${this.#vg}`, signal);
    return parsePvsReport(stdout).filter((pv) => pv.vgName === this.#vg);
  }

  /** Size, fill level and health of the thin pool: `lvm lvs <report args> -o <LVS_FIELDS> <vg>/<pool>`, or its row of the remembered report. */
  async getThinPool(signal?: AbortSignal, freshness: ReadFreshness = {}): Promise<ThinPool> {
    return this.#toThinPool(await this.findVolume(this.#pool, signal, freshness));
  }

  /**
   * The thin pool and every other visible LV of the VG, from one `lvm lvs <report args> -o
   * <LVS_FIELDS> <vg>`: what admission and the node status need, in one command instead of two.
   */
  async readPoolAndVolumes(signal?: AbortSignal, freshness: ReadFreshness = {}): Promise<PoolAndVolumes> {
    const lvs = await this.#readVgReport(signal, freshness);
    return { pool: this.#toThinPool(lvs.find((lv) => lv.name === this.#pool)), volumes: lvs.filter((lv) => lv.name !== this.#pool) };
  }

  #toThinPool(lv: LogicalVolume | undefined): ThinPool {
    if (!lv) throw new FailedPreconditionError(`thin pool ${this.#vg}/${this.#pool} not found`);
    if (lv.attr.volumeType !== 'thin-pool') throw new FailedPreconditionError(`${this.#vg}/${this.#pool} is not a thin pool (${lv.attr.volumeType})`);
    const dataPercent = lv.dataPercent ?? 0;
    return {
      vgName: lv.vgName,
      name: lv.name,
      sizeBytes: lv.sizeBytes,
      dataPercent,
      metadataPercent: lv.metadataPercent ?? 0,
      metadataSizeBytes: lv.metadataSizeBytes ?? 0,
      usedBytes: Math.floor((lv.sizeBytes * dataPercent) / 100),
      health: buildThinPoolHealth(lv),
      isActive: lv.isActive,
      isZeroing: lv.attr.isZeroing,
    };
  }

  /**
   * Creates a thin LV in the pool and returns it as lvm reports it afterwards (real size):
   * `lvm lvcreate -y -W y --type thin --thinpool <pool> -V <bytes>b -n <lv> [--addtag t]... <vg>`.
   * `-W y -y` so a stale signature never turns into an interactive prompt (docs/field-notes.md 3.8).
   */
  async createThinVolume(req: CreateVolumeRequest, signal?: AbortSignal): Promise<LogicalVolume> {
    this.#validateNewLv(req.lvName);
    const tagArgs = buildAddTagArgs(req.tags);
    const sizeBytes = await this.#roundUpToExtent(req.sizeBytes, signal);
    const args = ['lvcreate', '-y', '-W', 'y', '--type', 'thin', '--thinpool', this.#pool, '-V', `${sizeBytes}b`, '-n', req.lvName, ...tagArgs, this.#vg];
    return this.#change(async () => {
      await this.#write(args, `create thin volume ${this.#vg}/${req.lvName}`, signal);
      return this.#reread(req.lvName, signal);
    }, { movesExtents: false });
  }

  /**
   * Creates a linear (thick) LV: `lvm lvcreate -y -W y -Z y -L <bytes>b -n <lv> [--addtag t]... <vg>`.
   * Thick LVs reuse extents of deleted LVs: only the first 4 KiB and known signatures are wiped
   * (lvcreate(8), -Z and -W), so callers that hand them to tenants must zero them (the agent
   * does, docs/no-old-data.md).
   */
  async createThickVolume(req: CreateVolumeRequest, signal?: AbortSignal): Promise<LogicalVolume> {
    this.#validateNewLv(req.lvName);
    const tagArgs = buildAddTagArgs(req.tags);
    const sizeBytes = await this.#roundUpToExtent(req.sizeBytes, signal);
    const args = ['lvcreate', '-y', '-W', 'y', '-Z', 'y', '-L', `${sizeBytes}b`, '-n', req.lvName, ...tagArgs, this.#vg];
    return this.#change(async () => {
      await this.#write(args, `create volume ${this.#vg}/${req.lvName}`, signal);
      return this.#reread(req.lvName, signal);
    }, { movesExtents: true });
  }

  /**
   * `lvm lvs <report args> -o <LVS_FIELDS> <vg>/<lv>`, or the LV's row of the remembered report;
   * undefined when the LV does not exist.
   */
  async findVolume(lvName: string, signal?: AbortSignal, freshness: ReadFreshness = {}): Promise<LogicalVolume | undefined> {
    validateLvNameForLookup(lvName);
    if (this.#remembers(freshness)) return (await this.#readVgReport(signal, freshness)).find((lv) => lv.name === lvName);
    return this.#readOne(lvName, signal);
  }

  async #readOne(lvName: string, signal: AbortSignal | undefined): Promise<LogicalVolume | undefined> {
    try {
      const stdout = await this.#read(['lvs', ...REPORT_ARGS, '-o', LVS_FIELDS.join(','), `${this.#vg}/${lvName}`], `read volume ${this.#vg}/${lvName}`, signal);
      return parseLvsReport(stdout).find((lv) => lv.name === lvName);
    } catch (err: unknown) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Every visible LV of the VG except the thin pool itself, in one `lvs` call; with `tag`, only
   * those carrying that decoded tag. Hidden sub-LVs ([pool_tdata]...) are not listed (no -a).
   */
  async listVolumes(opts: { readonly tag?: { readonly key: string; readonly value: string } } & ReadFreshness = {}, signal?: AbortSignal): Promise<LogicalVolume[]> {
    const tag = opts.tag;
    // Encoding validates the key and value the same way a create would.
    if (tag) encodeTag(tag.key, tag.value);
    const lvs = await this.#readVgReport(signal, opts);
    return lvs.filter((lv) => lv.name !== this.#pool && (!tag || lv.tags[tag.key] === tag.value));
  }

  /**
   * Every visible LV of the VG, the pool included: remembered if young enough, else one `lvs <vg>`,
   * which is then remembered (also for a caller that asked for maxAgeMs 0).
   */
  async #readVgReport(signal: AbortSignal | undefined, freshness: ReadFreshness): Promise<LogicalVolume[]> {
    if (this.#reportMaxAgeMs === 0) return this.#listVg(signal);
    signal?.throwIfAborted();
    const maxAgeMs = freshness.maxAgeMs ?? this.#reportMaxAgeMs;
    const now = this.#now();
    const youngEnough = (takenAtMs: number) => maxAgeMs > 0 && now - takenAtMs <= maxAgeMs;
    if (this.#report && youngEnough(this.#report.takenAtMs)) return this.#report.lvs;
    // Share a listing already running if it is young enough and no change began since it started.
    const running = this.#listing;
    if (running && running.epoch === this.#changeEpoch && youngEnough(running.startedAtMs)) return running.promise;
    const epoch = this.#changeEpoch;
    const quiet = this.#changesRunning === 0;
    // Without the caller's signal: other callers share this listing (the read timeout bounds it).
    const promise = this.#listVg(undefined).then((lvs) => {
      if (quiet && epoch === this.#changeEpoch) this.#report = { lvs, takenAtMs: now };
      return lvs;
    });
    const listing = { promise, startedAtMs: now, epoch };
    this.#listing = listing;
    const done = () => {
      if (this.#listing === listing) this.#listing = undefined;
    };
    void promise.then(done, done);
    return promise;
  }

  async #listVg(signal: AbortSignal | undefined): Promise<LogicalVolume[]> {
    const stdout = await this.#read(['lvs', ...REPORT_ARGS, '-o', LVS_FIELDS.join(','), this.#vg], `list volumes of ${this.#vg}`, signal);
    return parseLvsReport(stdout).filter((lv) => lv.vgName === this.#vg);
  }

  /** Whether this read may be answered from the remembered report. */
  #remembers(freshness: ReadFreshness): boolean {
    return this.#reportMaxAgeMs > 0 && (freshness.maxAgeMs ?? this.#reportMaxAgeMs) > 0;
  }

  /**
   * The LV whose `vbs.<key>` tag decodes to `value` (the CSI name, say); undefined if none.
   * Two LVs with the same tag break the idempotency this lookup exists for, so that is a
   * FailedPreconditionError naming both, not a silent pick.
   */
  async findVolumeByTag(key: string, value: string, signal?: AbortSignal): Promise<LogicalVolume | undefined> {
    const found = await this.listVolumes({ tag: { key, value } }, signal);
    if (found.length > 1) {
      throw new FailedPreconditionError(`${found.length} volumes carry tag ${key}=${JSON.stringify(value)}: ${found.map((lv) => lv.name).join(', ')}`);
    }
    return found[0];
  }

  /**
   * Grows an LV to at least `sizeBytes` (rounded up to the extent size) and returns it as lvm
   * reports it afterwards. Never shrinks: a size at or below the current one returns the LV as
   * it is, without running lvextend. `lvm lvextend -L <bytes>b <vg>/<lv>`.
   */
  async extendVolume(lvName: string, sizeBytes: number, signal?: AbortSignal, opts: { readonly fromExtents?: readonly string[] } = {}): Promise<LogicalVolume> {
    const current = await this.findVolume(lvName, signal);
    if (!current) throw new NotFoundError(`volume ${this.#vg}/${lvName} not found`);
    const target = await this.#roundUpToExtent(sizeBytes, signal);
    if (target <= current.sizeBytes) return current;
    // `lvextend ... <vg>/<lv> PV:first-last...` takes new extents only from those ranges (lvextend(8), PV arguments).
    const ranges = (opts.fromExtents ?? []).map(validateExtentRange);
    return this.#change(async () => {
      await this.#write(['lvextend', '-L', `${target}b`, `${this.#vg}/${lvName}`, ...ranges], `extend volume ${this.#vg}/${lvName}`, signal);
      return this.#reread(lvName, signal);
    }, { movesExtents: true });
  }

  /**
   * The physical extents an LV occupies, one `PV:first-last` range per segment, in the form
   * lvextend and lvcreate take as PV arguments: `lvm lvs --segments --noheadings -o seg_pe_ranges <vg>/<lv>`.
   */
  async physicalExtentRanges(lvName: string, signal?: AbortSignal): Promise<string[]> {
    validateLvNameForLookup(lvName);
    const stdout = await this.#read(['lvs', '--segments', '--noheadings', '-o', 'seg_pe_ranges', `${this.#vg}/${lvName}`], `read the extents of ${this.#vg}/${lvName}`, signal);
    return stdout
      .split(/\s+/)
      .filter((range) => range !== '')
      .map(validateExtentRange);
  }

  /**
   * Takes a thin snapshot of a thin LV and returns it:
   * `lvm lvcreate -y -s --setactivationskip y|n --activate y|n -n <lv> [--addtag t]... <vg>/<source>`.
   * No -W here: wiping signatures on a snapshot would destroy the very data it preserves.
   */
  async createThinSnapshot(req: CreateThinSnapshotRequest, signal?: AbortSignal): Promise<LogicalVolume> {
    this.#validateNewLv(req.lvName);
    const tagArgs = buildAddTagArgs(req.tags);
    const source = await this.findVolume(req.sourceLv, signal);
    if (!source) throw new NotFoundError(`source volume ${this.#vg}/${req.sourceLv} not found`);
    if (!source.isThin) throw new FailedPreconditionError(`source volume ${this.#vg}/${req.sourceLv} is not a thin volume; only thin volumes can be snapshotted`);
    const yn = req.activate ? 'n' : 'y';
    const args = [
      'lvcreate', '-y', '-s', '--setactivationskip', yn, '--activate', req.activate ? 'y' : 'n',
      '-n', req.lvName, ...tagArgs, `${this.#vg}/${req.sourceLv}`,
    ];
    return this.#change(async () => {
      await this.#write(args, `snapshot ${this.#vg}/${req.sourceLv} as ${req.lvName}`, signal);
      return this.#reread(req.lvName, signal);
    }, { movesExtents: false });
  }

  /**
   * Makes the thin pool zero every block it provisions before a thin LV sees it:
   * `lvm lvchange -Z y <vg>/<pool>` (lvmthin(7), "Zeroing"), online. Returns the pool as lvm
   * reports it afterwards.
   */
  async enableThinPoolZeroing(signal?: AbortSignal): Promise<ThinPool> {
    return this.#change(async () => {
      await this.#write(['lvchange', '-Z', 'y', `${this.#vg}/${this.#pool}`], `turn on zeroing of thin pool ${this.#vg}/${this.#pool}`, signal);
      return this.#toThinPool(await this.#reread(this.#pool, signal));
    }, { movesExtents: false });
  }

  /** Activates an LV even when it carries the activation-skip flag: `lvm lvchange -ay -K <vg>/<lv>`. */
  async activate(lvName: string, signal?: AbortSignal): Promise<LogicalVolume> {
    validateLvNameForLookup(lvName);
    return this.#change(async () => {
      await this.#write(['lvchange', '-ay', '-K', `${this.#vg}/${lvName}`], `activate volume ${this.#vg}/${lvName}`, signal);
      return this.#reread(lvName, signal);
    }, { movesExtents: false });
  }

  /**
   * Removes an LV: `lvm lvremove -y <vg>/<lv>`. An LV that does not exist counts as removed;
   * an LV still open (exported, mounted) is a FailedPreconditionError; a missing VG is never
   * mistaken for a removed LV (lvmErrors.ts).
   */
  async removeVolume(lvName: string, signal?: AbortSignal): Promise<void> {
    validateLvNameForLookup(lvName);
    await this.#change(async () => {
      try {
        await this.#write(['lvremove', '-y', `${this.#vg}/${lvName}`], `remove volume ${this.#vg}/${lvName}`, signal);
      } catch (err: unknown) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      this.#remember(lvName, undefined);
    }, { movesExtents: true });
  }

  /**
   * Sets tags: a key already present with another value is replaced, one with the same value is
   * left alone (no lvchange when nothing changes). `lvm lvchange [--deltag old]... [--addtag new]... <vg>/<lv>`.
   */
  async addTags(lvName: string, tags: LvTags, signal?: AbortSignal): Promise<LogicalVolume> {
    const lv = await this.findVolume(lvName, signal);
    if (!lv) throw new NotFoundError(`volume ${this.#vg}/${lvName} not found`);
    const changes: string[] = [];
    for (const [key, value] of Object.entries(tags)) {
      const wanted = encodeTag(key, value);
      if (lv.rawTags.includes(wanted)) continue;
      for (const old of lv.rawTags.filter((raw) => decodeTag(raw)?.key === key)) changes.push('--deltag', old);
      changes.push('--addtag', wanted);
    }
    if (changes.length === 0) return lv;
    return this.#change(async () => {
      await this.#write(['lvchange', ...changes, `${this.#vg}/${lvName}`], `tag volume ${this.#vg}/${lvName}`, signal);
      return this.#reread(lvName, signal);
    }, { movesExtents: false });
  }

  /** Removes the tags with these keys; keys not present are ignored. `lvm lvchange --deltag <tag>... <vg>/<lv>`. */
  async deleteTags(lvName: string, keys: readonly string[], signal?: AbortSignal): Promise<LogicalVolume> {
    const lv = await this.findVolume(lvName, signal);
    if (!lv) throw new NotFoundError(`volume ${this.#vg}/${lvName} not found`);
    const doomed = lv.rawTags.filter((raw) => {
      const key = decodeTag(raw)?.key;
      return key !== undefined && keys.includes(key);
    });
    if (doomed.length === 0) return lv;
    return this.#change(async () => {
      await this.#write(['lvchange', ...doomed.flatMap((tag) => ['--deltag', tag]), `${this.#vg}/${lvName}`], `untag volume ${this.#vg}/${lvName}`, signal);
      return this.#reread(lvName, signal);
    }, { movesExtents: false });
  }

  #validateNewLv(lvName: string): void {
    validateLvName(lvName);
    validateDmNameLength(this.#vg, lvName);
  }

  async #roundUpToExtent(sizeBytes: number, signal: AbortSignal | undefined): Promise<number> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new InvalidArgumentError(`size must be a positive whole number of bytes, got ${sizeBytes}`);
    const extent = this.#extentSizeBytes ?? (await this.getVolumeGroup(signal)).extentSizeBytes;
    const rounded = Math.ceil(sizeBytes / extent) * extent;
    if (!Number.isSafeInteger(rounded)) throw new InvalidArgumentError(`size ${sizeBytes} is too large`);
    return rounded;
  }

  /** After a change: the LV as lvm reports it now (never from memory), which the report then holds. */
  async #reread(lvName: string, signal: AbortSignal | undefined): Promise<LogicalVolume> {
    const lv = await this.#readOne(lvName, signal);
    if (!lv) throw new Error(`volume ${this.#vg}/${lvName} vanished right after lvm changed it`);
    this.#remember(lvName, lv);
    return lv;
  }

  /**
   * Runs one change of the VG. Reports begun before it are not remembered (the VG's figures only
   * when it moves extents: thin LVs take theirs from the pool); if it fails, what lvm did is
   * unknown, so both remembered reports are dropped and the next read runs lvm again.
   */
  async #change<T>(fn: () => Promise<T>, opts: { readonly movesExtents: boolean }): Promise<T> {
    this.#changeEpoch += 1;
    this.#changesRunning += 1;
    if (opts.movesExtents) {
      this.#extentEpoch += 1;
      this.#extentChangesRunning += 1;
    }
    try {
      return await fn();
    } catch (err: unknown) {
      this.#report = undefined;
      this.#vgReport = undefined;
      throw err;
    } finally {
      this.#changesRunning -= 1;
      if (opts.movesExtents) this.#extentChangesRunning -= 1;
    }
  }

  /** Puts an LV's new row in the remembered report (undefined: takes it out). */
  #remember(lvName: string, lv: LogicalVolume | undefined): void {
    const report = this.#report;
    if (!report) return;
    const lvs = report.lvs.filter((row) => row.name !== lvName);
    if (lv) lvs.push(lv);
    this.#report = { lvs, takenAtMs: report.takenAtMs };
  }

  async #read(args: readonly string[], what: string, signal: AbortSignal | undefined): Promise<string> {
    return (await this.#exec(args, this.#readTimeoutMs, what, signal)).stdout;
  }

  async #write(args: readonly string[], what: string, signal: AbortSignal | undefined): Promise<void> {
    await this.#exec(args, this.#writeTimeoutMs, what, signal);
  }

  async #exec(args: readonly string[], timeoutMs: number, what: string, signal: AbortSignal | undefined) {
    try {
      return await this.#runner.run({ file: this.#lvmPath, args, timeoutMs }, signal);
    } catch (err: unknown) {
      throw classifyLvmError(err, what);
    }
  }
}

function buildAddTagArgs(tags: LvTags | undefined): string[] {
  return Object.entries(tags ?? {}).flatMap(([key, value]) => ['--addtag', encodeTag(key, value)]);
}

/**
 * Lookups accept any name lvm could have (an operator may have created it), but never one that
 * could be read as an option or a path.
 */
function validateLvNameForLookup(lvName: string): void {
  if (!/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/.test(lvName)) throw new InvalidArgumentError(`${JSON.stringify(lvName)} is not a logical volume name`);
}

function buildThinPoolHealth(lv: LogicalVolume): ThinPoolHealth {
  if (lv.attr.state === 'thin-pool-check-needed' || lv.attr.state === 'suspended-thin-pool-check-needed') return 'check-needed';
  switch (lv.attr.health) {
    case 'ok':
    case 'out-of-data':
    case 'metadata-read-only':
    case 'failed':
    case 'partial':
    case 'unknown':
      return lv.attr.health;
    default:
      return 'unknown';
  }
}

/** `/dev/<pv>:<first>-<last>`, as lvs prints seg_pe_ranges; anything else never reaches lvextend's argv. */
function validateExtentRange(range: string): string {
  const match = /^(\/dev\/[A-Za-z0-9_.+/-]+):(\d+)-(\d+)$/.exec(range);
  if (!match || range.includes('..') || Number(match[2]) > Number(match[3])) throw new InvalidArgumentError(`${JSON.stringify(range)} is not a physical extent range (/dev/PV:first-last)`);
  return range;
}
