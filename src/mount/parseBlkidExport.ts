/**
 * Parses `blkid -p -o export <dev>` output: one KEY=value per line. blkid escapes characters
 * that are unsafe for a shell with a backslash (`LABEL=my\ \"vol\"`); the escapes are undone.
 * Throws on a line that is not KEY=value, rather than skipping something it does not understand.
 */
export function parseBlkidExport(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`blkid printed an unexpected line: ${JSON.stringify(line)}`);
    fields[match[1]!] = match[2]!.replace(/\\(.)/g, '$1');
  }
  return fields;
}
