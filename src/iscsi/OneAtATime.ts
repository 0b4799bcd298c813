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
