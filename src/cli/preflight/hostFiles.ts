import { readdir, readFile, readlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';

/**
 * Read-only access to the host's files, under a root: `/` on the host, or `/proc/1/root` in a
 * container that shares the host's PID namespace (the node plugin's pod). Paths are the host's
 * own (`/etc/iscsi/…`); a missing file or directory reads as undefined or empty, never throws.
 */
export interface HostFiles {
  readText(path: string): Promise<string | undefined>;
  list(dir: string): Promise<string[]>;
  /** Where a symlink chain ends, as a host path (`/dev/disk/by-path/…` → `/dev/sdb`); undefined when it is not there. */
  resolve(path: string): Promise<string | undefined>;
}

export function hostFilesUnder(root: string): HostFiles {
  const at = (path: string) => join(root, path);
  return {
    readText: (path) => readFile(at(path), 'utf8').catch(() => undefined),
    list: (dir) => readdir(at(dir)).catch(() => []),
    resolve: async (path) => {
      let current = path;
      // Resolved here, not with realpath: an absolute link target must stay under the root.
      for (let hops = 0; hops < 16; hops++) {
        const target = await readlink(at(current)).catch((err: NodeJS.ErrnoException) => (err.code === 'EINVAL' ? null : undefined));
        if (target === undefined) return undefined;
        if (target === null) return current;
        current = posix.resolve(dirname(current), target);
      }
      return undefined;
    },
  };
}
