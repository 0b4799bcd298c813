import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from '../../errors.ts';
import { decodeLvAttr, decodeTag, decodeTags, encodeTag } from '../../lvm/index.ts';
import type { CreateThinSnapshotRequest, CreateVolumeRequest, LogicalVolume, LvTags, ThinPool, ThinPoolHealth, VolumeGroup } from '../../lvm/index.ts';
import type { AgentLvm } from '../AgentVolumes.ts';

const MiB = 1024 * 1024;

interface StoredLv {
  readonly name: string;
  readonly uuid: string;
  sizeBytes: number;
  readonly thin: boolean;
  rawTags: string[];
  isActive: boolean;
  readonly hasActivationSkip: boolean;
  readonly origin: string | undefined;
  /** Thick LVs: the physical extents they occupy, `/dev/sdb:first-last` per segment. */
  extents: string[];
}

type Method = 'physicalExtentRanges' | 'getVolumeGroup' | 'readPoolAndVolumes' | 'enableThinPoolZeroing' | 'findVolume' | 'listVolumes' | 'createThinVolume' | 'createThickVolume' | 'createThinSnapshot' | 'extendVolume' | 'activate' | 'removeVolume' | 'addTags' | 'deleteTags';

/**
 * Test support: the part of Lvm the agent uses, kept in memory and behaving as the real class
 * does against lvm 2.03 (extent rounding, never shrinking, tags through the real codec,
 * activation-skipped parked snapshots, NotFound/AlreadyExists/FailedPrecondition as lvmErrors.ts
 * classifies them). Tests can:
 * - set the pool's fill level and health, the VG's free space;
 * - make an LV count as open (`isOpen`), as LIO's iblock backstore holds it;
 * - hold a method on a gate (`hold`) or make its next call fail (`failNext`);
 * - read every mutating call, in order, in `journal` (shared with other fakes to assert ordering).
 */
export class InMemoryLvm implements AgentLvm {
  readonly vgName: string;
  readonly thinPoolName: string;
  readonly extentSizeBytes: number;
  readonly journal: string[];
  vgFreeBytes: number;
  poolSizeBytes: number;
  pool: { dataPercent: number; metadataPercent: number; health: ThinPoolHealth; isActive: boolean; isZeroing: boolean } = { dataPercent: 0, metadataPercent: 0, health: 'ok', isActive: true, isZeroing: true };
  /** Whether something holds the LV open (lvremove then fails); default: nothing does. */
  isOpen: (lv: LogicalVolume) => Promise<boolean> = async () => false;
  readonly #lvs = new Map<string, StoredLv>();
  readonly #gates = new Map<Method, Promise<void>>();
  readonly #failures = new Map<Method, Error>();
  readonly #entered = new Map<Method, () => void>();
  /** Every call, reads included, by method name. */
  readonly calls: Method[] = [];
  /** Thick allocations take extents from here up, never reusing one (enough to tell ranges apart). */
  #nextExtent = 0;

  constructor(opts: { vgName?: string; thinPoolName?: string; extentSizeBytes?: number; vgFreeBytes?: number; poolSizeBytes?: number; journal?: string[] } = {}) {
    this.vgName = opts.vgName ?? 'vg0';
    this.thinPoolName = opts.thinPoolName ?? 'pool';
    this.extentSizeBytes = opts.extentSizeBytes ?? 4 * MiB;
    this.vgFreeBytes = opts.vgFreeBytes ?? 1024 * MiB;
    this.poolSizeBytes = opts.poolSizeBytes ?? 1024 * MiB;
    this.journal = opts.journal ?? [];
  }

  /** The next calls of `method` wait until the returned function is called; `entered` resolves when one arrives. */
  hold(method: Method): { release: () => void; entered: Promise<void> } {
    const gate = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    this.#gates.set(method, gate.promise);
    this.#entered.set(method, entered.resolve);
    return {
      release: () => {
        this.#gates.delete(method);
        gate.resolve();
      },
      entered: entered.promise,
    };
  }

