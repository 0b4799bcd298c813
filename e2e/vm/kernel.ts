import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface GuestKernel {
  /** e.g. "6.1.0-56-amd64" */
  readonly version: string;
  readonly imagePath: string;
  readonly modulesDir: string;
}

const BOOT_DIR = '/boot';
const MODULES_ROOT = '/lib/modules';

/**
 * The kernel the guest boots: the newest /boot/vmlinuz-<ver> whose modules are installed.
 * That is Debian's linux-image-amd64, not the host's running kernel (which has no /boot image
 * and no device-mapper, LIO or iSCSI modules here). Returns undefined when there is none.
 */
export function findGuestKernel(bootDir = BOOT_DIR, modulesRoot = MODULES_ROOT): GuestKernel | undefined {
  const names = existsSync(bootDir) ? readdirSync(bootDir) : [];
  const candidates = names
    .filter((name) => name.startsWith('vmlinuz-'))
    .map((name) => name.slice('vmlinuz-'.length))
    .filter((version) => existsSync(path.join(modulesRoot, version, 'kernel')))
    .sort(compareKernelVersions);
  const version = candidates.at(-1);
  if (version === undefined) return undefined;
  return {
    version,
    imagePath: path.join(bootDir, `vmlinuz-${version}`),
    modulesDir: path.join(modulesRoot, version),
  };
}

/** Orders "6.1.0-9-amd64" before "6.1.0-56-amd64": numeric runs compare as numbers. */
export function compareKernelVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
