/**
 * Inside the guest: makes the VM a Kubernetes node of the host's control plane. containerd (with the
 * image store the host prepared) and the kubelet start here; the kubelet registers node vbs-e2e and
 * the function returns once the API server reports the node Ready. docs/kubernetes-test-bed.md, "The node".
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { persistOutput } from '../support/suiteLogs.ts';
import { pollUntil } from '../vm/poll.ts';
import { storeTarArgs } from '../vm/storeArchive.ts';
import type { ClusterInfo } from './clusterInfo.ts';
import { CNI_CONF_DIR, CONTAINERD_SOCKET, NODE_NAME, cniConfigList, containerdConfig, kubeletArgs, kubeletConfig } from './nodeConfig.ts';

const CONTAINERD_ROOT = '/var/lib/containerd';
const CONTAINERD_STATE = '/run/containerd';
/** e2e/guest/boot.sh mounts a tmpfs there (mount-point checks need a real filesystem). */
export const KUBELET_ROOT = '/var/lib/kubelet';
/** 38 s under TCG in the first runs (register, then the first PLEG relist); a noisy host doubles that. */
const NODE_READY_MS = 300_000;

export interface GuestNode {
  readonly name: string;
  readonly kubeConfig: KubeConfig;
  /** The tails of containerd's and the kubelet's logs, for a failure report. */
  logs(lines?: number): string;
  /** Stops the kubelet, then containerd and every container it started, and unmounts their filesystems. */
  stop(): Promise<void>;
}

interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  exit: string | undefined;
}

export async function startGuestNode(opts: {
  readonly cluster: ClusterInfo;
  readonly workDir: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
}): Promise<GuestNode> {
  const { cluster, workDir, log, signal } = opts;
  const daemons: Daemon[] = [];
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const node: GuestNode = {
    name: NODE_NAME,
    kubeConfig: loadKubeConfig(cluster.adminKubeconfig),
    logs: (lines = 40) => daemons.map((d) => `--- ${d.name} (${d.exit ?? 'running'}), last ${lines} lines ---\n${tail(d.logFile, lines)}`).join('\n'),
    stop: () => stopNode(daemons, log),
  };
  try {
    // The kubelet and containerd need the cgroup v2 hierarchy; the guest's boot mounts none.
    const cgroupMounted = await execa('mountpoint', ['-q', '/sys/fs/cgroup'], { reject: false });
    if (cgroupMounted.exitCode !== 0) await execa('mount', ['-t', 'cgroup2', 'cgroup2', '/sys/fs/cgroup']);
    // The node plugin's kubelet-dir mount is Bidirectional: the CRI refuses it unless the source is shared.
    await execa('mount', ['--make-rshared', KUBELET_ROOT]);
    // overlayfs cannot use the overlay root as an upper layer: containerd's root is a tmpfs, filled
    // with the store the host imported (importing inside the TCG guest takes minutes).
    mkdirSync(CONTAINERD_ROOT, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'mode=0711', 'tmpfs', CONTAINERD_ROOT]);
    await execa('tar', storeTarArgs('extract', cluster.imageStore, CONTAINERD_ROOT), { cancelSignal: signal });
    log(`node: image store unpacked in the guest (${elapsed()})`);

    mkdirSync(CNI_CONF_DIR, { recursive: true });
    writeFileSync(join(CNI_CONF_DIR, '10-vbs-e2e.conflist'), cniConfigList());
    const containerdToml = join(workDir, 'containerd.toml');
    writeFileSync(containerdToml, containerdConfig({ root: CONTAINERD_ROOT, state: CONTAINERD_STATE, sandboxImage: cluster.sandboxImage }));
    // containerd finds its shim on PATH.
    const env = { ...process.env, PATH: `${dirname(cluster.binaries.containerdShim)}:${process.env['PATH'] ?? ''}` };
    daemons.push(startDaemon('containerd', cluster.binaries.containerd, ['--config', containerdToml], workDir, env));
    await pollUntil(async () => {
      failIfExited(daemons);
      const r = await execa(cluster.binaries.ctr, ['--address', CONTAINERD_SOCKET, 'version'], { reject: false, timeout: 10_000 });
      return r.exitCode === 0 ? true : undefined;
    }, { deadlineMs: Date.now() + 120_000, intervalMs: 500, what: 'containerd to answer', signal });
    log(`node: containerd answers (${elapsed()})`);

    const kubeletYaml = join(workDir, 'kubelet.yaml');
    writeFileSync(kubeletYaml, kubeletConfig());
    daemons.push(startDaemon('kubelet', cluster.binaries.kubelet, kubeletArgs({ config: kubeletYaml, kubeconfig: cluster.kubeletKubeconfig, rootDir: KUBELET_ROOT }, opts.labels), workDir, env));
    const core = node.kubeConfig.makeApiClient(CoreV1Api);
    await pollUntil(async () => {
      failIfExited(daemons);
      const found = await core.readNode({ name: NODE_NAME }).catch(() => undefined);
      return found?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, { deadlineMs: Date.now() + NODE_READY_MS, intervalMs: 1000, what: `node ${NODE_NAME} to be Ready`, signal });
    log(`node: ${NODE_NAME} is Ready (${elapsed()})`);
    return node;
  } catch (err: unknown) {
    log(`node: start failed; logs:\n${node.logs()}`);
    await node.stop().catch((e: unknown) => log(`node: stop after a failed start: ${String(e)}`));
    throw err;
  }
}

