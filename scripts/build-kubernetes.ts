/**
 * Builds Kubernetes' own components (control plane, kubelet), etcd, containerd and the CSI sidecars from
 * their Go modules at pinned versions, into a cache outside the repository (docs/kubernetes-test-bed.md):
 * the binaries at ~/.cache/vbs-csi/kubernetes/<key>/bin/<name> (or under $XDG_CACHE_HOME/vbs-csi), Go's
 * module and build caches in ~/.cache/vbs-csi/go/ (GOPATH, GOMODCACHE, GOCACHE, shared with the other
 * Go builds), so a version bump downloads and compiles only what changed.
 *
 * Each upstream module is built from a module of ours, tools/<dir>/go.mod + go.sum: it requires the
 * upstream module at its pinned version, lists the commands as `tool` lines and copies the upstream
 * replace directives that do not point into its own repository (a dependency's replace lines are ignored
 * by Go; Kubernetes' point at ./staging, so ours name the published staging tags instead). go.sum pins
 * every module's hash, checked against the Go checksum database when downloaded. <key> names the
 * directory, the version and a hash of go.mod, go.sum and the build settings below: a changed pin builds
 * anew, an unchanged one is never rebuilt. GOTOOLCHAIN=local: the installed Go builds, no other is fetched.
 *
 * Not in `npm run setup`: a cold build is about 20 min of a 2-core machine (docs/kubernetes-test-bed.md). Usage:
 *   node scripts/build-kubernetes.ts [--only NAME[,NAME...]]...   (prints name<TAB>binary per component)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goCachesEnv, goCommand, vbsCsiCacheDir } from './goCommand.ts';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface KubeComponent {
  /** the binary's name, and the component's name for --only */
  readonly name: string;
  /** tools/<dir>: the module of ours that builds it */
  readonly dir: string;
  /** the upstream module tools/<dir>/go.mod requires, and its version there */
  readonly module: string;
  readonly version: string;
  /** the main package, a `tool` line of tools/<dir>/go.mod */
  readonly package: string;
  /** -X settings for the version the binary reports (what upstream's release build sets) */
  readonly versionVars: Readonly<Record<string, string>>;
  /**
   * Its cold build on the project's 2-core machine with nothing else running, after the components
   * before it in the table (which share its dependencies), for the progress line: the CPU seconds
   * measured beside the VM (docs/kubernetes-test-bed.md) over the 1.7 cores a go build keeps busy.
   */
  readonly coldSeconds: number;
}

const KUBERNETES_VERSION = 'v1.37.2';

/**
 * What Kubernetes' hack/lib/version.sh sets: the API server's /version and the kubelet's Node status
 * report gitVersion; without it they say v0.0.0-master.
 */
function kubernetesVersionVars(version: string): Record<string, string> {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const pkg = 'k8s.io/component-base/version';
  return { [`${pkg}.gitVersion`]: version, [`${pkg}.gitMajor`]: major!, [`${pkg}.gitMinor`]: minor!, [`${pkg}.gitTreeState`]: 'clean' };
}

function kubernetes(name: string, coldSeconds: number): KubeComponent {
  return { name, dir: 'kubernetes', module: 'k8s.io/kubernetes', version: KUBERNETES_VERSION, package: `k8s.io/kubernetes/cmd/${name}`, versionVars: kubernetesVersionVars(KUBERNETES_VERSION), coldSeconds };
}

/** The sidecars' release-tools build sets main.version to the tag. */
function sidecar(name: string, dir: string, major: string, version: string, coldSeconds: number): KubeComponent {
  const module = `github.com/kubernetes-csi/${dir}/${major}`;
  return { name, dir, module, version, package: `${module}/cmd/${name}`, versionVars: { 'main.version': version }, coldSeconds };
}

/**
 * In build order: the first of a module pays for its downloads. The sidecars are at the chart's versions
 * (charts/vbs-csi/values.yaml; test/packaging/kubernetesTools.test.ts holds them equal). Not here:
 * node-driver-registrar and livenessprobe, which the Go module proxy does not serve (docs/kubernetes-test-bed.md).
 */
