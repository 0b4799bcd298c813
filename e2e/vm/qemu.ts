import { execa } from 'execa';
import type { GuestConsole } from './GuestConsole.ts';

export const QEMU_BINARY = 'qemu-system-x86_64';

export interface QemuConfig {
  readonly accel: 'tcg' | 'kvm';
  readonly kernelImagePath: string;
  readonly initramfsPath: string;
  /** Passed to the guest's /init as vbs.root= (where boot.sh is in the shared root). */
  readonly projectRoot: string;
  /** Host folder the guest writes results to (9p tag "out"). */
  readonly outDir: string;
  /**
   * Guest connections to these addresses reach host loopback ports (the cluster scenarios' API server,
   * docs/kubernetes-test-bed.md). None: the guest has no network device at all.
   */
  readonly guestForwards?: readonly GuestForward[];
}

/** A TCP address inside the guest's user network that qemu connects to 127.0.0.1:hostPort on the host. */
export interface GuestForward {
  readonly guestAddress: string;
  readonly guestPort: number;
  readonly hostPort: number;
}

/** qemu's user network: the guest is 10.0.2.15, the gateway 10.0.2.2 (https://wiki.qemu.org/Documentation/Networking). */
export const GUEST_NETWORK = { guestAddress: '10.0.2.15', prefixLength: 24, gateway: '10.0.2.2' } as const;

/**
 * A guest CPU spinning in the kernel this long is a lockup, not emulation being slow: the kernel
 * reports a soft lockup after twice watchdog_thresh (default 10 s); 60 s leaves room for a noisy host.
 */
const WATCHDOG_THRESH_S = 30;

/**
 * Pure: the qemu command line, as proven in docs/test-bed.md. Kernel messages are cut to errors and
 * worse (loglevel=4): a full boot log over the emulated serial port costs seconds and buries our
 * markers. panic=-1 with -no-reboot turns a guest panic into qemu exiting at once.
 *
 * A soft lockup panics (softlockup_panic=1): a locked guest never recovers, and waiting for the
 * scenario's deadline cost a CI run 30 minutes. The lockup's stack traces are printed at the default
 * level, below loglevel=4, so the panic replays the whole kernel log (panic_print=0x20, after the
 * panic raised the console level) with every CPU's backtrace (softlockup_all_cpu_backtrace=1).
 * https://docs.kernel.org/admin-guide/kernel-parameters.html
 */
export function buildQemuArgs(config: QemuConfig): string[] {
  if (/\s/.test(config.projectRoot)) throw new Error(`the project root may not contain spaces (kernel command line): ${config.projectRoot}`);
  const cmdline = [
    'console=ttyS0',
    'panic=-1',
    'loglevel=4',
    'softlockup_panic=1',
    'softlockup_all_cpu_backtrace=1',
    `watchdog_thresh=${WATCHDOG_THRESH_S}`,
    'panic_print=0x20',
    `vbs.root=${config.projectRoot}`,
  ].join(' ');
  return [
    '-name', 'vbs-e2e',
    '-machine', `q35,accel=${config.accel}`,
    '-cpu', 'max',
    '-smp', '2',
    '-m', '3072',
    '-nographic',
    '-no-reboot',
    '-kernel', config.kernelImagePath,
    '-initrd', config.initramfsPath,
    '-append', cmdline,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${escapeOptionValue(config.outDir)},mount_tag=out,security_model=none,multidevs=remap`,
    ...networkArgs(config.guestForwards ?? []),
  ];
}

/**
 * Pure: no forwards, no network device. Otherwise qemu's user network with restrict=on: the guest
 * reaches nothing but the forwarded ports (no route to the host or beyond; explicit forwards still
 * work, https://www.qemu.org/docs/master/system/invocation.html#hxtool-5), so a test can never send
 * traffic off the machine.
 */
export function networkArgs(forwards: readonly GuestForward[]): string[] {
  if (forwards.length === 0) return ['-nic', 'none'];
  const rules = forwards.map((f) => {
    if (!/^10\.0\.2\.\d{1,3}$/.test(f.guestAddress)) throw new Error(`a guest forward must be inside qemu's user network 10.0.2.0/24: ${f.guestAddress}`);
    for (const port of [f.guestPort, f.hostPort]) if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port in a guest forward: ${port}`);
    return `guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:socat STDIO TCP:127.0.0.1:${f.hostPort}`;
  });
  return ['-nic', ['user', 'model=virtio-net-pci', 'restrict=on', ...rules].join(',')];
}

/** qemu option values escape a comma by doubling it. */
function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export interface QemuExit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly isTimedOut: boolean;
}

/** A running qemu whose output goes to a GuestConsole. */
export class QemuProcess {
  readonly pid: number | undefined;
  readonly accel: 'tcg' | 'kvm';
  readonly console: GuestConsole;
  /** Resolves when qemu is gone, however it ended. Never rejects. */
  readonly exited: Promise<QemuExit>;
  #exit: QemuExit | undefined;
  readonly #kill: () => void;

  /**
   * Starts qemu. `timeoutMs` is a hard limit: qemu is killed when it passes, so no boot can hang
   * the test run (docs/test-bed.md).
   */
  constructor(config: QemuConfig, console: GuestConsole, timeoutMs: number) {
    this.accel = config.accel;
    this.console = console;
    const subprocess = execa(QEMU_BINARY, buildQemuArgs(config), {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      timeout: timeoutMs,
      forceKillAfterDelay: 5_000,
      cleanup: true, // qemu dies with the test process
    });
    this.pid = subprocess.pid;
    this.#kill = () => subprocess.kill('SIGTERM');
    subprocess.stdout?.setEncoding('utf8').on('data', (chunk: string) => console.write(chunk));
    subprocess.stderr?.setEncoding('utf8').on('data', (chunk: string) => console.write(`[qemu stderr] ${chunk}`));
    this.exited = subprocess.then(
      (result) => {
        const exit = { exitCode: result.exitCode, signal: result.signal, isTimedOut: result.timedOut };
        this.#exit = exit;
        return exit;
      },
      (err: unknown) => {
        const exit = { exitCode: undefined, signal: `failed: ${String(err)}`, isTimedOut: false };
        this.#exit = exit;
        return exit;
      },
    );
  }

  /** undefined while qemu runs. */
  get exit(): QemuExit | undefined {
    return this.#exit;
  }

  /** Kills qemu (SIGTERM, then SIGKILL after 5 s) and waits until it is gone. */
  async stop(): Promise<QemuExit> {
    if (this.#exit === undefined) this.#kill();
    return this.exited;
  }
}

export function describeQemuExit(exit: QemuExit): string {
  if (exit.isTimedOut) return 'qemu was killed at the run timeout (VBS_E2E_TIMEOUT_S)';
  if (exit.signal !== undefined) return `qemu ended by ${exit.signal}`;
  return `qemu exited with code ${exit.exitCode}`;
}
