import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnavailableError } from '../../errors.ts';
import { decodeRemoval, encodeRemoval } from './RemovedStorageNodes.ts';
import type { RemovedStorageNode, RemovedStorageNodes } from './RemovedStorageNodes.ts';

/**
 * The record as a JSON file, for roles outside a cluster (all-in-one, the demo, tests):
 * `{"removedStorageNodes": {"<name>": "{\"removedAt\":…,\"note\":…}"}}`, the same values as the
 * ConfigMap's data. Written whole to a temporary file and renamed over the old one, so a reader
 * never sees half a file; changes from this process are serialized (the CLI and the controller are
 * separate processes, but only the CLI writes).
 */
export function fileRemovedStorageNodes(path: string, opts: { readonly now?: () => Date } = {}): RemovedStorageNodes {
  const now = opts.now ?? (() => new Date());
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  const read = async (): Promise<Record<string, unknown>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new UnavailableError(`cannot read the removed storage nodes from ${path}: ${(err as Error).message}`);
    }
    try {
      const parsed = JSON.parse(text) as { removedStorageNodes?: unknown };
      const map = parsed.removedStorageNodes;
      if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Error('no "removedStorageNodes" object');
      return map as Record<string, unknown>;
    } catch (err: unknown) {
      // A file we cannot understand must not read as "nothing removed" nor as "everything removed".
      throw new UnavailableError(`the removed storage nodes file ${path} is not what vbs-csi writes (${(err as Error).message}); fix or remove it`);
    }
  };
  const write = async (map: Record<string, unknown>): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ removedStorageNodes: map }, null, 2)}\n`, { mode: 0o644 });
    await rename(tmp, path);
  };

  return {
    where: `file ${path}`,
    async list() {
      return Object.entries(await read()).map(([name, value]) => decodeRemoval(name, value)).sort((a, b) => (a.name < b.name ? -1 : 1));
    },
    add(node) {
      return serialized(async () => {
        const map = await read();
        if (node.name in map) return decodeRemoval(node.name, map[node.name]);
        const record: RemovedStorageNode = { name: node.name, removedAt: now().toISOString(), note: node.note };
        await write({ ...map, [node.name]: encodeRemoval(record) });
        return record;
      });
    },
    restore(name) {
      return serialized(async () => {
        const map = await read();
        if (!(name in map)) return false;
        delete map[name];
        await write(map);
        return true;
      });
    },
  };
}
