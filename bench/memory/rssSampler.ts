import { readFile } from 'node:fs/promises';
import { parseProcStatus } from './procStatus.ts';
import type { ProcMemory } from './procStatus.ts';

/** Reads /proc/<pid>/status; replaced in tests. */
export type StatusReader = (pid: number) => Promise<string>;

export const readProcStatus: StatusReader = (pid) => readFile(`/proc/${pid}/status`, 'utf8');

/** What the sampler saw of VmRSS between start() and stop(). */
export interface RssTrace {
  readonly samples: number;
  readonly firstRssKiB: number;
  readonly peakRssKiB: number;
  readonly lastRssKiB: number;
}

/**
 * Samples a process's VmRSS on an interval (one read at a time: a slow read delays the next tick
 * rather than piling up) and keeps the first, largest and last figure. stop() takes one last
 * sample, so a phase shorter than the interval still has one. A failed read (the process died)
 * is kept and thrown by stop(): a trace with holes would understate the peak.
 */
export class RssSampler {
  readonly #pid: number;
  readonly #intervalMs: number;
  readonly #read: StatusReader;
  #timer: NodeJS.Timeout | undefined;
  #pending: Promise<void> | undefined;
  #error: unknown;
  #samples = 0;
  #first = 0;
  #peak = 0;
  #last = 0;

  constructor(opts: { readonly pid: number; readonly intervalMs?: number; readonly read?: StatusReader }) {
    this.#pid = opts.pid;
    this.#intervalMs = opts.intervalMs ?? 20;
    this.#read = opts.read ?? readProcStatus;
  }

  /** One reading of the process's figures, not recorded in the trace. */
  async read(): Promise<ProcMemory> {
    return parseProcStatus(await this.#read(this.#pid));
  }

  /** Reads VmRSS once and records it. */
  async sample(): Promise<void> {
    const { vmRssKiB } = await this.read();
    if (this.#samples === 0) this.#first = vmRssKiB;
    this.#samples++;
    this.#peak = Math.max(this.#peak, vmRssKiB);
    this.#last = vmRssKiB;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#pending !== undefined) return;
      this.#pending = this.sample()
        .catch((err: unknown) => {
          this.#error ??= err;
        })
        .finally(() => {
          this.#pending = undefined;
        });
    }, this.#intervalMs);
  }

  async stop(): Promise<RssTrace> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pending;
    if (this.#error !== undefined) throw this.#error;
    await this.sample();
    return { samples: this.#samples, firstRssKiB: this.#first, peakRssKiB: this.#peak, lastRssKiB: this.#last };
  }
}
