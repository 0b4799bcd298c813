/**
 * dm-raid's raid1 table and status (kernel Documentation/admin-guide/device-mapper/dm-raid.rst).
 * Pure: no I/O here.
 */

/** One raid1 leg: its metadata device and its data device (major:minor), or undefined when missing. */
export type RaidLeg = { readonly meta: string; readonly data: string } | undefined;

export interface Raid1Table {
  /** The array's size in 512-byte sectors (at most every present data leg's size). */
  readonly sectors: number;
  /** dm-raid's region_size in sectors: the unit of the write-intent bitmap. */
  readonly regionSectors: number;
  /** Legs in slot order; a missing one is `- -`. */
  readonly legs: readonly RaidLeg[];
  /** Slots to rebuild in full (`rebuild <idx>`: only a blank leg in an existing set, src/replication/assembly.ts). */
  readonly rebuild?: readonly number[];
  /** `nosync`: the legs already agree (new blank copies), skip the initial resync. Never with rebuild. */
  readonly nosync?: boolean;
}

const DEVICE = /^[0-9]{1,9}:[0-9]{1,9}$/;

/**
 * `0 <sectors> raid raid1 <#params> 0 region_size <sectors> [rebuild <idx>]… <#devs> <meta> <data>…`.
 * <#raid_params> counts every word of the parameters, and chunk_size is "the only mandatory
 * parameter and is placed first" (dm-raid.rst): raid1 has no chunks, so 0, as lvm2 writes it
 * (`raid1 3 0 region_size 1024 2 …`). A leg missing at creation is `- -` ("a '-' can be given for
 * both the metadata and data drives for a given position").
 */
export function buildRaid1Table(t: Raid1Table): string {
  if (!Number.isSafeInteger(t.sectors) || t.sectors <= 0) throw new Error(`a raid1 table needs a positive size, not ${t.sectors}`);
  const r = t.regionSectors;
  if (!Number.isSafeInteger(r) || r <= 0 || (r & (r - 1)) !== 0) throw new Error(`region_size ${r} is not a power of two`);
  if (t.legs.length < 1 || t.legs.length > 3) throw new Error(`a raid1 table of ${t.legs.length} legs`);
  if (!t.legs.some((l) => l !== undefined)) throw new Error('a raid1 table needs at least one present leg');
  for (const leg of t.legs) {
    if (leg && (!DEVICE.test(leg.meta) || !DEVICE.test(leg.data))) throw new Error(`raid1 leg ${JSON.stringify(leg)} is not major:minor`);
  }
  const rebuild = [...new Set(t.rebuild ?? [])].sort((a, b) => a - b);
  for (const idx of rebuild) {
    if (!t.legs[idx]) throw new Error(`cannot rebuild leg ${idx}: it is not present`);
  }
  if (t.nosync && rebuild.length > 0) throw new Error('nosync and rebuild contradict each other');
  const params = ['0', ...(t.nosync ? ['nosync'] : []), 'region_size', String(r), ...rebuild.flatMap((i) => ['rebuild', String(i)])];
  const devs = t.legs.flatMap((l) => (l ? [l.meta, l.data] : ['-', '-']));
  return `0 ${t.sectors} raid raid1 ${params.length} ${params.join(' ')} ${t.legs.length} ${devs.join(' ')}`;
}

/** One leg's health in `dmsetup status`: A alive and in sync, a alive and recovering, D dead, - missing at creation. */
export type LegHealth = 'A' | 'a' | 'D' | '-';

export interface RaidStatus {
  readonly raidType: string;
  readonly health: readonly LegHealth[];
  /** How far sync_action has got: synced/total sectors. */
  readonly syncedSectors: number;
  readonly totalSectors: number;
  /** idle, frozen, resync, recover, check, repair, reshape. */
  readonly syncAction: string;
  readonly mismatchCount: number;
}

/**
 * Parses `dmsetup status <name>` of a raid device:
 * `<start> <len> raid <raid_type> <#devices> <health_chars> <sync_ratio> <sync_action> <mismatch_cnt> [<data_offset> <journal_char>]`
 * (the last two since target 1.9/1.10, printed by the 6.1 kernel; dm-raid.rst "Status Output").
 */
export function parseRaidStatus(stdout: string): RaidStatus {
  const line = stdout.split('\n').map((l) => l.trim()).find((l) => l !== '');
  const bad = (): never => {
    throw new Error(`dmsetup status printed an unexpected raid line: ${JSON.stringify(line ?? stdout)}`);
  };
  if (line === undefined) return bad();
  const [, , target, raidType, count, health, ratio, action, mismatch] = line.split(/\s+/);
  if (target !== 'raid' || !raidType || !count || !health || !ratio || !action || mismatch === undefined) return bad();
  const n = Number(count);
  if (!Number.isSafeInteger(n) || health.length !== n || !/^[AaD-]+$/.test(health)) return bad();
  const m = /^([0-9]+)\/([0-9]+)$/.exec(ratio);
  if (!m || !/^[0-9]+$/.test(mismatch)) return bad();
  return {
    raidType,
    health: [...health] as LegHealth[],
    syncedSectors: Number(m[1]),
    totalSectors: Number(m[2]),
    syncAction: action,
    mismatchCount: Number(mismatch),
  };
}

/** Every leg alive and in sync, nothing being synchronised: the mirror is whole. */
export function isRaidInSync(s: RaidStatus): boolean {
  return s.health.every((h) => h === 'A') && s.syncAction === 'idle' && s.syncedSectors === s.totalSectors;
}

/**
 * A live raid1 table read back (`dmsetup table`, parsed by parseDmTable) as the Raid1Table that
 * makes it, so a reload can change one thing (the size) and keep the rest. Parameters other than
 * chunk size, nosync, region_size and rebuild are refused: this driver writes none.
 */
export function raid1TableOf(line: { readonly sectors: number; readonly targetType: string; readonly args: readonly string[] }): Raid1Table {
  const bad = (why: string): never => {
    throw new Error(`not a raid1 table of this driver (${why}): ${line.targetType} ${line.args.join(' ')}`);
  };
  const a = line.args;
  if (line.targetType !== 'raid' || a[0] !== 'raid1') return bad('type');
  const nParams = Number(a[1]);
  if (!Number.isSafeInteger(nParams) || nParams < 1) return bad('parameter count');
  const params = a.slice(2, 2 + nParams);
  let regionSectors: number | undefined;
  const rebuild: number[] = [];
  let nosync = false;
  for (let i = 1; i < params.length; i += 2) {
    if (params[i] === 'nosync') {
      // The one flag without a value.
      nosync = true;
      i -= 1;
      continue;
    }
    const value = Number(params[i + 1]);
    if (params[i] === 'region_size') regionSectors = value;
    else if (params[i] === 'rebuild') rebuild.push(value);
    else return bad(`parameter ${params[i]}`);
  }
  if (regionSectors === undefined) return bad('no region_size');
  const nDevs = Number(a[2 + nParams]);
  const devs = a.slice(3 + nParams);
  if (!Number.isSafeInteger(nDevs) || devs.length !== 2 * nDevs) return bad('device count');
  const legs: RaidLeg[] = [];
  for (let i = 0; i < nDevs; i++) {
    const meta = devs[2 * i]!;
    const data = devs[2 * i + 1]!;
    legs.push(meta === '-' || data === '-' ? undefined : { meta, data });
  }
  return { sectors: line.sectors, regionSectors, legs, ...(rebuild.length ? { rebuild } : {}), ...(nosync ? { nosync } : {}) };
}
