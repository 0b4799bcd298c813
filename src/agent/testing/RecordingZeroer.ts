import type { DeviceZeroer } from '../zeroing/ZeroingJobs.ts';

/**
 * Test support: a DeviceZeroer that notes each range in a journal (shared with the other fakes
 * to assert ordering), and can hold calls on a gate or fail the next one.
 */
export class RecordingZeroer implements DeviceZeroer {
  readonly journal: string[];
  #gate: Promise<void> | undefined;
  #failure: Error | undefined;
  #entered: (() => void) | undefined;

  constructor(journal: string[] = []) {
    this.journal = journal;
  }

  /** The next calls wait until release(); `entered` resolves when one arrives. */
  hold(): { release: () => void; entered: Promise<void> } {
    const gate = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    this.#gate = gate.promise;
    this.#entered = entered.resolve;
    return {
      release: () => {
        this.#gate = undefined;
        gate.resolve();
      },
      entered: entered.promise,
    };
  }

  failNext(err: Error): void {
    this.#failure = err;
  }

  async zeroRange(devicePath: string, offsetBytes: number, lengthBytes: number, signal: AbortSignal): Promise<void> {
    this.#entered?.();
    this.#entered = undefined;
    if (this.#gate) await Promise.race([this.#gate, new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }))]);
    signal.throwIfAborted();
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) throw failure;
    this.journal.push(`zero ${devicePath} ${offsetBytes}+${lengthBytes}`);
  }
}
