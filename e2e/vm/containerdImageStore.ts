import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { storeTarArgs } from './storeArchive.ts';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKubernetes, KUBE_COMPONENTS, kubeBinaryPath } from '../../scripts/build-kubernetes.ts';
import { pollUntil } from './poll.ts';
import { VBS_CSI_ARCHIVE, buildTestImages } from './testImages.ts';

/**
 * The test bed's images imported on the host into a containerd root directory that the guest copies
 * (docs/kubernetes-test-bed.md, "Images"), as imageStore.ts does for podman: importing and unpacking
 * them inside the TCG guest would take minutes (podman load of the 450 MiB vbs-csi image: 319 s there,
 * 11 s here). The host runs the containerd of scripts/build-kubernetes.ts with a temporary config (its
 * own root, state and socket, no CRI), `ctr -n k8s.io images import` unpacks each archive for the
 * snapshotter the guest's CRI uses, and containerd stops. Redone only when an archive's inputs, the
 * containerd build or this file changed (the store's inputs stamp).
 */
export const CONTAINERD_STORE = '.e2e-work/containerd-store';
/** The containerd root inside CONTAINERD_STORE: the directory the guest copies and names as `root`. */
export const CONTAINERD_STORE_ROOT = `${CONTAINERD_STORE}/root`;
export const CONTAINERD_STORE_ARCHIVE = `${CONTAINERD_STORE}/root.tar`;
/** The namespace CRI keeps its images in; images elsewhere are invisible to the kubelet. */
export const K8S_NAMESPACE = 'k8s.io';
/** What `npm run image` tags (scripts/build-image.sh: localhost/vbs-csi:<package.json version>). */
export const VBS_CSI_IMAGE_REPOSITORY = 'localhost/vbs-csi';

export type Snapshotter = 'overlayfs' | 'native';

/** The sockets' paths must fit sockaddr_un's 108 bytes (unix(7)). */
const MAX_SOCKET_PATH = 100;

/**
 * A containerd config (version 3, containerd 2.x) for importing only: private root, state and socket;
 * no CRI, NRI or /opt plugin (they would open sockets or create directories outside the given ones);
 * `imports = []` so the host's /etc/containerd/conf.d does not apply.
 */
export function importConfig(root: string, state: string): string {
  const address = join(state, 'containerd.sock');
  for (const path of [root, state]) if (!/^\/[A-Za-z0-9._/-]+$/.test(path)) throw new Error(`containerd paths must be absolute and plain: ${JSON.stringify(path)}`);
  if (address.length + '.ttrpc'.length > MAX_SOCKET_PATH) throw new Error(`containerd socket path too long for a unix socket: ${address}`);
  const q = (s: string) => `'${s}'`;
  return [
    'version = 3',
    `root = ${q(root)}`,
    `state = ${q(state)}`,
    'imports = []',
    `disabled_plugins = [${['io.containerd.grpc.v1.cri', 'io.containerd.cri.v1.images', 'io.containerd.cri.v1.runtime', 'io.containerd.podsandbox.controller.v1.podsandbox', 'io.containerd.nri.v1.nri', 'io.containerd.internal.v1.opt'].map(q).join(', ')}]`,
    '[grpc]',
    `  address = ${q(address)}`,
    '[ttrpc]',
    `  address = ${q(`${address}.ttrpc`)}`,
    '',
  ].join('\n');
}

/** ctr's global options: the private socket, CRI's namespace. */
export function ctrArgs(address: string, ...command: string[]): string[] {
  return ['--address', address, '--namespace', K8S_NAMESPACE, ...command];
}

/**
 * Imports one archive, unpacked for `snapshotter` (the image's name comes from the archive's ref.name
 * annotation). --discard-unpacked-layers: the layer blobs go once unpacked, halving the store the guest
 * copies into its RAM (containers run from the snapshots; CRI's own discard_unpacked_layers does the
 * same); it needs --local (the import runs in ctr, not through the transfer service).
 */
export function importArgs(address: string, snapshotter: Snapshotter, archive: string): string[] {
  return ctrArgs(address, 'images', 'import', '--local', '--snapshotter', snapshotter, '--discard-unpacked-layers', archive);
}

