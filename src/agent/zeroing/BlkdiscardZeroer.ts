import { InvalidArgumentError } from '../../errors.ts';
import type { CommandRunner } from '../../exec/index.ts';
import type { DeviceZeroer } from './ZeroingJobs.ts';

/** `/dev/<vg>/<lv>` as lvm names an active LV; nothing else is ever zeroed. */
const LV_DEVICE = /^\/dev\/[A-Za-z0-9+_.][A-Za-z0-9+_.-]*\/[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/;

/**
 * Zeroes with `blkdiscard --zeroout`, the BLKZEROOUT ioctl: the kernel issues WRITE ZEROES where
 * the device supports it (fast, often without writing every block) and otherwise writes zero
 * pages itself, so the range reads as zeroes either way (blkdev_issue_zeroout, block/blk-lib.c).
 * Unlike a plain discard it never depends on the device's discard_zeroes_data promise.
 * `--force` skips blkdiscard's check for a filesystem signature on the device: the LV was just
 * created by the agent, and any signature on it is the previous tenant's, which is what is erased.
 */
export class BlkdiscardZeroer implements DeviceZeroer {
  readonly #runner: CommandRunner;
  readonly #bytesPerSecondFloor: number;

  /** `bytesPerSecondFloor` sets each chunk's timeout: the slowest rate still taken for progress (default 8 MiB/s), plus 60 s. */
  constructor(opts: { readonly runner: CommandRunner; readonly bytesPerSecondFloor?: number }) {
    this.#runner = opts.runner;
    this.#bytesPerSecondFloor = opts.bytesPerSecondFloor ?? 8 * 1024 * 1024;
  }

  async zeroRange(devicePath: string, offsetBytes: number, lengthBytes: number, signal: AbortSignal): Promise<void> {
    if (!LV_DEVICE.test(devicePath) || devicePath.split('/').some((part) => part === '.' || part === '..')) throw new InvalidArgumentError(`${JSON.stringify(devicePath)} is not an LV device path`);
    for (const [what, n] of [['offset', offsetBytes], ['length', lengthBytes]] as const) {
      if (!Number.isSafeInteger(n) || n < 0 || n % 512 !== 0) throw new InvalidArgumentError(`zeroing ${what} must be a whole number of 512-byte sectors, got ${n}`);
    }
    if (lengthBytes === 0) return;
    const timeoutMs = 60_000 + Math.ceil((lengthBytes / this.#bytesPerSecondFloor) * 1000);
    await this.#runner.run({ file: 'blkdiscard', args: ['--zeroout', '--force', '--offset', String(offsetBytes), '--length', String(lengthBytes), devicePath], timeoutMs }, signal);
  }
}
