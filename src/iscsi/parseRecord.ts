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
