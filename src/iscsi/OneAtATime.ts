/**
 * Runs async sections strictly one after another, in call order. A caller whose signal aborts
 * while it waits leaves the queue at once without letting the next section overlap the running one.
 */
export class OneAtATime {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#tail = previous.then(() => mine);
    try {
      await (signal ? untilAborted(previous, signal) : previous);
      signal?.throwIfAborted();
      return await section();
    } finally {
      release();
    }
  }
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
    );
  });
}

/**
 * One OneAtATime per key: sections with the same key run one after another, in call order;
 * sections with different keys run side by side. A key's queue is forgotten once nobody uses it.
 */
export class OneAtATimePerKey {
  readonly #queues = new Map<string, { readonly queue: OneAtATime; users: number }>();

  async run<T>(key: string, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let entry = this.#queues.get(key);
    if (!entry) {
      entry = { queue: new OneAtATime(), users: 0 };
      this.#queues.set(key, entry);
    }
    entry.users += 1;
    try {
      return await entry.queue.run(section, signal);
    } finally {
      entry.users -= 1;
      if (entry.users === 0) this.#queues.delete(key);
    }
  }

  /** Keys with a section running or waiting (tests). */
  get activeKeys(): number {
    return this.#queues.size;
  }
}