function loadKubeConfig(file: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(file);
  return config;
}

/** The daemon's output goes to the suite's log directory, where the secrets scan reads it too (e2e/support/suiteLogs.ts). */
function startDaemon(name: string, file: string, args: readonly string[], workDir: string, env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new PassThrough();
  child.stdout?.pipe(output, { end: false });
  child.stderr?.pipe(output, { end: false });
  child.once('close', () => output.end());
  const logFile = persistOutput(workDir, name, output);
  const daemon: Daemon = { name, child, logFile, exit: undefined };
  child.on('exit', (code, sig) => (daemon.exit = `exited ${code ?? sig}`));
  child.on('error', (err) => (daemon.exit = `failed to start: ${err.message}`));
  return daemon;
}

function failIfExited(daemons: readonly Daemon[]): void {
  const gone = daemons.find((d) => d.exit !== undefined);
  if (gone) throw new Error(`${gone.name} ${gone.exit}; its log:\n${tail(gone.logFile, 30)}`);
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  if (daemon.exit !== undefined) return;
  const gone = new Promise<void>((resolve) => daemon.child.once('exit', () => resolve()));
  daemon.child.kill('SIGTERM');
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 20_000);
  await gone;
  clearTimeout(timer);
}

/**
 * The kubelet first (so it restarts nothing), then containerd; the shims outlive containerd by design
 * (https://github.com/containerd/containerd/blob/main/docs/ops.md), so they and their containers are
 * killed here, and the mounts they leave (container root filesystems, pod volumes) are lazily unmounted
 * so the next scenario starts from a clean guest.
 */
async function stopNode(daemons: readonly Daemon[], log: (line: string) => void): Promise<void> {
  for (const name of ['kubelet', 'containerd']) {
    const daemon = daemons.find((d) => d.name === name);
    if (daemon) await stopDaemon(daemon);
  }
  await execa('pkill', ['-KILL', '-f', 'containerd-shim-runc-v2'], { reject: false });
  const { stdout } = await execa('findmnt', ['-rn', '-o', 'TARGET'], { reject: false });
  const leftovers = stdout.split('\n').filter((t) => /^(\/run\/containerd\/|\/var\/lib\/kubelet\/pods\/|\/var\/lib\/containerd\/)/.test(t));
  for (const target of leftovers.reverse()) await execa('umount', ['-l', target], { reject: false });
  await execa('umount', ['-l', CONTAINERD_ROOT], { reject: false });
  await execa('ip', ['link', 'delete', 'cni0'], { reject: false });
  log(`node: stopped (${leftovers.length} container mounts released)`);
}
