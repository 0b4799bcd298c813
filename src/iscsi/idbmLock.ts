import { link, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UnavailableError } from '../errors.ts';
import { sleep as defaultSleep } from './sleep.ts';

/** Where open-iscsi keeps its record lock on Debian, Ubuntu and Fedora (LOCK_DIR in usr/idbm.h). */
export const DEFAULT_ISCSI_LOCK_DIR = '/run/lock/iscsi';

export interface IdbmLockOptions {
  readonly lockDir: string;
  /** open-iscsi polls every 10 ms for up to 30 s (3000 tries) before giving up. */
  readonly pollMs?: number;
  readonly attempts?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `fn` holding open-iscsi's host-wide record lock, the one iscsiadm and iscsid take around
 * every read and write of a node or iface record (usr/idbm.c idbm_lock/idbm_unlock,
 * https://github.com/open-iscsi/open-iscsi/blob/master/usr/idbm.c): the lock is taken by
 * link()ing `<dir>/lock` (created if missing) to `<dir>/lock.write`, which fails with EEXIST
 * while someone else holds it, and released by unlinking `lock.write`. So no iscsiadm reads a
 * record we are in the middle of rewriting, and we never rewrite one under iscsiadm.
 */
export async function withIdbmLock<T>(opts: IdbmLockOptions, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const lockFile = join(opts.lockDir, 'lock');
  const writeFile = join(opts.lockDir, 'lock.write');
  const sleep = opts.sleep ?? defaultSleep;
  const attempts = opts.attempts ?? 3000;
  await mkdir(opts.lockDir, { recursive: true, mode: 0o755 });
  await (await open(lockFile, 'a', 0o644)).close();
  for (let attempt = 1; ; attempt++) {
    try {
      await link(lockFile, writeFile);
      break;
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt >= attempts) {
        throw new UnavailableError(`open-iscsi's record lock ${writeFile} stayed held for ${Math.round((attempts * (opts.pollMs ?? 10)) / 1000)} s; retry (a stale one left by a killed iscsiadm can be removed by hand)`);
      }
      await sleep(opts.pollMs ?? 10, signal);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(writeFile).catch(() => undefined);
  }
}
