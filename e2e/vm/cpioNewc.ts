/**
 * A minimal writer for the "newc" cpio format the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Written here rather than
 * driving GNU cpio because it can add device nodes (/dev/console) without root or mknod,
 * and produces the same bytes for the same inputs (mtime 0, owner root), so the cache key
 * is meaningful.
 */
export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode: number }
  | { readonly kind: 'file'; readonly path: string; readonly mode: number; readonly data: Uint8Array }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'charDevice'; readonly path: string; readonly mode: number; readonly major: number; readonly minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

/** Pure: entries (parents before children) → archive bytes. */
export function buildCpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (buf: Buffer): void => {
    parts.push(buf);
    offset += buf.length;
  };
  const pad4 = (): void => {
    const rest = offset % 4;
    if (rest !== 0) push(Buffer.alloc(4 - rest));
  };

  let inode = 1;
  const writeEntry = (name: string, mode: number, data: Uint8Array, rdev: { major: number; minor: number }): void => {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [
      inode++, mode, 0 /* uid */, 0 /* gid */, mode & S_IFDIR ? 2 : 1 /* nlink */, 0 /* mtime */,
      data.length, 0, 0 /* dev major, minor */, rdev.major, rdev.minor, nameBytes.length, 0 /* check */,
    ];
    push(Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii'));
    push(nameBytes);
    pad4();
    push(Buffer.from(data));
    pad4();
  };

  const noDevice = { major: 0, minor: 0 };
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, '');
    switch (entry.kind) {
      case 'dir':
        writeEntry(name, S_IFDIR | entry.mode, new Uint8Array(), noDevice);
        break;
      case 'file':
        writeEntry(name, S_IFREG | entry.mode, entry.data, noDevice);
        break;
      case 'symlink':
        writeEntry(name, S_IFLNK | 0o777, Buffer.from(entry.target, 'utf8'), noDevice);
        break;
      case 'charDevice':
        writeEntry(name, S_IFCHR | entry.mode, new Uint8Array(), { major: entry.major, minor: entry.minor });
        break;
    }
  }
  writeEntry(TRAILER, 0, new Uint8Array(), noDevice);
  return Buffer.concat(parts);
}

function hex8(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`cpio field out of range: ${value}`);
  return value.toString(16).padStart(8, '0');
}
