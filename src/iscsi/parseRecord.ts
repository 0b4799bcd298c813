import { parsePortal } from './portal.ts';
import type { IscsiPortal } from './portal.ts';

/**
 * Parses the "name = value" lines iscsiadm prints for one node or iface record
 * (`iscsiadm -m node -T <iqn> -p <portal> -I <iface>`), mapping "<empty>" to ''. With several
 * records in the output ("# BEGIN RECORD" ... "# END RECORD"), the first one wins.
 */
export function parseRecord(stdout: string): Map<string, string> {
  const record = new Map<string, string>();
  let records = 0;
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('# BEGIN RECORD')) {
      records += 1;
      if (records > 1) break;
      continue;
    }
    if (line.startsWith('#') || line === '') continue;
    const eq = line.indexOf(' = ');
    if (eq < 0) continue;
    const value = line.slice(eq + 3);
    record.set(line.slice(0, eq), value === '<empty>' ? '' : value);
  }
  return record;
}

export interface IfaceListEntry {
  readonly name: string;
  readonly transport: string;
  readonly initiatorName: string | undefined;
}

/**
 * Parses `iscsiadm -m iface`: "<name> <transport>,<hwaddress>,<ipaddress>,<net_ifacename>,<initiatorname>".
 */
export function parseIfaceList(stdout: string): IfaceListEntry[] {
  const out: IfaceListEntry[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^(\S+) ([^,\s]+),([^,]*),([^,]*),([^,]*),(\S*)\s*$/.exec(line.trim());
    if (!match) continue;
    const initiator = match[6]!;
    out.push({ name: match[1]!, transport: match[2]!, initiatorName: initiator === '' || initiator === '<empty>' ? undefined : initiator });
  }
  return out;
}

/** One node record as `iscsiadm -m node` lists it. */
export interface NodeRecordEntry {
  readonly targetIqn: string;
  readonly portal: IscsiPortal;
  readonly tpgt: number | undefined;
}

/**
 * Parses `iscsiadm -m node`: "127.0.0.2:3260,1 iqn.2026-11.io.vbs:pvc-1", one line per record and
 * iface (the iface is not printed). Lines that do not match are ignored.
 */
export function parseNodeList(stdout: string): NodeRecordEntry[] {
  const records: NodeRecordEntry[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^(\S+) (\S+)$/.exec(line.trim());
    if (!match) continue;
    const portal = parsePortal(match[1]!);
    if (!portal) continue;
    records.push({ targetIqn: match[2]!, portal: portal.portal, tpgt: portal.tpgt });
  }
  return records;
}
