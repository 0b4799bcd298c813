/**
 * Checks that the containerd image store of e2e/vm/containerdImageStore.ts is usable from a copy, as the
 * guest uses it: copies its root with `cp -a` into a temporary directory under .e2e-work, starts the
 * built containerd on the copy, and checks that `ctr -n k8s.io images ls` lists every image, that a
 * busybox container runs (`echo ok`, with crun as the runtime binary of containerd-shim-runc-v2), and
 * that a pause container stops on SIGTERM within seconds (PID 1 with a handler). Then stops containerd
 * and removes the copy. Needs root, overlayfs (if the store uses it) and crun (Debian's).
 *
 * Usage: node scripts/check-containerd-image-store.ts   (prepares the store first if it is not current)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerdBinaries, ctrArgs, importConfig, prepareContainerdImageStore, startContainerd, stopContainerd } from '../e2e/vm/containerdImageStore.ts';
import { pollUntil } from '../e2e/vm/poll.ts';
import { BUSYBOX_IMAGE, PAUSE_IMAGE } from '../e2e/vm/testImages.ts';

/** The OCI runtime containerd-shim-runc-v2 calls (its BinaryName); VBS_CHECK_RUNTIME names another one. */
const CRUN = process.env['VBS_CHECK_RUNTIME'] || '/usr/bin/crun';

async function main(): Promise<void> {
  const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
  const log = (line: string) => console.error(line);
  const step = (() => {
    let last = performance.now();
    return (what: string) => {
      const now = performance.now();
      log(`check: ${what} (${((now - last) / 1000).toFixed(1)} s)`);
      last = now;
    };
  })();
  const store = await prepareContainerdImageStore(projectRoot, log);
  step(`store ready: ${store.root} (${store.snapshotter})`);
  const bins = containerdBinaries(() => undefined);
  const work = join(projectRoot, '.e2e-work');
  mkdirSync(work, { recursive: true });
  const copyDir = mkdtempSync(join(work, 'containerd-store-check-'));
  const state = mkdtempSync(join(tmpdir(), 'vbs-ctd-check-'));
  const root = join(copyDir, 'root');
  try {
    execFileSync('cp', ['-a', store.root, root]);
    step(`cp -a into ${root}`);
    const config = join(copyDir, 'config.toml');
    writeFileSync(config, importConfig(root, state));
    const address = join(state, 'containerd.sock');
    // containerd finds containerd-shim-runc-v2 on its PATH.
    const env = { ...process.env, PATH: `${dirname(bins.shim)}${delimiter}${process.env['PATH'] ?? ''}` };
    const child = await startContainerd(bins.containerd, bins.ctr, config, address, join(copyDir, 'containerd.log'), env);
    const ctr = (...args: string[]) => execFileSync(bins.ctr, ctrArgs(address, ...args), { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    try {
      step('containerd started on the copy');
      const listed = ctr('images', 'ls', '--quiet').split('\n').filter((l) => l !== '');
      const missing = store.refs.filter((r) => !listed.includes(r));
      if (missing.length > 0) throw new Error(`ctr images ls on the copy lacks ${missing.join(', ')}`);
      step(`ctr -n k8s.io images ls: ${listed.join(' ')}`);
      const out = ctr('run', '--rm', '--snapshotter', store.snapshotter, '--runc-binary', CRUN, BUSYBOX_IMAGE, 'vbs-check-echo', '/bin/busybox', 'echo', 'ok');
      if (out.trim() !== 'ok') throw new Error(`busybox echo ok printed ${JSON.stringify(out)}`);
      step(`ctr run ${BUSYBOX_IMAGE} /bin/busybox echo ok: ${out.trim()}`);
      ctr('run', '--detach', '--snapshotter', store.snapshotter, '--runc-binary', CRUN, PAUSE_IMAGE, 'vbs-check-pause');
      ctr('task', 'kill', '--signal', 'SIGTERM', 'vbs-check-pause');
      await pollUntil(() => (/STOPPED/.test(ctr('task', 'ls')) ? true : undefined), { deadlineMs: Date.now() + 10_000, what: 'the pause container to exit on SIGTERM' });
      ctr('task', 'delete', 'vbs-check-pause');
      ctr('containers', 'delete', 'vbs-check-pause');
      step(`${PAUSE_IMAGE} exited on SIGTERM`);
    } finally {
      await stopContainerd(child);
    }
  } finally {
    rmSync(copyDir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  const e = err as { stderr?: string; message: string };
  console.error(`check: FAILED: ${e.message}${e.stderr ? `\n${e.stderr}` : ''}`);
  process.exitCode = 1;
});
