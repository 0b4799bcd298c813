/** One line of a device-mapper table: `<start> <length> <target type> <args...>`, in 512-byte sectors. */
export interface DmTableLine {
  readonly startSector: number;
  readonly sectors: number;
  readonly targetType: string;
  readonly args: readonly string[];
}

/** What `dmsetup info -c` tells about one device. */
export interface DmInfo {
  readonly name: string;
  readonly uuid: string | undefined;
  readonly major: number;
  readonly minor: number;
  /** How many openers hold the device (mounts, bind mounts of the node, processes). */
  readonly openCount: number;
  readonly isSuspended: boolean;
  readonly isReadOnly: boolean;
  /** A table was loaded with `reload` and waits for `resume`. */
  readonly hasInactiveTable: boolean;
}

/** Parses `dmsetup table <name>`: one segment per line. */
export function parseDmTable(stdout: string): DmTableLine[] {
  const lines: DmTableLine[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const [start, length, type, ...args] = line.split(/\s+/);
    const startSector = Number(start);
    const sectors = Number(length);
    if (!Number.isSafeInteger(startSector) || !Number.isSafeInteger(sectors) || type === undefined) {
      throw new Error(`dmsetup table printed an unexpected line: ${JSON.stringify(line)}`);
    }
    lines.push({ startSector, sectors, targetType: type, args });
  }
  return lines;
}

/** The columns `Dmsetup.info` asks for, in this order. */
export const DM_INFO_COLUMNS = ['name', 'uuid', 'major', 'minor', 'attr', 'open'] as const;

/**
 * Parses `dmsetup info -c --noheadings --separator '|' -o name,uuid,major,minor,attr,open`.
 * attr is four or more characters (dmsetup(8)): L/I/- live and inactive tables present,
 * s = suspended, r/w = read-only or writable; e.g. "L--w".
 */
export function parseDmInfo(stdout: string): DmInfo | undefined {
  const line = stdout.split('\n').map((l) => l.trim()).find((l) => l !== '');
  if (line === undefined) return undefined;
  const [name, uuid, major, minor, attr, open] = line.split('|');
  const numbers = [major, minor, open].map(Number);
  if (!name || attr === undefined || numbers.some((n) => !Number.isSafeInteger(n))) {
    throw new Error(`dmsetup info printed an unexpected line: ${JSON.stringify(line)}`);
  }
  return {
    name,
    uuid: uuid === undefined || uuid === '' ? undefined : uuid,
    major: numbers[0]!,
    minor: numbers[1]!,
    openCount: numbers[2]!,
    isSuspended: attr.includes('s'),
    isReadOnly: attr.includes('r'),
    hasInactiveTable: attr.includes('I'),
  };
}

/** `0 <sectors> linear <device> <offset>`: one linear segment mapping a whole device. */
export function buildLinearTable(opts: { readonly sectors: number; readonly device: string; readonly offsetSector?: number }): string {
  if (!Number.isSafeInteger(opts.sectors) || opts.sectors <= 0) throw new Error(`a linear table needs a positive sector count, not ${opts.sectors}`);
  return `0 ${opts.sectors} linear ${opts.device} ${opts.offsetSector ?? 0}`;
}
