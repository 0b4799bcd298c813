/**
 * The cluster scenarios' control plane, natively on the host (docs/kubernetes-test-bed.md, "The control plane
 * on the host"): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and snapshot-controller (after
 * the snapshot CRDs), from the binaries of scripts/build-kubernetes.ts, with their files in one directory.
 * The guest's kubelet reaches the API server at https://10.0.2.1:443 through qemu's guestfwd to apiPort.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { KUBE_COMPONENTS, kubeBinaryPath } from '../../scripts/build-kubernetes.ts';
import { pollUntil } from '../vm/poll.ts';
import {
  type ControlPlaneLayout,
  type ControlPlanePorts,
  apiServerArgs,
  controlPlaneLayout,
  controllerManagerArgs,
  etcdArgs,
  schedulerArgs,
  snapshotControllerArgs,
} from './controlPlaneArgs.ts';
import { writeControlPlaneCredentials } from './controlPlaneCredentials.ts';
import { installSnapshotCrds } from './snapshotCrds.ts';

/** A first start beside the test-bed VM on 2 cores; a healthy one takes about 10 s (docs/kubernetes-test-bed.md). */
const START_DEADLINE_MS = 180_000;
/** How long a component has to exit on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_LINES = 40;

export interface ControlPlane {
  readonly dir: string;
  /** server https://127.0.0.1:<apiPort>, cluster-admin (system:masters): for the host's clients */
  readonly adminKubeconfig: string;
  /** server https://10.0.2.1:443, same user: for helm and kubectl in the guest */
  readonly guestAdminKubeconfig: string;
  /** server https://10.0.2.1:443, user system:node:vbs-e2e in system:nodes: the guest kubelet's --kubeconfig */
  readonly kubeletKubeconfig: string;
  /** the cluster CA's certificate (PEM); it signed the API server's serving certificate */
  readonly caFile: string;
  /** the API server's port on 127.0.0.1, where qemu's guestfwd for 10.0.2.1:443 goes */
  readonly apiPort: number;
  /** the last lines of each component's log, for a failure report */
  logs(): string;
  /** Stops every component, the API server before etcd; resolves when all have exited. Keeps the directory. */
  stop(): Promise<void>;
}

export interface StartControlPlaneOptions {
  /** absolute, existing or not; the caller removes it after a successful run and keeps it on failure */
  readonly dir: string;
  readonly log: (line: string) => void;
  /** aborting kills every component */
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
}

type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'snapshot-controller';

interface Running {
  readonly name: Component;
  readonly child: ChildProcess;
  readonly logFile: string;
}

