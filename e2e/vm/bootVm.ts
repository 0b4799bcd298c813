import { constants, accessSync } from 'node:fs';
import path from 'node:path';
import { GuestConsole } from './GuestConsole.ts';
import { PollTimeoutError, pollUntil } from './poll.ts';
import { QemuProcess, describeQemuExit } from './qemu.ts';
import type { QemuConfig } from './qemu.ts';

/** The first line init.sh prints: proof that the kernel booted and ran our /init. */
export const FIRST_INIT_MARKER = /vbs-e2e: stage init$/;
const KVM_PROBE_TIMEOUT_MS = 30_000;

export interface BootOptions {
  readonly config: Omit<QemuConfig, 'accel'>;
  readonly requestedAccel: 'tcg' | 'kvm';
  readonly runDir: string;
  /** Absolute (Date.now()) deadline for the whole run; qemu is killed when it passes. */
  readonly deadlineMs: number;
  readonly echo?: (text: string) => void;
}

export interface BootedVm {
  readonly qemu: QemuProcess;
  /** Why KVM was not used although requested, or undefined. */
  readonly kvmFallbackReason: string | undefined;
}

/**
 * Starts the VM. TCG unless KVM is asked for; KVM is then only kept if that boot reaches init's
 * first marker within 30 s, because on these machines a KVM guest aborts or hangs silently
 * (docs/test-bed.md). On fallback the TCG boot starts from scratch; the probe
 * never got as far as boot.sh, so it wrote nothing to the results folder.
 */
export async function bootVm(opts: BootOptions): Promise<BootedVm> {
  const start = (accel: 'tcg' | 'kvm', consoleFile: string): QemuProcess =>
    new QemuProcess(
      { ...opts.config, accel },
      new GuestConsole(path.join(opts.runDir, consoleFile), opts.echo),
      Math.max(1, opts.deadlineMs - Date.now()),
    );

  if (opts.requestedAccel === 'tcg') return { qemu: start('tcg', 'console.log'), kvmFallbackReason: undefined };

  const kvmProblem = checkKvmDevice();
  if (kvmProblem !== undefined) return { qemu: start('tcg', 'console.log'), kvmFallbackReason: kvmProblem };

  const probe = start('kvm', 'console.kvm.log');
  try {
    await pollUntil(
      () => {
        if (probe.console.find(FIRST_INIT_MARKER)) return true;
        if (probe.exit) throw new Error(`the KVM guest stopped before init: ${describeQemuExit(probe.exit)}`);
        return undefined;
      },
      { deadlineMs: Math.min(Date.now() + KVM_PROBE_TIMEOUT_MS, opts.deadlineMs), what: 'the KVM guest to reach init' },
    );
    return { qemu: probe, kvmFallbackReason: undefined };
  } catch (err: unknown) {
    await probe.stop();
    const reason = err instanceof PollTimeoutError
      ? `no init marker within ${KVM_PROBE_TIMEOUT_MS / 1000} s`
      : err instanceof Error ? err.message : String(err);
    // The probe's console stays in console.kvm.log for whoever debugs KVM.
    return { qemu: start('tcg', 'console.log'), kvmFallbackReason: `${reason} (console: ${probe.console.filePath})` };
  }
}

function checkKvmDevice(): string | undefined {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return undefined;
  } catch {
    return '/dev/kvm is missing or not accessible';
  }
}
