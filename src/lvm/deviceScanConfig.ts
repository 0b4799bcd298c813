/**
 * Which block devices the host's lvm scans: its `devices` configuration (as `lvmconfig
 * --typeconfig full devices` prints it), lvm's accept/reject rule for regex filters, and the
 * devices file. Pure: src/cli's preflight uses it to tell whether the host keeps our iSCSI disks
 * out of its scans (docs/node-plugin.md, "Host LVM must not look inside our disks").
 */

export interface FilterRule {
  readonly accept: boolean;
  readonly regex: RegExp;
  /** As written, for messages. */
  readonly text: string;
}

export interface DeviceScanConfig {
  readonly globalFilter: readonly FilterRule[];
  readonly filter: readonly FilterRule[];
  readonly useDevicesFile: boolean;
  /** The devices file name under /etc/lvm/devices (devices/devicesfile). */
  readonly devicesFile: string;
  readonly searchForDevnames: string;
  readonly scanLvs: boolean;
}

/** `key=value` lines of an lvmconfig section; values as printed (strings keep their quotes). */
export function parseLvmconfigSection(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) values.set(m[1]!, m[2]!);
  }
  return values;
}

/** One filter entry: `a` or `r`, then a delimiter, the regex, the same delimiter (lvm's filter-regex.c). */
export function parseFilterRule(text: string): FilterRule {
  const kind = text[0];
  const sep = text[1];
  if ((kind !== 'a' && kind !== 'r') || sep === undefined || text.length < 3 || !text.endsWith(sep)) {
    throw new Error(`${JSON.stringify(text)} is not an lvm filter entry (a|regex| or r|regex|)`);
  }
  const source = text.slice(2, -1);
  try {
    return { accept: kind === 'a', regex: new RegExp(source), text };
  } catch (err: unknown) {
    throw new Error(`${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

/** A filter value as lvmconfig prints it: `["a|x|","r|.*|"]` or a single `"a|x|"`. */
export function parseFilterValue(value: string | undefined): FilterRule[] {
  if (value === undefined || value === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(`cannot read the filter ${value}`);
  }
  const list = typeof parsed === 'string' ? [parsed] : parsed;
  if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) throw new Error(`cannot read the filter ${value}`);
  return list.map(parseFilterRule);
}

export function parseDeviceScanConfig(lvmconfigDevices: string): DeviceScanConfig {
  const v = parseLvmconfigSection(lvmconfigDevices);
  const str = (key: string, fallback: string): string => {
    const raw = v.get(key);
    return raw === undefined ? fallback : raw.replace(/^"(.*)"$/, '$1');
  };
  return {
    globalFilter: parseFilterValue(v.get('global_filter')),
    filter: parseFilterValue(v.get('filter')),
    useDevicesFile: v.get('use_devicesfile') === '1',
    devicesFile: str('devicesfile', 'system.devices'),
    searchForDevnames: str('search_for_devnames', 'auto'),
    scanLvs: v.get('scan_lvs') === '1',
  };
}

/**
 * lvm's decision for one device known by several names (lvm.conf, devices/filter): each name
 * takes the first rule it matches; the device is accepted if any name is accepted, rejected if
 * every matching name is rejected, and accepted when no name matches at all. So an allow-list
 * ending in `r|.*|` rejects, while "reject iSCSI, accept the rest" accepts (`/dev/sdX` is accepted).
 */
export function filterAccepts(rules: readonly FilterRule[], names: readonly string[]): boolean {
  let rejected = false;
  for (const name of names) {
    const rule = rules.find((r) => r.regex.test(name));
    if (!rule) continue;
    if (rule.accept) return true;
    rejected = true;
  }
  return !rejected;
}

/** One line of an lvm devices file (`IDTYPE=sys_wwid IDNAME=naa.… DEVNAME=/dev/sdb PVID=…`). */
export interface DevicesFileEntry {
  readonly idType: string;
  readonly idName: string;
  readonly devName: string;
}

export function parseDevicesFile(text: string): DevicesFileEntry[] {
  const entries: DevicesFileEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('IDTYPE=')) continue;
    const field = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S*)`).exec(line)?.[1] ?? '';
    entries.push({ idType: field('IDTYPE'), idName: field('IDNAME'), devName: field('DEVNAME') });
  }
  return entries;
}
