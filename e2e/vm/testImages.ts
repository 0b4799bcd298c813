import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKubernetes, KUBE_COMPONENTS, kubeBinaryPath, type KubeComponent } from '../../scripts/build-kubernetes.ts';
import { vbsCsiCacheDir } from '../../scripts/goCommand.ts';

/**
 * The container images of the Kubernetes test bed besides vbs-csi's own (docs/kubernetes-test-bed.md,
 * "Images"), built on the host without a registry into OCI archives under .e2e-work/images/:
 * - the CSI sidecars from the binaries of scripts/build-kubernetes.ts, FROM scratch
 *   with the static binary as the entrypoint, named as charts/vbs-csi/values.yaml names them, so the chart
 *   renders unchanged and the kubelet finds them already present (pullPolicy IfNotPresent);
 * - busybox (Debian's busybox-static with its applet links) for test pods, and pause, the same layer with
 *   an entrypoint that waits for SIGTERM/SIGINT, for containerd's sandbox image.
 * buildah assembles them as scripts/build-image.sh does (vfs storage in the project's cache, no daemon);
 * --timestamp 0 makes the same inputs give the same digest. Each archive is rebuilt only when its
 * inputs stamp (<archive>.inputs) changed.
 */

export const BUSYBOX_IMAGE = 'localhost/vbs-e2e/busybox:1';
/** containerd's CRI sandbox image (plugins.'io.containerd.cri.v1.images'.pinned_images.sandbox). */
export const PAUSE_IMAGE = 'localhost/vbs-e2e/pause:1';

export const TEST_IMAGES_DIR = '.e2e-work/images';

/** The archive of `npm run image` (scripts/build-image.sh). */
export const VBS_CSI_ARCHIVE = '.e2e-work/image/vbs-csi.oci.tar';
/**
 * The vbs-csi image as the cluster scenarios run it: the same layers, node started with --liftoff-only.
 * Under TCG V8 now and then crashes tiering WebAssembly up (e2e/guest/boot.sh says when and how often);
 * the chart sets only args, so the entrypoint is where the flag goes.
 */
export const VBS_CSI_TCG_IMAGE = 'localhost/vbs-csi:test-bed-tcg';
export const VBS_CSI_TCG_ENTRYPOINT = ['/usr/bin/tini', '--', 'node', '--liftoff-only', 'src/main.ts'] as const;
/**
 * Node's compile cache in the TCG image, filled at build time by e2e/vm/warmCompileCache.ts: the roles
 * then start without stripping types or compiling under emulation (docs/kubernetes-test-bed.md, "Images").
 * Only here: V8 writes the cache differently each time, and `npm run image` stays reproducible.
 */
export const VBS_CSI_COMPILE_CACHE = '/app/.node-compile-cache';
const WARMER_IN_IMAGE = '/tmp/warmCompileCache.ts';

/** Where the busybox applets come from: Debian's busybox-static, a static binary. */
export const BUSYBOX_BINARY = '/bin/busybox';

/**
 * PID 1 gets no default action for signals it has no handler for (pid_namespaces(7)): a bare `sleep`
 * would ignore the runtime's SIGTERM and make every sandbox stop wait for the SIGKILL. The shell traps
 * them; `sleep & wait` lets the trap run at once instead of after the sleep.
 */
export const PAUSE_SCRIPT = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done";

/** The sidecars that get an image, by component name of scripts/build-kubernetes.ts (snapshot-controller runs on the host, natively). */
export const SIDECAR_NAMES = ['csi-provisioner', 'csi-attacher', 'csi-resizer', 'csi-snapshotter'] as const;

export interface TestImage {
  /** the image reference it is tagged with */
  readonly ref: string;
  /** the archive's file name under TEST_IMAGES_DIR */
  readonly file: string;
  /** a static binary copied to /<name>, the entrypoint; or the busybox tree */
  readonly content:
    | { readonly kind: 'binary'; readonly path: string; readonly name: string }
    | { readonly kind: 'busybox' }
    /** the layers of `archive`, plus node's compile cache filled by the `warmer` script (a host path) */
    | { readonly kind: 'derived'; readonly archive: string; readonly warmer: string };
  readonly entrypoint: readonly string[];
}

