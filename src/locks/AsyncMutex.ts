/**
 * A fair (FIFO) async mutex: callers wait their turn instead of failing. For the few places where
 * waiting is right, e.g. one volume group's metadata changes and the capacity check that must
 * precede a create, so that a burst of creates cannot overfill a thin pool. A caller whose
 * AbortSignal fires while it waits leaves the queue with the signal's reason.
 */
export class AsyncMutex {
  #locked = false;
  readonly #waiters: Array<() => void> = [];

  get isLocked(): boolean {
    return this.#locked;
  }

  /** Runs fn once every earlier caller is done; the mutex is released however fn ends. */
  async runExclusive<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      // The lock passes straight to the next waiter: #locked stays true, so nobody can jump the queue.
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#locked = false;
  }
}
