import type { CommandRunner } from '../exec/index.ts';

/**
 * `udevadm settle --timeout=<s>`: waits until udev has handled every queued event, so links such
 * as /dev/disk/by-id and /dev/mapper nodes exist and no rule still holds a device open. A settle
 * that times out (exit 1) is not an error here: the caller checks what it needs itself.
 */
export async function settleUdev(runner: CommandRunner, opts: { readonly timeoutS?: number } = {}, signal?: AbortSignal): Promise<void> {
  const timeoutS = opts.timeoutS ?? 10;
  await runner.run({ file: 'udevadm', args: ['settle', `--timeout=${timeoutS}`], timeoutMs: (timeoutS + 5) * 1000, okExitCodes: [0, 1] }, signal);
}