export const KUBE_COMPONENTS: readonly KubeComponent[] = [
  kubernetes('kube-apiserver', 355),
  kubernetes('kube-controller-manager', 100),
  kubernetes('kube-scheduler', 10),
  kubernetes('kubelet', 30),
  // The module's root package is etcd's main.
  { name: 'etcd', dir: 'etcd', module: 'go.etcd.io/etcd/server/v3', version: 'v3.6.16', package: 'go.etcd.io/etcd/server/v3', versionVars: {}, coldSeconds: 40 },
  // ctr: the client that imports the test bed's images into a containerd store on the host (e2e/vm/containerdImageStore.ts).
  ...['containerd', 'containerd-shim-runc-v2', 'ctr'].map((name, i) => ({
    name,
    dir: 'containerd',
    module: 'github.com/containerd/containerd/v2',
    version: 'v2.4.2',
    package: `github.com/containerd/containerd/v2/cmd/${name}`,
    versionVars: { 'github.com/containerd/containerd/v2/version.Version': '2.4.2' },
    coldSeconds: i === 0 ? 70 : 5,
  })),
  sidecar('csi-provisioner', 'external-provisioner', 'v6', 'v6.4.0', 140),
  sidecar('csi-attacher', 'external-attacher', 'v4', 'v4.13.0', 150),
  sidecar('csi-resizer', 'external-resizer', 'v2', 'v2.3.0', 150),
  sidecar('csi-snapshotter', 'external-snapshotter', 'v8', 'v8.7.0', 145),
  sidecar('snapshot-controller', 'external-snapshotter', 'v8', 'v8.7.0', 10),
];

/** A cold kube-apiserver, downloads included, takes 6 min on 2 idle cores; niced beside the VM it took 20. */
const BUILD_TIMEOUT_MS = 90 * 60_000;

/**
 * The go build arguments. CGO off: static binaries that need no C compiler here and run the same on the
 * host and in the test-bed guest (kubelet and containerd build without cgo: containerd leaves out its
 * btrfs snapshotter, which needs it). -trimpath and no VCS stamp: the binary does not depend on where
 * this repository is checked out nor on its commit. -s -w: no symbol table nor DWARF, as in Kubernetes'
 * release build (hack/lib/golang.sh), which makes the binaries about a third smaller.
 */
export function goBuildArgs(component: KubeComponent, output: string): string[] {
  const vars = Object.entries(component.versionVars).map(([name, value]) => `-X ${name}=${value}`);
  return ['build', '-trimpath', '-buildvcs=false', `-ldflags=${['-s', '-w', ...vars].join(' ')}`, '-o', output, component.package];
}

export const CGO_ENABLED = '0';

/** The cache directory of one tools/<dir> module: its name, version and a hash of what decides the binaries. */
export function versionKey(dir: string, goMod: string, goSum: string, components: readonly KubeComponent[]): string {
  const mine = components.filter((c) => c.dir === dir);
  if (mine.length === 0) throw new Error(`no component is built from tools/${dir}`);
  const hash = createHash('sha256');
  for (const part of [goMod, goSum, CGO_ENABLED, ...mine.map((c) => JSON.stringify(goBuildArgs(c, c.name)))]) hash.update(`${part.length}:${part}`);
  return `${dir}-${mine[0]!.version}-${hash.digest('hex').slice(0, 12)}`;
}

export function kubernetesCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(vbsCsiCacheDir(env), 'kubernetes');
}

/** Where a component's binary is (or will be) for the tools/ files in this checkout. */
export function kubeBinaryPath(component: KubeComponent, env: NodeJS.ProcessEnv = process.env, root = projectRoot): string {
  const read = (file: string) => readFileSync(join(root, 'tools', component.dir, file), 'utf8');
  return join(kubernetesCacheDir(env), versionKey(component.dir, read('go.mod'), read('go.sum'), KUBE_COMPONENTS), 'bin', component.name);
}

/** Go's caches under the project's cache, shared with the other Go builds, kept between builds. */
export function goCacheEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    ...goCachesEnv(env),
    // A go.work above tools/ must not change what is built.
    GOWORK: 'off',
    // Not the caller's GOFLAGS: every setting that shapes a binary is in goBuildArgs, and so in the key.
    // -mod=readonly: a build never rewrites go.mod or go.sum (the key's inputs). -modcacherw: the module
    // cache stays deletable with rm -rf, which Go's read-only default is not.
    GOFLAGS: '-mod=readonly -modcacherw',
    CGO_ENABLED,
  };
}

/** The components named by the --only options (all when none), in table order; unknown names are an error listing the known ones. */
export function selectComponents(args: readonly string[]): KubeComponent[] {
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = arg === '--only' ? args[++i] : arg.startsWith('--only=') ? arg.slice('--only='.length) : undefined;
    if (value === undefined || value === '') throw new Error(`unexpected argument ${JSON.stringify(arg)}: usage: node scripts/build-kubernetes.ts [--only NAME[,NAME...]]...`);
    names.push(...value.split(',').filter((n) => n !== ''));
  }
  const unknown = names.filter((n) => !KUBE_COMPONENTS.some((c) => c.name === n));
  if (unknown.length > 0) throw new Error(`unknown component ${unknown.join(', ')}: scripts/build-kubernetes.ts builds ${KUBE_COMPONENTS.map((c) => c.name).join(', ')}`);
  return names.length === 0 ? [...KUBE_COMPONENTS] : KUBE_COMPONENTS.filter((c) => names.includes(c.name));
}

