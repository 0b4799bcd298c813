import type { MountInfo } from './parseFindmntJson.ts';

/**
 * Parses /proc/<pid>/mountinfo (proc(5)) into what `findmnt -J -l -o TARGET,SOURCE,FSTYPE,OPTIONS`
 * reports from the same file, so callers see no difference:
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)  (4)   (5)   (6)        (7...)  (8)(9)  (10)      (11)
 * - SOURCE: the mount source, with "[root]" appended when the mount shows a subtree of its
 *   filesystem (a bind mount of a device file reads "devtmpfs[/dm-0]"), as findmnt does;
 * - OPTIONS: the per-mount options (6) then the superblock's (11), "rw"/"ro" once at the front,
 *   and "ro" when either says ro (libmount merge_optstr): a filesystem the kernel remounted
 *   read-only after I/O errors shows "ro" only in (11), and must read as read-only (docs/field-notes.md 1.8).
 * Paths are unescaped (the kernel writes space, tab, newline and backslash as \ooo). Mounts come
 * in the file's order, so a stacked mount's visible (topmost) entry comes last. Throws on a line
 * of any other shape.
 */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 4) throw new Error(`mountinfo line has an unexpected shape: ${JSON.stringify(line)}`);
    const root = unescapeMountField(fields[3]!);
    const target = unescapeMountField(fields[4]!);
    const source = unescapeMountField(fields[separator + 2]!);
    const options = mergeOptions(fields[5]!, fields[separator + 3]!);
    out.push({
      target,
      source: root === '/' ? source : `${source}[${root}]`,
      fsType: unescapeMountField(fields[separator + 1]!),
      options,
      isReadOnly: options[0] === 'ro',
    });
  }
  return out;
}

function mergeOptions(perMount: string, superBlock: string): string[] {
  const all = [...perMount.split(','), ...superBlock.split(',')].filter((o) => o !== '');
  const isReadOnly = all.includes('ro');
  return [isReadOnly ? 'ro' : 'rw', ...all.filter((o) => o !== 'rw' && o !== 'ro')];
}

/** The kernel's mangle() writes ' ', '\t', '\n' and '\\' as a backslash and three octal digits. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
