import type { Logger } from 'pino';
import { crashPoint } from '../../faults/crashPoint.ts';

/** Makes a byte range of a block device read as zeroes. */
export interface DeviceZeroer {
  zeroRange(devicePath: string, offsetBytes: number, lengthBytes: number, signal: AbortSignal): Promise<void>;
}

/** One LV's range that must read as zeroes before anyone may read it. */
export interface ZeroingTask {
  readonly id: string;
  /** The LV this was started for: an LV removed and created again under the id is another task. */
  readonly lvUuid: string;
  readonly devicePath: string;
  readonly fromBytes: number;
  readonly toBytes: number;
}

export interface ZeroingJob {
  readonly task: ZeroingTask;
  /** Settles when the range is zeroed and `finish` has run, or with the first error. */
  readonly done: Promise<void>;
  zeroedBytes(): number;
}

interface RunningJob extends ZeroingJob {
  readonly abort: AbortController;
}

const GiB = 1024 * 1024 * 1024;

/**
 * Zeroing jobs of LVs, one per LV id at most, that outlive the call which started them: zeroing a
 * large thick volume takes longer than a CO waits for CreateVolume, so the call returns ABORTED
 * while the job goes on and a retry picks up its result. A job zeroes its range chunk by chunk
 * (so cancel() and progress act between chunks), then runs `finish` (which removes the LV's
 * `zeroing` tag). If the process dies meanwhile, the tag stays and the next call starts over.
 */
export class ZeroingJobs {
  readonly #zeroer: DeviceZeroer;
  readonly #chunkBytes: number;
  readonly #log: Logger;
  readonly #jobs = new Map<string, RunningJob>();

  constructor(opts: { readonly zeroer: DeviceZeroer; readonly log: Logger; readonly chunkBytes?: number }) {
    this.#zeroer = opts.zeroer;
    this.#log = opts.log;
    this.#chunkBytes = opts.chunkBytes ?? GiB;
    if (!Number.isSafeInteger(this.#chunkBytes) || this.#chunkBytes < 512 || this.#chunkBytes % 512 !== 0) throw new Error(`chunkBytes must be a positive multiple of 512, got ${this.#chunkBytes}`);
  }

  /** The job zeroing this task's LV, started now unless one for the same LV and range runs already. */
  ensure(task: ZeroingTask, finish: (signal: AbortSignal) => Promise<void>): ZeroingJob {
    const running = this.#jobs.get(task.id);
    if (running && sameTask(running.task, task)) return running;
    running?.abort.abort(new Error(`zeroing of ${task.id} superseded`));
    const abort = new AbortController();
    let zeroed = 0;
    const run = async (): Promise<void> => {
      const started = performance.now();
      this.#log.info({ volumeId: task.id, fromBytes: task.fromBytes, toBytes: task.toBytes }, 'zeroing a volume\'s blocks before anyone reads them');
      for (let offset = task.fromBytes; offset < task.toBytes; offset += this.#chunkBytes) {
        abort.signal.throwIfAborted();
        const length = Math.min(this.#chunkBytes, task.toBytes - offset);
        await this.#zeroer.zeroRange(task.devicePath, offset, length, abort.signal);
        zeroed += length;
        // A kill here leaves the LV tagged: it is never exported, and the retry zeroes it again.
        crashPoint('agent.zero-volume.after-chunk');
      }
      abort.signal.throwIfAborted();
      await finish(abort.signal);
      this.#log.info({ volumeId: task.id, bytes: task.toBytes - task.fromBytes, ms: Math.round(performance.now() - started) }, 'volume zeroed');
    };
    const job: RunningJob = { task, abort, done: run(), zeroedBytes: () => zeroed };
    this.#jobs.set(task.id, job);
    const forget = () => {
      if (this.#jobs.get(task.id) === job) this.#jobs.delete(task.id);
    };
    job.done.then(forget, (err: unknown) => {
      forget();
      if (!abort.signal.aborted) this.#log.warn({ volumeId: task.id, err }, 'zeroing a volume failed; the next create or expand of it starts over');
    });
    return job;
  }

  /** Stops the job of this id, if any, and waits until it has let go of the device. */
  async cancel(id: string): Promise<void> {
    const job = this.#jobs.get(id);
    if (!job) return;
    job.abort.abort(new Error(`zeroing of ${id} cancelled`));
    await job.done.catch(() => undefined);
  }

  isRunning(id: string): boolean {
    return this.#jobs.has(id);
  }
}

function sameTask(a: ZeroingTask, b: ZeroingTask): boolean {
  return a.lvUuid === b.lvUuid && a.devicePath === b.devicePath && a.fromBytes === b.fromBytes && a.toBytes === b.toBytes;
}