/** CPU seconds of this process's waited-for children so far (Linux /proc), for the cost of a build beside other load. */
function childCpuSeconds(): number | undefined {
  try {
    // Fields after the command's closing parenthesis; cutime and cstime are the 16th and 17th of the line,
    // in clock ticks of 1/100 s (USER_HZ; proc(5)).
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

function runGoBuild(component: KubeComponent, output: string, env: NodeJS.ProcessEnv): void {
  const args = goBuildArgs(component, output);
  const cwd = join(projectRoot, 'tools', component.dir);
  try {
    execFileSync(goCommand(), args, {
      cwd,
      timeout: BUILD_TIMEOUT_MS,
      // go's own output as it comes: its "downloading ..." lines are a cold build's progress.
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...env, ...goCacheEnv(env) },
    });
  } catch (err: unknown) {
    const e = err as { code?: string; signal?: string; message: string };
    const again = `node scripts/build-kubernetes.ts --only ${component.name}`;
    if (e.code === 'ENOENT') {
      throw new Error(`building ${component.name} needs the Go toolchain (Go ≥ the go line of tools/${component.dir}/go.mod): install it from https://go.dev/dl/ (or Debian: apt-get install golang-go) and run \`${again}\``);
    }
    if (e.signal === 'SIGTERM') {
      throw new Error(`go ${args.join(' ')} (in tools/${component.dir}) took longer than ${BUILD_TIMEOUT_MS / 60_000} min; is the Go module proxy (GOPROXY=${env['GOPROXY'] ?? 'default'}) reachable and fast? Then run \`${again}\``);
    }
    throw new Error(
      `go ${args.join(' ')} failed in tools/${component.dir} for ${component.name} ${component.version} (go's messages are above). ` +
        'If it could not download: check that the Go module proxy (GOPROXY) is reachable. ' +
        `If it needs a newer Go: install one (GOTOOLCHAIN=local keeps go from fetching its own). If go.mod or go.sum is "missing" or "updates to go.mod needed": run \`go mod tidy\` in tools/${component.dir} after a version change (docs/kubernetes-test-bed.md). ` +
        `Then run \`${again}\``,
    );
  }
}

export interface BuildResult {
  readonly name: string;
  readonly path: string;
  readonly built: boolean;
  readonly seconds: number;
  /** CPU seconds of the go processes (user + system), when the platform tells */
  readonly cpuSeconds?: number;
}

/** Builds the components not in the cache yet, one after the other; progress lines go to `log`. */
export function buildKubernetes(components: readonly KubeComponent[], log: (line: string) => void = (line) => console.error(line), env: NodeJS.ProcessEnv = process.env): BuildResult[] {
  const results: BuildResult[] = [];
  for (const component of components) {
    const path = kubeBinaryPath(component, env);
    const label = `kubernetes: ${component.name} ${component.version}`;
    if (existsSync(path)) {
      log(`${label}: up to date (${path})`);
      results.push({ name: component.name, path, built: false, seconds: 0 });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    const cold = component.coldSeconds < 90 ? `${component.coldSeconds} s` : `${Math.round(component.coldSeconds / 60)} min`;
    log(`${label}: go build in tools/${component.dir} (about ${cold} on 2 idle cores when nothing is cached)`);
    const started = performance.now();
    const cpuBefore = childCpuSeconds();
    // Built beside its final name, renamed when complete: a build cut short leaves nothing that looks built.
    const temp = `${path}.tmp-${process.pid}`;
    try {
      runGoBuild(component, temp, env);
      renameSync(temp, path);
    } finally {
      rmSync(temp, { force: true });
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = childCpuSeconds();
    const cpuSeconds = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
    log(`${label}: built in ${seconds.toFixed(1)} s${cpuSeconds !== undefined ? ` (${cpuSeconds.toFixed(0)} CPU s)` : ''}`);
    results.push({ name: component.name, path, built: true, seconds, ...(cpuSeconds !== undefined && { cpuSeconds }) });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const started = performance.now();
    const results = buildKubernetes(selectComponents(process.argv.slice(2)));
    const built = results.filter((r) => r.built);
    const cpu = built.reduce((sum, r) => sum + (r.cpuSeconds ?? 0), 0);
    console.error(`kubernetes: ${built.length} built, ${results.length - built.length} up to date, in ${((performance.now() - started) / 1000).toFixed(1)} s${built.length > 0 ? ` (${cpu.toFixed(0)} CPU s)` : ''}`);
    for (const r of results) console.log(`${r.name}\t${r.path}`);
  } catch (err: unknown) {
    console.error(`kubernetes: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
