import { OperationPendingError } from '../errors.ts';

/**
 * Per-object try-locks that fail fast (ceph-csi idlocker.go VolumeLocks): a CO retries, so a
 * second call on an object that is busy gets ABORTED at once instead of queueing behind an lvcreate
 * or a login (docs/field-notes.md 5.1). Check and insert happen in one synchronous step: an `await` between
 * them would reopen the race (democratic-csi's mistake). Keys are the caller's: a CSI name, a
 * volume id, a target path.
 */
export class KeyedLocks {
  readonly #held = new Set<string>();

  /** Takes the lock if it is free; false if it is held. */
  tryAcquire(key: string): boolean {
    if (this.#held.has(key)) return false;
    this.#held.add(key);
    return true;
  }

  release(key: string): void {
    this.#held.delete(key);
  }

  isHeld(key: string): boolean {
    return this.#held.has(key);
  }

  /** Runs fn holding every key (taken all or none); throws OperationPendingError naming the busy key. */
  async runExclusive<T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T> {
    const list = [...new Set(typeof keys === 'string' ? [keys] : keys)];
    const busy = list.find((key) => this.#held.has(key));
    if (busy !== undefined) throw new OperationPendingError(busy);
    for (const key of list) this.#held.add(key);
    try {
      return await fn();
    } finally {
      for (const key of list) this.#held.delete(key);
    }
  }
}