export interface StoreArchive {
  readonly ref: string;
  readonly archive: string;
  /** the archive's own inputs stamp (<archive>.inputs) */
  readonly inputs: string;
}

/** The store's inputs: every archive's name and inputs, the containerd build, the snapshotter, this file. */
export function storeInputs(archives: readonly StoreArchive[], containerdBinary: string, snapshotter: Snapshotter, builderSha256: string): string {
  const hash = createHash('sha256');
  for (const a of [...archives].sort((x, y) => x.ref.localeCompare(y.ref))) hash.update(`${a.ref}\0${a.inputs.length}:${a.inputs}\0`);
  return `${JSON.stringify({ archives: hash.digest('hex'), refs: archives.map((a) => a.ref).sort(), containerd: containerdBinary, snapshotter, builderSha256 })}\n`;
}

/** A containerd started on `config`, ready when ctr answers on its socket. */
export async function startContainerd(containerd: string, ctr: string, config: string, address: string, logFile: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const fd = openSync(logFile, 'a');
  const child = spawn(containerd, ['--config', config], { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `containerd exited (${signal ?? code}); its log: ${logFile}`));
  child.on('error', (err) => (exited = `containerd did not start: ${err.message}`));
  await pollUntil(
    () => {
      if (exited) throw new Error(exited);
      if (!existsSync(address)) return undefined;
      try {
        execFileSync(ctr, ['--address', address, 'version'], { stdio: 'ignore', timeout: 10_000 });
        return true;
      } catch {
        return undefined;
      }
    },
    { deadlineMs: Date.now() + 30_000, what: `containerd answering on ${address} (log: ${logFile})`, intervalMs: 100 },
  );
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited in 20 s. */
export async function stopContainerd(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

export interface ContainerdImageStore {
  /** the containerd root to copy (absolute) */
  readonly root: string;
  /**
   * The same root as one tar file (xattrs and whiteout devices kept): the guest unpacks it instead of
   * copying the tree, because every file read over 9p costs round trips under emulation (a `cp -a` of
   * the tree took 107 s in the guest).
   */
  readonly archive: string;
  readonly snapshotter: Snapshotter;
  readonly refs: readonly string[];
  readonly rebuilt: boolean;
}

/** The containerd, shim and ctr binaries of scripts/build-kubernetes.ts (built if missing; a few seconds with warm Go caches). */
export function containerdBinaries(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): { containerd: string; shim: string; ctr: string } {
  const components = KUBE_COMPONENTS.filter((c) => c.dir === 'containerd');
  buildKubernetes(components, log, env);
  const path = (name: string) => kubeBinaryPath(components.find((c) => c.name === name)!, env);
  return { containerd: path('containerd'), shim: path('containerd-shim-runc-v2'), ctr: path('ctr') };
}

async function importAll(projectRoot: string, archives: readonly StoreArchive[], snapshotter: Snapshotter, bins: { containerd: string; ctr: string }, log: (line: string) => void): Promise<void> {
  const store = join(projectRoot, CONTAINERD_STORE);
  const root = join(projectRoot, CONTAINERD_STORE_ROOT);
  rmSync(store, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  // The state (sockets) in /tmp: a deep checkout's .e2e-work path could pass the socket's length limit.
  const state = mkdtempSync(join(tmpdir(), 'vbs-ctd-'));
  const config = join(store, 'import-config.toml');
  writeFileSync(config, importConfig(root, state));
  const address = join(state, 'containerd.sock');
  const child = await startContainerd(bins.containerd, bins.ctr, config, address, join(store, 'containerd.log'));
  try {
    for (const a of archives) {
      const started = performance.now();
      execFileSync(bins.ctr, importArgs(address, snapshotter, a.archive), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
      log(`containerd store: imported ${a.ref} (${snapshotter}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const listed = execFileSync(bins.ctr, ctrArgs(address, 'images', 'ls', '--quiet'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).split('\n').filter((l) => l !== '');
    const missing = archives.filter((a) => !listed.includes(a.ref));
    if (missing.length > 0) throw new Error(`containerd store: after import, ctr images ls lacks ${missing.map((a) => a.ref).join(', ')} (it lists ${listed.join(', ')})`);
  } finally {
    await stopContainerd(child);
    rmSync(state, { recursive: true, force: true });
  }
}

/**
 * Builds the test images (testImages.ts) and imports them with the vbs-csi image of `npm run image`
 * into CONTAINERD_STORE_ROOT, unless the stamp says it is current. overlayfs first (what the guest's
 * CRI uses by default); if the host cannot (no overlayfs, or a root on overlayfs), native, which the
 * guest must then name as its snapshotter: see the result.
 */
export async function prepareContainerdImageStore(projectRoot: string, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<ContainerdImageStore> {
  const vbsCsi = join(projectRoot, VBS_CSI_ARCHIVE);
  if (!existsSync(`${vbsCsi}.inputs`)) throw new Error(`${VBS_CSI_ARCHIVE} is missing: run \`npm run image\``);
  const archives: StoreArchive[] = [
    { ref: vbsCsiRef(vbsCsi), archive: vbsCsi, inputs: readFileSync(`${vbsCsi}.inputs`, 'utf8') },
    ...buildTestImages(projectRoot, log, env).map(({ ref, archive }) => ({ ref, archive, inputs: readFileSync(`${archive}.inputs`, 'utf8') })),
  ];
  const bins = containerdBinaries(log, env);
  const builderSha256 = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex');
  const root = join(projectRoot, CONTAINERD_STORE_ROOT);
  const stamp = join(projectRoot, `${CONTAINERD_STORE}.inputs`);
  const refs = archives.map((a) => a.ref);
  for (const snapshotter of ['overlayfs', 'native'] as const) {
    const inputs = storeInputs(archives, bins.containerd, snapshotter, builderSha256);
    if (existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs && existsSync(root)) {
      log(`containerd store: up to date (${CONTAINERD_STORE_ROOT}, ${snapshotter})`);
      return { root, archive: archiveRoot(projectRoot, false), snapshotter, refs, rebuilt: false };
    }
  }
  rmSync(stamp, { force: true });
  const started = performance.now();
  let snapshotter: Snapshotter = 'overlayfs';
  try {
    await importAll(projectRoot, archives, snapshotter, bins, log);
  } catch (err: unknown) {
    const message = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    if (!/overlay/i.test(message)) throw new Error(`containerd store: ${message} (containerd's log: ${CONTAINERD_STORE}/containerd.log)`);
    log(`containerd store: importing for overlayfs failed (${message.split('\n').at(-1)}); using the native snapshotter, which the guest must then use too`);
    snapshotter = 'native';
    await importAll(projectRoot, archives, snapshotter, bins, log);
  }
  writeFileSync(stamp, storeInputs(archives, bins.containerd, snapshotter, builderSha256));
  log(`containerd store: ${archives.length} images in ${CONTAINERD_STORE_ROOT} (${snapshotter}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { root, archive: archiveRoot(projectRoot, true), snapshotter, refs, rebuilt: true };
}

/** The root as CONTAINERD_STORE_ARCHIVE, made again when the store was rebuilt or the archive is missing. */
function archiveRoot(projectRoot: string, rebuilt: boolean): string {
  const archive = join(projectRoot, CONTAINERD_STORE_ARCHIVE);
  if (!rebuilt && existsSync(archive)) return archive;
  const partial = `${archive}.partial`;
  execFileSync('tar', storeTarArgs('create', partial, join(projectRoot, CONTAINERD_STORE_ROOT)), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  renameSync(partial, archive);
  return archive;
}


/** The name the vbs-csi archive carries (its index's org.opencontainers.image.ref.name), checked to be localhost/vbs-csi:<tag>. */
export function vbsCsiRef(archive: string): string {
  const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' })) as { manifests: { annotations?: Record<string, string> }[] };
  const ref = index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'] ?? '';
  if (!ref.startsWith(`${VBS_CSI_IMAGE_REPOSITORY}:`)) throw new Error(`${archive} is named ${JSON.stringify(ref)}, not ${VBS_CSI_IMAGE_REPOSITORY}:<tag>: rebuild it with \`npm run image\``);
  return ref;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  prepareContainerdImageStore(projectRoot, (line) => console.error(line)).then(
    (store) => console.log(JSON.stringify(store)),
    (err: unknown) => {
      console.error(`containerd store: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
