import type { Command, CommandResult, CommandRunner } from './CommandRunner.ts';
import { ExecaRunner } from './ExecaRunner.ts';
import type { ExecaRunnerOptions } from './ExecaRunner.ts';

/**
 * The tools whose state is the host's, not the container's: lvm (metadata, locks in /run/lock/lvm,
 * udev cookies), dmsetup (udev cookies), iscsiadm (must match the host's iscsid and its record
 * directory) and udevadm (the host's udevd). docs/containers.md has the reasons and the peers.
 */
export const HOST_STATE_TOOLS: ReadonlySet<string> = new Set(['lvm', 'dmsetup', 'iscsiadm', 'udevadm']);

/**
 * Sends the host-state tools to `host` (a runner with an nsenter prefix) and every other command
 * (blkid, mkfs, mount, blkdiscard...) to `local`, which runs them in the container: they act on the
 * shared /dev, and mounts must happen in the container's mount namespace to propagate to kubelet
 * through the Bidirectional kubelet directory.
 */
export class HostToolsRunner implements CommandRunner {
  readonly #host: CommandRunner;
  readonly #local: CommandRunner;
  readonly #tools: ReadonlySet<string>;

  constructor(opts: { readonly host: CommandRunner; readonly local: CommandRunner; readonly tools?: ReadonlySet<string> }) {
    this.#host = opts.host;
    this.#local = opts.local;
    this.#tools = opts.tools ?? HOST_STATE_TOOLS;
  }

  run(cmd: Command, signal?: AbortSignal): Promise<CommandResult> {
    return (this.#tools.has(cmd.file) ? this.#host : this.#local).run(cmd, signal);
  }
}

/**
 * The runner a role builds: plain execa when `hostPrefix` is empty, else the host-state tools
 * through `hostPrefix` (e.g. nsenter) and everything else as it is.
 */
export function createCommandRunner(opts: { readonly log: ExecaRunnerOptions['log']; readonly hostPrefix: readonly string[] }): CommandRunner {
  const local = new ExecaRunner({ log: opts.log });
  return opts.hostPrefix.length === 0 ? local : new HostToolsRunner({ host: new ExecaRunner({ log: opts.log, prefix: opts.hostPrefix }), local });
}
