import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { execa } from 'execa';

/**
 * What the initramfs must load, in this order, to mount the host's root over 9p (virtio-pci
 * transport) and lay an overlay on it (docs/test-bed.md).
 * Everything else (dm, LIO, iSCSI) is loaded later by modprobe from the shared root.
 */
export const INITRAMFS_MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci',
  '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p', 'overlay',
] as const;

export interface KernelModuleFile {
  /** File name inside the initramfs, always uncompressed: "virtio_ring.ko". */
  readonly fileName: string;
  readonly sourcePath: string;
}

/**
 * Resolves the module files to insmod, dependencies first and each once, by asking
 * `modprobe -S <ver> --show-depends` (it prints "insmod <path>" per file, or "builtin <name>"
 * for modules compiled into the kernel, which need nothing).
 */
export async function resolveModuleFiles(kernelVersion: string, moduleNames: readonly string[]): Promise<KernelModuleFile[]> {
  const seen = new Set<string>();
  const files: KernelModuleFile[] = [];
  for (const moduleName of moduleNames) {
    const { stdout } = await execa('modprobe', ['-S', kernelVersion, '--show-depends', moduleName], {
      env: { LC_ALL: 'C' },
      timeout: 30_000,
    });
    for (const sourcePath of parseShowDepends(stdout)) {
      if (seen.has(sourcePath)) continue;
      seen.add(sourcePath);
      files.push({ fileName: uncompressedName(sourcePath), sourcePath });
    }
  }
  return files;
}

/** Pure: `modprobe --show-depends` output → module file paths in load order. */
export function parseShowDepends(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => /^insmod\s+(\S+)/.exec(line.trim())?.[1])
    .filter((p): p is string => p !== undefined);
}

function uncompressedName(sourcePath: string): string {
  return path.basename(sourcePath).replace(/\.ko\.(xz|zst|gz)$/, '.ko');
}

/**
 * The module's bytes, decompressed: busybox's insmod cannot load .ko.xz/.ko.zst (Debian
 * compresses modules since kernel 6.x in some releases; bookworm's 6.1 ships plain .ko).
 */
export async function readModuleUncompressed(sourcePath: string): Promise<Buffer> {
  if (sourcePath.endsWith('.ko')) return readFile(sourcePath);
  if (sourcePath.endsWith('.ko.zst')) return zstdDecompressSync(await readFile(sourcePath));
  if (sourcePath.endsWith('.ko.gz')) return gunzipSync(await readFile(sourcePath));
  if (sourcePath.endsWith('.ko.xz')) {
    // node:zlib has no xz; the xz-utils binary is part of every Debian base system.
    const { stdout } = await execa('xz', ['--decompress', '--stdout', sourcePath], { encoding: 'buffer', timeout: 30_000 });
    return Buffer.from(stdout);
  }
  throw new Error(`unknown kernel module format: ${sourcePath}`);
}
