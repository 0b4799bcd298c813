import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The image of `npm run image`, loaded on the host into a containers-storage directory (overlay
 * driver) that the guest copies into its tmpfs: `podman load` inside the TCG guest took 319 s
 * (reading, hashing and unpacking 449 MiB under emulation), on the host about 11 s. Loaded again
 * only when the archive changed (its inputs stamp). Without overlayfs on the host the load fails
 * and the guest loads the archive itself (slow, same result).
 */
export const IMAGE_STORE = '.e2e-work/image/store';
const ARCHIVE = '.e2e-work/image/vbs-csi.oci.tar';

export function prepareImageStore(projectRoot: string, log: (line: string) => void): void {
  const store = join(projectRoot, IMAGE_STORE);
  const stamp = `${store}.inputs`;
  const inputs = readFileSync(join(projectRoot, `${ARCHIVE}.inputs`), 'utf8');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs) {
    log('vbs-e2e: image store up to date');
    return;
  }
  rmSync(store, { recursive: true, force: true });
  rmSync(stamp, { force: true });
  // podman refuses a runroot longer than 50 characters.
  const run = '/tmp/vbs-e2e-image-run';
  try {
    execFileSync('podman', ['--root', join(store, 'storage'), '--runroot', run, '--storage-driver=overlay', 'load', '-q', '-i', join(projectRoot, ARCHIVE)], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  } catch (err: unknown) {
    rmSync(store, { recursive: true, force: true });
    log(`vbs-e2e: no image store (the guest loads the archive itself): ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  // libpod's database records the graph root's path; the guest's podman makes its own.
  rmSync(join(store, 'storage', 'libpod'), { recursive: true, force: true });
  rmSync(run, { recursive: true, force: true });
  writeFileSync(stamp, inputs);
  log(`vbs-e2e: image loaded into ${IMAGE_STORE}`);
}