/** `count` distinct free ports on 127.0.0.1: all listened on at once, so none is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => (server.listening ? server.close(resolve) : resolve(undefined)))));
  }
}

function binary(name: Component, env: NodeJS.ProcessEnv): string {
  const path = kubeBinaryPath(KUBE_COMPONENTS.find((c) => c.name === name)!, env);
  if (!existsSync(path)) throw new Error(`${name} is not built (${path}): run \`npm run kube:build\``);
  return path;
}

const hasExited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch (err: unknown) {
    return `(no log: ${(err as Error).message})`;
  }
}

/** GET over HTTPS to 127.0.0.1, checking the server against the cluster CA. */
function httpsGet(port: number, path: string, ca: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 5000, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function stopOne(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startControlPlane(opts: StartControlPlaneOptions): Promise<ControlPlane> {
  const env = opts.env ?? process.env;
  const binaries = Object.fromEntries(
    (['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'snapshot-controller'] as const).map((n) => [n, binary(n, env)]),
  ) as Record<Component, string>;
  const layout: ControlPlaneLayout = controlPlaneLayout(opts.dir);
  mkdirSync(layout.dir, { recursive: true, mode: 0o700 });
  const running: Running[] = [];
  const started = Date.now();
  const deadlineMs = started + START_DEADLINE_MS;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const signalOpt = opts.signal ? { signal: opts.signal } : {};

  // A component must not outlive this process: node kills no children when it exits.
  const killAll = () => running.forEach((r) => hasExited(r.child) || r.child.kill('SIGKILL'));
  process.once('exit', killAll);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      opts.signal?.removeEventListener('abort', onAbort);
      // In reverse order of start: the API server writes to etcd while it shuts down.
      for (const r of [...running].reverse()) await stopOne(r.child);
      process.removeListener('exit', killAll);
    })());
  const onAbort = () => void stop();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const logs = () =>
    running.map((r) => `--- ${r.name}${hasExited(r.child) ? ` (exited: ${r.child.exitCode ?? r.child.signalCode})` : ''}, ${r.logFile} ---\n${tail(r.logFile)}`).join('\n');

  const start = (name: Component, args: string[]): Running => {
    opts.signal?.throwIfAborted();
    const logFile = `${layout.dir}/${name}.log`;
    const fd = openSync(logFile, 'a', 0o600);
    try {
      const child = spawn(binaries[name], args, { stdio: ['ignore', fd, fd], env: { PATH: env['PATH'] ?? '/usr/bin:/bin' } });
      // A spawn that fails (EACCES, ...) exits with the negative errno, which waitFor reports; unhandled, the
      // 'error' event would end this process.
      child.on('error', (err) => opts.log(`control plane: ${name}: ${err.message}`));
      const r = { name, child, logFile };
      running.push(r);
      return r;
    } finally {
      closeSync(fd);
    }
  };

  /** Polls `check` (a thrown error counts as not yet) until it answers, failing at once when the component exits. */
  const waitFor = async (r: Running, what: string, check: () => Promise<boolean>): Promise<void> => {
    let last = '';
    try {
      await pollUntil(
        async () => {
          if (hasExited(r.child)) throw new Error(`${r.name} exited (${r.child.exitCode ?? r.child.signalCode}) before ${what}; its log:\n${tail(r.logFile)}`);
          try {
            return (await check()) ? true : undefined;
          } catch (err: unknown) {
            last = (err as Error).message;
            return undefined;
          }
        },
        { deadlineMs, what, ...signalOpt },
      );
    } catch (err: unknown) {
      if ((err as Error).name === 'PollTimeoutError') throw new Error(`${(err as Error).message} (${START_DEADLINE_MS / 1000} s${last ? `; last: ${last}` : ''}); its log:\n${tail(r.logFile)}`);
      throw err;
    }
    opts.log(`control plane: ${what} after ${elapsed()}`);
  };

  try {
    const p = (await freePorts(6)) as [number, number, number, number, number, number];
    const ports: ControlPlanePorts = { etcd: p[0], etcdPeer: p[1], api: p[2], controllerManager: p[3], scheduler: p[4], snapshotController: p[5] };
    const { adminToken } = await writeControlPlaneCredentials(layout, ports.api);
    const ca = readFileSync(layout.ca, 'utf8');
    opts.log(`control plane: credentials written after ${elapsed()} (${layout.dir})`);

    const etcd = start('etcd', etcdArgs(layout, ports));
    await waitFor(etcd, 'etcd healthy', async () => {
      const res = await fetch(`http://127.0.0.1:${ports.etcd}/health`, signalOpt);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    });

    const api = start('kube-apiserver', apiServerArgs(layout, ports));
    await waitFor(api, 'kube-apiserver /readyz ok', async () => {
      const res = await httpsGet(ports.api, '/readyz', ca, adminToken);
      return res.status === 200 && res.body === 'ok';
    });

    const kcm = start('kube-controller-manager', controllerManagerArgs(layout, ports));
    const scheduler = start('kube-scheduler', schedulerArgs(layout, ports));
    const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(layout.adminKubeconfig);
    const crds = await installSnapshotCrds(kc, { deadlineMs, ...signalOpt });
    opts.log(`control plane: ${crds.length} snapshot CRDs Established after ${elapsed()}`);
    const snapshot = start('snapshot-controller', snapshotControllerArgs(layout, ports));

    const healthz = (port: number) => async () => {
      const res = await httpsGet(port, '/healthz', ca);
      return res.status === 200 && res.body === 'ok';
    };
    await Promise.all([
      waitFor(kcm, 'kube-controller-manager /healthz ok', healthz(ports.controllerManager)),
      waitFor(scheduler, 'kube-scheduler /healthz ok', healthz(ports.scheduler)),
      waitFor(snapshot, 'snapshot-controller serving /metrics', async () => (await fetch(`http://127.0.0.1:${ports.snapshotController}/metrics`, signalOpt)).ok),
    ]);
    // /healthz answers before the controllers have done anything; a pod is refused until its namespace's
    // `default` ServiceAccount exists (the ServiceAccount admission plugin), and its projected volume needs the
    // kube-root-ca.crt ConfigMap: both made by controllers, a few seconds after they start.
    const core = kc.makeApiClient(CoreV1Api);
    await waitFor(kcm, "kube-controller-manager's default ServiceAccount and kube-root-ca.crt in namespace default", async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: 'default' });
      return true;
    });
    opts.log(`control plane: ready after ${elapsed()} (API server on 127.0.0.1:${ports.api})`);
    return {
      dir: layout.dir,
      adminKubeconfig: layout.adminKubeconfig,
      guestAdminKubeconfig: layout.guestAdminKubeconfig,
      kubeletKubeconfig: layout.kubeletKubeconfig,
      caFile: layout.ca,
      apiPort: ports.api,
      logs,
      stop,
    };
  } catch (err: unknown) {
    await stop();
    // The caller's reason for an abort, not the poll's AbortError.
    throw opts.signal?.aborted ? (opts.signal.reason as unknown) : err;
  }
}
