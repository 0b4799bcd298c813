import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCpioNewc } from './cpioNewc.ts';
import type { CpioEntry } from './cpioNewc.ts';
import type { GuestKernel } from './kernel.ts';
import { INITRAMFS_MODULES, readModuleUncompressed, resolveModuleFiles } from './kernelModules.ts';

export const BUSYBOX_PATH = '/bin/busybox';
const INIT_SCRIPT_PATH = path.join(import.meta.dirname, 'init.sh');
/** Bump when the archive layout changes in a way the inputs' hash cannot see. */
const LAYOUT_VERSION = 1;
const STALE_ARCHIVE_MS = 60 * 60 * 1000;

export interface Initramfs {
  readonly path: string;
  /** false when an archive built from the same inputs was reused. */
  readonly isFresh: boolean;
}

/**
 * Builds (or reuses) the guest's initramfs in `workDir`: busybox-static, the modules that reach
 * the shared root, and /init (./init.sh). The file name carries the kernel version and a hash of
 * every input, so a changed init.sh, busybox or kernel makes a new one; older ones are removed.
 */
export async function buildInitramfs(kernel: GuestKernel, workDir: string): Promise<Initramfs> {
  const moduleFiles = await resolveModuleFiles(kernel.version, INITRAMFS_MODULES);
  const modules = await Promise.all(
    moduleFiles.map(async (file) => ({ fileName: file.fileName, data: await readModuleUncompressed(file.sourcePath) })),
  );
  const busybox = await readFile(BUSYBOX_PATH);
  const initScript = await readFile(INIT_SCRIPT_PATH);
  const moduleList = Buffer.from(modules.map((m) => `${m.fileName}\n`).join(''));

  const hash = createHash('sha256').update(`layout ${LAYOUT_VERSION}\0`);
  for (const part of [busybox, initScript, moduleList, ...modules.map((m) => m.data)]) hash.update(part);
  const fileName = `initramfs-${kernel.version}-${hash.digest('hex').slice(0, 16)}.cpio`;
  const archivePath = path.join(workDir, fileName);
  if (existsSync(archivePath)) return { path: archivePath, isFresh: false };

  const entries: CpioEntry[] = [
    ...['/bin', '/dev', '/etc', '/lib', '/lib/modules', '/proc', '/sys'].map((dir) => ({ kind: 'dir' as const, path: dir, mode: 0o755 })),
    // The kernel opens /dev/console for PID 1's stdio before devtmpfs exists.
    { kind: 'charDevice', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
    { kind: 'file', path: BUSYBOX_PATH, mode: 0o755, data: busybox },
    { kind: 'file', path: '/init', mode: 0o755, data: initScript },
    { kind: 'file', path: '/etc/vbs-modules', mode: 0o644, data: moduleList },
    ...modules.map((m) => ({ kind: 'file' as const, path: `/lib/modules/${m.fileName}`, mode: 0o644, data: m.data })),
  ];

  mkdirSync(workDir, { recursive: true });
  // Archives of other inputs are removed once old: a run started from another checkout state
  // moments ago may still be about to hand its archive to qemu.
  for (const other of readdirSync(workDir).filter((name) => /^initramfs-.*\.cpio$/.test(name))) {
    const otherPath = path.join(workDir, other);
    const mtimeMs = statSync(otherPath, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (Date.now() - mtimeMs > STALE_ARCHIVE_MS) rmSync(otherPath, { force: true });
  }
  // Written under a temporary name and renamed, so an interrupted build is never reused.
  const partialPath = `${archivePath}.partial-${process.pid}`;
  writeFileSync(partialPath, buildCpioNewc(entries));
  renameSync(partialPath, archivePath);
  return { path: archivePath, isFresh: true };
}
