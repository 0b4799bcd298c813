import type { Logger } from 'pino';
import type { IoLoad__Output } from '../../generated/vbs/agent/v1/IoLoad.ts';
import { listVgBlockDevices, readBlockStat } from './blockDevices.ts';
import type { BlockDevice, BlockDeviceOptions, PhysicalVolumeSource } from './blockDevices.ts';
import { ZERO_RATES, aggregateLoad, computeDeviceLoad, smooth } from './ioLoad.ts';
import type { BlockStat, DeviceRates } from './ioLoad.ts';

export interface IoLoadSamplerOptions extends BlockDeviceOptions {
  /** Where the VG's PVs come from (Lvm). */
  readonly lvm: PhysicalVolumeSource;
  readonly log: Logger;
  /** Time between samples; default 2000. */
  readonly intervalMs?: number;
  /** The smoothing window; default 30. */
  readonly windowS?: number;
  /**
   * Re-read the PV list from lvm every this many samples (PVs can be added); default 150, 5 min at
   * the default interval: `pvs` scans every device of the host, and under a burst of creates it
   * took 5 s a call in the test bed, competing with the lvcreates for the CPU and lvm's locks.
   */
  readonly refreshEverySamples?: number;
  /** A monotonic clock in milliseconds; default performance.now. */
  readonly now?: () => number;
}

/** What the sampler remembers of one device. */
interface DeviceState {
  last: BlockStat | undefined;
  lastAtMs: number;
  smoothed: DeviceRates | undefined;
}

/**
 * Samples the counters of the VG's physical volumes every `intervalMs` and keeps their load
 * smoothed over `windowS` (ioLoad.ts), for GetNodeStatus and placement. The timer is unref'd,
 * so the sampler never keeps the process alive; a sample that fails is logged and skipped.
 *
 * Each sample, in order:
 *   1. on the first sample, every `refreshEverySamples` samples and while lvm has never
 *      answered: re-read the PV list and map it to block devices (blockDevices.ts);
 *   2. read every device's stat; a device read for the first time (or after a failed read)
 *      only sets its baseline;
 *   3. for the others: the rates since their last reading, folded into their smoothed load.
 */
export class IoLoadSampler {
  readonly #lvm: PhysicalVolumeSource;
  readonly #log: Logger;
  readonly #deviceOptions: BlockDeviceOptions;
  readonly #intervalMs: number;
  readonly #windowS: number;
  readonly #refreshEverySamples: number;
  readonly #now: () => number;
  #devices: BlockDevice[] = [];
  readonly #states = new Map<string, DeviceState>();
  #hasDevices = false;
  #samplesSinceRefresh = 0;
  #samplesTaken = 0;
  #lastProblems = '';
  #timer: NodeJS.Timeout | undefined;
  #abort: AbortController | undefined;
  #inFlight: Promise<void> | undefined;