  /** The next call of `method` throws `err` without doing anything. */
  failNext(method: Method, err: Error): void {
    this.#failures.set(method, err);
  }

  /** An LV created behind the agent's back (an operator, another tool). */
  seed(lv: { name: string; sizeBytes: number; thin?: boolean; tags?: LvTags; isActive?: boolean; hasActivationSkip?: boolean; origin?: string }): LogicalVolume {
    this.#lvs.set(lv.name, {
      name: lv.name,
      uuid: newUuid(),
      sizeBytes: lv.sizeBytes,
      thin: lv.thin ?? true,
      rawTags: Object.entries(lv.tags ?? {}).map(([k, v]) => encodeTag(k, v)),
      isActive: lv.isActive ?? true,
      hasActivationSkip: lv.hasActivationSkip ?? false,
      origin: lv.origin,
      extents: lv.thin === false ? this.#allocate(this.#round(lv.sizeBytes)) : [],
    });
    return this.#view(this.#lvs.get(lv.name)!);
  }

  /** As after a reboot: every LV inactive (auto-activation skips nothing here; the agent must activate). */
  deactivateAll(): void {
    for (const lv of this.#lvs.values()) lv.isActive = false;
  }

  /** Replaces an LV's raw tags, as `lvchange --addtag/--deltag` by hand would. */
  setRawTags(name: string, rawTags: string[]): void {
    this.#require(name).rawTags = [...rawTags];
  }

  names(): string[] {
    return [...this.#lvs.keys()].sort();
  }

  async getVolumeGroup(): Promise<VolumeGroup> {
    await this.#enter('getVolumeGroup');
    const size = 4096 * MiB;
    return {
      name: this.vgName,
      uuid: 'vg-uuid',
      sizeBytes: size,
      freeBytes: this.vgFreeBytes,
      extentSizeBytes: this.extentSizeBytes,
      extentCount: size / this.extentSizeBytes,
      freeExtentCount: Math.floor(this.vgFreeBytes / this.extentSizeBytes),
    };
  }

  async readPoolAndVolumes(): Promise<{ pool: ThinPool; volumes: LogicalVolume[] }> {
    await this.#enter('readPoolAndVolumes');
    return { pool: this.#poolView(), volumes: [...this.#lvs.values()].map((lv) => this.#view(lv)) };
  }

  #poolView(): ThinPool {
    return {
      vgName: this.vgName,
      name: this.thinPoolName,
      sizeBytes: this.poolSizeBytes,
      dataPercent: this.pool.dataPercent,
      metadataPercent: this.pool.metadataPercent,
      metadataSizeBytes: 8 * MiB,
      usedBytes: Math.floor((this.poolSizeBytes * this.pool.dataPercent) / 100),
      health: this.pool.health,
      isActive: this.pool.isActive,
      isZeroing: this.pool.isZeroing,
    };
  }

  async enableThinPoolZeroing(): Promise<ThinPool> {
    await this.#enter('enableThinPoolZeroing', `zero pool ${this.thinPoolName}`);
    this.pool.isZeroing = true;
    return this.#poolView();
  }

  async findVolume(lvName: string): Promise<LogicalVolume | undefined> {
    await this.#enter('findVolume');
    const lv = this.#lvs.get(lvName);
    return lv && this.#view(lv);
  }

  async listVolumes(opts: { readonly tag?: { readonly key: string; readonly value: string } } = {}): Promise<LogicalVolume[]> {
    await this.#enter('listVolumes');
    const all = [...this.#lvs.values()].map((lv) => this.#view(lv));
    const tag = opts.tag;
    return tag ? all.filter((lv) => lv.tags[tag.key] === tag.value) : all;
  }

  async createThinVolume(req: CreateVolumeRequest): Promise<LogicalVolume> {
    await this.#enter('createThinVolume', `create thin ${req.lvName} ${req.sizeBytes}`);
    return this.#create(req, true);
  }

  async createThickVolume(req: CreateVolumeRequest): Promise<LogicalVolume> {
    await this.#enter('createThickVolume', `create thick ${req.lvName} ${req.sizeBytes}`);
    const size = this.#round(req.sizeBytes);
    if (size > this.vgFreeBytes) throw new ResourceExhaustedError(`insufficient free space (simulated): ${size} > ${this.vgFreeBytes}`);
    this.vgFreeBytes -= size;
    return this.#create(req, false);
  }

  async createThinSnapshot(req: CreateThinSnapshotRequest): Promise<LogicalVolume> {
    await this.#enter('createThinSnapshot', `snapshot ${req.sourceLv} as ${req.lvName} activate=${req.activate}`);
    const source = this.#lvs.get(req.sourceLv);
    if (!source) throw new NotFoundError(`Snapshot origin LV ${req.sourceLv} not found in Volume group ${this.vgName}.`);
    if (!source.thin) throw new FailedPreconditionError(`source volume ${req.sourceLv} is not a thin volume`);
    if (this.#lvs.has(req.lvName)) throw new AlreadyExistsError(`Logical Volume "${req.lvName}" already exists in volume group "${this.vgName}"`);
    const lv: StoredLv = {
      name: req.lvName,
      uuid: newUuid(),
      sizeBytes: source.sizeBytes,
      thin: true,
      rawTags: Object.entries(req.tags ?? {}).map(([k, v]) => encodeTag(k, v)),
      isActive: req.activate,
      hasActivationSkip: !req.activate,
      origin: req.sourceLv,
      extents: [],
    };
    this.#lvs.set(lv.name, lv);
    return this.#view(lv);
  }

  async extendVolume(lvName: string, sizeBytes: number, _signal?: AbortSignal, opts: { readonly fromExtents?: readonly string[] } = {}): Promise<LogicalVolume> {
    const from = opts.fromExtents ?? [];
    await this.#enter('extendVolume', `extend ${lvName} ${sizeBytes}${from.length > 0 ? ` from ${from.join(' ')}` : ''}`);
    const lv = this.#lvs.get(lvName);
    if (!lv) throw new NotFoundError(`Logical volume ${lvName} not found in volume group ${this.vgName}.`);
    const target = this.#round(sizeBytes);
    if (target > lv.sizeBytes) {
      if (!lv.thin) {
        const added = target - lv.sizeBytes;
        if (from.length > 0) {
          // As lvextend with PV ranges: only those extents, which must be free and enough.
          const inUse = new Set([...this.#lvs.values()].flatMap((other) => other.extents));
          const taken = from.find((range) => inUse.has(range));
          if (taken) throw new FailedPreconditionError(`extents ${taken} are in use (simulated)`);
          const count = from.reduce((sum, range) => sum + extentCount(range), 0);
          if (count * this.extentSizeBytes < added) throw new ResourceExhaustedError(`Insufficient suitable allocatable extents (simulated): ${count} in ${from.join(' ')}`);
          lv.extents.push(...from);
        } else {
          lv.extents.push(...this.#allocate(added));
        }
        this.vgFreeBytes -= added;
      }
      lv.sizeBytes = target;
    }
    return this.#view(lv);
  }

  async physicalExtentRanges(lvName: string): Promise<string[]> {
    await this.#enter('physicalExtentRanges');
    return [...this.#require(lvName).extents];
  }

  #allocate(bytes: number): string[] {
    const count = Math.ceil(bytes / this.extentSizeBytes);
    const range = `/dev/sdb:${this.#nextExtent}-${this.#nextExtent + count - 1}`;
    this.#nextExtent += count;
    return [range];
  }

  async activate(lvName: string): Promise<LogicalVolume> {
    await this.#enter('activate', `activate ${lvName}`);
    const lv = this.#require(lvName);
    lv.isActive = true;
    return this.#view(lv);
  }

  async removeVolume(lvName: string): Promise<void> {
    await this.#enter('removeVolume', `remove ${lvName}`);
    const lv = this.#lvs.get(lvName);
    if (!lv) return;
    if (await this.isOpen(this.#view(lv))) throw new FailedPreconditionError(`Logical volume ${this.vgName}/${lvName} in use.`);
    if (!lv.thin) this.vgFreeBytes += lv.sizeBytes;
    this.#lvs.delete(lvName);
  }

  async addTags(lvName: string, tags: LvTags): Promise<LogicalVolume> {
    await this.#enter('addTags', `addtag ${lvName} ${Object.keys(tags).join(',')}`);
    const lv = this.#require(lvName);
    for (const [key, value] of Object.entries(tags)) {
      const wanted = encodeTag(key, value);
      lv.rawTags = [...lv.rawTags.filter((raw) => decodeTag(raw)?.key !== key), wanted];
    }
    return this.#view(lv);
  }

  async deleteTags(lvName: string, keys: readonly string[]): Promise<LogicalVolume> {
    await this.#enter('deleteTags', `deltag ${lvName} ${keys.join(',')}`);
    const lv = this.#require(lvName);
    lv.rawTags = lv.rawTags.filter((raw) => {
      const key = decodeTag(raw)?.key;
      return key === undefined || !keys.includes(key);
    });
    return this.#view(lv);
  }

  #create(req: CreateVolumeRequest, thin: boolean): LogicalVolume {
    if (!/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/.test(req.lvName)) throw new InvalidArgumentError(`bad LV name ${req.lvName}`);
    if (this.#lvs.has(req.lvName)) throw new AlreadyExistsError(`Logical Volume "${req.lvName}" already exists in volume group "${this.vgName}"`);
    const lv: StoredLv = {
      name: req.lvName,
      uuid: newUuid(),
      sizeBytes: this.#round(req.sizeBytes),
      thin,
      rawTags: Object.entries(req.tags ?? {}).map(([k, v]) => encodeTag(k, v)),
      isActive: true,
      hasActivationSkip: false,
      origin: undefined,
      extents: thin ? [] : this.#allocate(this.#round(req.sizeBytes)),
    };
    this.#lvs.set(lv.name, lv);
    return this.#view(lv);
  }

  async #enter(method: Method, journalLine?: string): Promise<void> {
    this.calls.push(method);
    this.#entered.get(method)?.();
    this.#entered.delete(method);
    const gate = this.#gates.get(method);
    if (gate) await gate;
    const failure = this.#failures.get(method);
    if (failure) {
      this.#failures.delete(method);
      throw failure;
    }
    if (journalLine) this.journal.push(`lvm ${journalLine}`);
  }

  #require(name: string): StoredLv {
    const lv = this.#lvs.get(name);
    if (!lv) throw new NotFoundError(`Failed to find logical volume "${this.vgName}/${name}"`);
    return lv;
  }

  #round(sizeBytes: number): number {
    return Math.ceil(sizeBytes / this.extentSizeBytes) * this.extentSizeBytes;
  }

  #view(lv: StoredLv): LogicalVolume {
    const attr = decodeLvAttr(`${lv.thin ? 'V' : '-'}wi-${lv.isActive ? 'a' : '-'}-${lv.thin ? 't' : '-'}${lv.thin ? 'z' : '-'}-${lv.hasActivationSkip ? 'k' : '-'}`);
    return {
      vgName: this.vgName,
      name: lv.name,
      uuid: lv.uuid,
      sizeBytes: lv.sizeBytes,
      attr,
      tags: decodeTags(lv.rawTags),
      rawTags: [...lv.rawTags],
      pool: lv.thin ? this.thinPoolName : undefined,
      origin: lv.origin,
      dataPercent: lv.thin && lv.isActive ? 0 : undefined,
      metadataPercent: undefined,
      metadataSizeBytes: undefined,
      isThin: lv.thin,
      isActive: lv.isActive,
      devicePath: `/dev/${this.vgName}/${lv.name}`,
    };
  }
}

function newUuid(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 6)}-${hex.slice(6, 10)}-${hex.slice(10, 14)}-${hex.slice(14, 18)}-${hex.slice(18, 22)}-${hex.slice(22, 26)}-${hex.slice(26, 32)}`;
}

function extentCount(range: string): number {
  const [first, last] = range.slice(range.lastIndexOf(':') + 1).split('-').map(Number) as [number, number];
  return last - first + 1;
}