/** registry.k8s.io/sig-storage/<name>:<version>: upstream's name, which values.yaml uses. */
export function sidecarRef(component: KubeComponent): string {
  return `registry.k8s.io/sig-storage/${component.name}:${component.version}`;
}

/** The refs are validated: they name files and reach buildah's argv. */
const REF = /^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$/;

export function archiveFile(ref: string): string {
  if (!REF.test(ref)) throw new Error(`not an image reference this builder accepts: ${JSON.stringify(ref)}`);
  const [, name, tag] = /([^/]+):([^:]+)$/.exec(ref)!;
  return `${name}-${tag}.oci.tar`;
}

/** Every image this module builds, in build order. */
export function testImages(env: NodeJS.ProcessEnv = process.env, projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')): TestImage[] {
  const sidecars = SIDECAR_NAMES.map((name) => {
    const component = KUBE_COMPONENTS.find((c) => c.name === name)!;
    const ref = sidecarRef(component);
    return { ref, file: archiveFile(ref), content: { kind: 'binary' as const, path: kubeBinaryPath(component, env), name }, entrypoint: [`/${name}`] };
  });
  return [
    ...sidecars,
    { ref: BUSYBOX_IMAGE, file: archiveFile(BUSYBOX_IMAGE), content: { kind: 'busybox' }, entrypoint: ['/bin/sh'] },
    { ref: PAUSE_IMAGE, file: archiveFile(PAUSE_IMAGE), content: { kind: 'busybox' }, entrypoint: ['/bin/sh', '-c', PAUSE_SCRIPT] },
    { ref: VBS_CSI_TCG_IMAGE, file: archiveFile(VBS_CSI_TCG_IMAGE), content: { kind: 'derived', archive: join(projectRoot, VBS_CSI_ARCHIVE), warmer: join(projectRoot, 'e2e/vm/warmCompileCache.ts') }, entrypoint: [...VBS_CSI_TCG_ENTRYPOINT] },
  ];
}

/**
 * What decides an archive: the reference, the entrypoint, the content's hash, buildah's version and
 * this file (how it assembles). Equal stamps, equal archives.
 */
export function imageInputs(image: TestImage, contentSha256: string, buildahVersion: string, builderSha256: string): string {
  return `${JSON.stringify({ ref: image.ref, entrypoint: image.entrypoint, content: image.content.kind, contentSha256, buildahVersion, builderSha256 })}\n`;
}

export interface BuildahStorage {
  readonly root: string;
  readonly runroot: string;
}

/** buildah's global options: its own vfs storage (no overlay mounts, no daemon), as scripts/build-image.sh. */
export function storageArgs(storage: BuildahStorage): string[] {
  return ['--root', storage.root, '--runroot', storage.runroot, '--storage-driver', 'vfs'];
}

/**
 * The buildah commands after `from scratch` gave container `ctr`: copy the content, set the entrypoint
 * (no CMD, so a pod's args are the binary's), commit as an OCI archive tagged with the ref. Layers stay
 * uncompressed (buildah's default): the store unpacks them on the host, nobody downloads them.
 */
export function buildahSteps(image: TestImage, ctr: string, source: string, archive: string): string[][] {
  const { content } = image;
  const copy = content.kind === 'binary' ? [['copy', '--quiet', '--chmod', '0755', ctr, source, `/${content.name}`]] : content.kind === 'busybox' ? [['copy', '--quiet', ctr, source, '/']] : [];
  // The cache is keyed by node's version and V8 flags: warm it with the entrypoint's node and flags
  // (tini and the script left out). chroot isolation: no runtime needed, as for `buildah from`.
  const nodeWithFlags = image.entrypoint.slice(image.entrypoint.indexOf('node'), -1);
  const warm = content.kind === 'derived'
    ? [['run', '--isolation', 'chroot', '--volume', `${content.warmer}:${WARMER_IN_IMAGE}:ro`, '--env', `NODE_COMPILE_CACHE=${VBS_CSI_COMPILE_CACHE}`, ctr, '--', ...nodeWithFlags, WARMER_IN_IMAGE, '/app/src']]
    : [];
  const env = content.kind === 'derived' ? ['--env', `NODE_COMPILE_CACHE=${VBS_CSI_COMPILE_CACHE}`] : [];
  return [
    ...copy,
    ...warm,
    ['config', ...env, '--entrypoint', JSON.stringify(image.entrypoint), '--label', 'io.vbs-csi.e2e=test-bed', ctr],
    ['commit', '--quiet', '--timestamp', '0', '--format', 'oci', ctr, `oci-archive:${archive}:${image.ref}`],
  ];
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The busybox tree: /bin/busybox and a symlink per applet at the path `busybox --list-full` gives
 * (bin/sh, usr/bin/sha256sum, sbin/blockdev ...), as `busybox --install` would make, plus /tmp.
 */
function stageBusybox(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  execFileSync('cp', [BUSYBOX_BINARY, join(dir, 'bin', 'busybox')]);
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(BUSYBOX_BINARY, ['--list-full'], { encoding: 'utf8' }).split('\n').filter((l) => /^[a-z/]+\/[^/\s]+$/.test(l));
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    const depth = applet.split('/').length - 1;
    mkdirSync(join(dir, dirname(applet)), { recursive: true });
    symlinkSync(`${'../'.repeat(depth)}bin/busybox`, join(dir, applet));
  }
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
}