  constructor(opts: IoLoadSamplerOptions) {
    this.#lvm = opts.lvm;
    this.#log = opts.log;
    this.#deviceOptions = {
      ...(opts.sysfsRoot !== undefined ? { sysfsRoot: opts.sysfsRoot } : {}),
      ...(opts.realpath !== undefined ? { realpath: opts.realpath } : {}),
    };
    this.#intervalMs = opts.intervalMs ?? 2_000;
    this.#windowS = opts.windowS ?? 30;
    this.#refreshEverySamples = opts.refreshEverySamples ?? 150;
    this.#now = opts.now ?? (() => performance.now());
    if (!(Number.isFinite(this.#intervalMs) && this.#intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${this.#intervalMs}`);
    if (!(Number.isFinite(this.#windowS) && this.#windowS > 0)) throw new RangeError(`windowS must be positive, got ${this.#windowS}`);
    if (!(Number.isInteger(this.#refreshEverySamples) && this.#refreshEverySamples > 0)) {
      throw new RangeError(`refreshEverySamples must be a positive integer, got ${this.#refreshEverySamples}`);
    }
  }

  get windowSeconds(): number {
    return this.#windowS;
  }

  /** Samples completed so far (a device's load appears from its second reading on). */
  get samplesTaken(): number {
    return this.#samplesTaken;
  }

  /** The smoothed load of every device and of the node; zeros until a device has two readings. */
  current(): IoLoad__Output {
    const devices = this.#devices.map((d) => ({ device: d.name, ...(this.#states.get(d.name)?.smoothed ?? ZERO_RATES) }));
    return aggregateLoad(devices, this.#windowS);
  }

  /** Takes the first sample now and the next ones every intervalMs, until stop(). Starting twice is a no-op. */
  start(): void {
    if (this.#abort) return;
    const abort = new AbortController();
    this.#abort = abort;
    const tick = async (): Promise<void> => {
      try {
        await this.sample(abort.signal);
      } catch (err: unknown) {
        // sample() catches what it expects; anything else must not end the loop or the process.
        this.#log.error({ err }, 'I/O load sample failed');
      }
      if (abort.signal.aborted) return;
      this.#timer = setTimeout(() => void tick(), this.#intervalMs);
      this.#timer.unref();
    };
    void tick();
  }

  /** Stops sampling and cancels a PV refresh in flight; resolves once a sample in flight is over. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#abort = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  /** One sample (steps in the class comment). Never throws: failures are logged. Exposed for tests and callers that drive their own clock. */
  async sample(signal?: AbortSignal): Promise<void> {
    const run = this.#sample(signal);
    this.#inFlight = run;
    try {
      await run;
    } finally {
      if (this.#inFlight === run) this.#inFlight = undefined;
    }
  }

  async #sample(signal: AbortSignal | undefined): Promise<void> {
    if (!this.#hasDevices || this.#samplesSinceRefresh >= this.#refreshEverySamples) await this.#refreshDevices(signal);
    this.#samplesSinceRefresh += 1;
    await Promise.all(this.#devices.map((device) => this.#sampleDevice(device)));
    this.#samplesTaken += 1;
  }

  async #refreshDevices(signal: AbortSignal | undefined): Promise<void> {
    try {
      const { devices, problems } = await listVgBlockDevices(this.#lvm, this.#deviceOptions, signal);
      this.#devices = devices;
      this.#hasDevices = true;
      this.#samplesSinceRefresh = 0;
      for (const name of this.#states.keys()) {
        if (!devices.some((d) => d.name === name)) this.#states.delete(name);
      }
      const summary = problems.join('; ');
      if (summary !== this.#lastProblems) {
        if (problems.length > 0) this.#log.warn({ problems }, 'some physical volumes have no I/O counters; their load is not counted');
        else this.#log.info({ devices: devices.map((d) => d.name) }, 'I/O load: every physical volume is sampled again');
        this.#lastProblems = summary;
      }
    } catch (err: unknown) {
      if (signal?.aborted) return;
      this.#log.warn({ err }, 'cannot list the physical volumes; I/O load keeps the previous device list');
    }
  }

  async #sampleDevice(device: BlockDevice): Promise<void> {
    let stat: BlockStat;
    try {
      stat = await readBlockStat(device);
    } catch (err: unknown) {
      this.#log.warn({ err, device: device.name }, 'cannot read block device counters');
      const state = this.#states.get(device.name);
      if (state) state.last = undefined;
      return;
    }
    const at = this.#now();
    const state = this.#states.get(device.name);
    if (!state) {
      this.#states.set(device.name, { last: stat, lastAtMs: at, smoothed: undefined });
      return;
    }
    if (state.last) {
      const elapsedMs = at - state.lastAtMs;
      state.smoothed = smooth(state.smoothed, computeDeviceLoad(state.last, stat, elapsedMs), elapsedMs, this.#windowS);
    }
    state.last = stat;
    state.lastAtMs = at;
  }
}