/** Builds the archives whose inputs changed (all of testImages()), building the sidecar binaries first if missing. */
export function buildTestImages(projectRoot: string, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): { ref: string; archive: string }[] {
  if (!existsSync(BUSYBOX_BINARY)) throw new Error(`${BUSYBOX_BINARY} is missing: apt-get install busybox-static (npm run setup)`);
  buildKubernetes(KUBE_COMPONENTS.filter((c) => (SIDECAR_NAMES as readonly string[]).includes(c.name)), log, env);
  const outDir = join(projectRoot, TEST_IMAGES_DIR);
  const cache = join(vbsCsiCacheDir(env), 'test-images');
  mkdirSync(outDir, { recursive: true });
  const storage = { root: join(cache, 'storage'), runroot: join(cache, 'run') };
  const buildah = (args: string[]) => execFileSync('buildah', [...storageArgs(storage), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 }).trim();
  const buildahVersion = execFileSync('buildah', ['--version'], { encoding: 'utf8' }).trim();
  const builderSha256 = sha256File(fileURLToPath(import.meta.url));
  const busyboxSha256 = sha256File(BUSYBOX_BINARY);
  const staged = join(cache, 'busybox-root');
  let busyboxStaged = false;
  const results: { ref: string; archive: string }[] = [];
  for (const image of testImages(env, projectRoot)) {
    const archive = join(outDir, image.file);
    const stamp = `${archive}.inputs`;
    const source = image.content.kind === 'binary' ? image.content.path : image.content.kind === 'derived' ? image.content.archive : staged;
    if (image.content.kind === 'derived' && !existsSync(`${source}.inputs`)) throw new Error(`${source} is missing: run \`npm run image\``);
    // A derived image changes with its base (the base archive's own inputs stamp stands for its content) and its warmer.
    const contentSha256 =
      image.content.kind === 'binary' ? sha256File(source)
      : image.content.kind === 'derived' ? createHash('sha256').update(readFileSync(`${source}.inputs`)).update(readFileSync(image.content.warmer)).digest('hex')
      : busyboxSha256;
    const inputs = imageInputs(image, contentSha256, buildahVersion, builderSha256);
    results.push({ ref: image.ref, archive });
    if (existsSync(archive) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs) {
      log(`test images: ${image.ref} up to date`);
      continue;
    }
    if (image.content.kind === 'busybox' && !busyboxStaged) {
      stageBusybox(staged);
      busyboxStaged = true;
    }
    rmSync(stamp, { force: true });
    const partial = `${archive}.partial`;
    rmSync(partial, { force: true });
    const started = performance.now();
    const ctr = buildah(['from', '--quiet', image.content.kind === 'derived' ? `oci-archive:${source}` : 'scratch']);
    try {
      for (const step of buildahSteps(image, ctr, source, partial)) buildah(step);
    } finally {
      buildah(['rm', ctr]);
    }
    renameSync(partial, archive);
    writeFileSync(stamp, inputs);
    log(`test images: ${image.ref} → ${TEST_IMAGES_DIR}/${image.file} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (busyboxStaged) rmSync(staged, { recursive: true, force: true });
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  for (const { ref, archive } of buildTestImages(root, (line) => console.error(line))) console.log(`${ref}\t${archive}`);
}
