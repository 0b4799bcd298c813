/**
 * Starts the built etcd and kube-apiserver (scripts/build-kubernetes.ts) on loopback in a temporary
 * directory and checks that the API server becomes ready with token authentication and RBAC: /readyz
 * answers ok to an admin token, an authenticated user without roles is forbidden to list namespaces, and
 * a request without a token is refused. Then stops both and removes the directory. It needs no storage
 * kernel: the control plane of the cluster scenarios runs on the host (docs/kubernetes-test-bed.md).
 *
 * Usage: node scripts/check-control-plane.ts   (exits 0 when ready; prints the time each step took)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCertificateAuthority, issueCertificate } from '../src/tls/createCertificates.ts';
import { KUBE_COMPONENTS, kubeBinaryPath } from './build-kubernetes.ts';

/** Long enough for a first start beside the test-bed VM on 2 cores; a healthy start takes seconds. */
const READY_DEADLINE_MS = 120_000;

export interface ControlPlaneFiles {
  readonly dir: string;
  readonly etcdPort: number;
  readonly etcdPeerPort: number;
  readonly apiPort: number;
}

/** etcd's flags: one member on loopback, no fsync (a throw-away test store). */
export function etcdArgs(f: ControlPlaneFiles): string[] {
  const client = `http://127.0.0.1:${f.etcdPort}`;
  const peer = `http://127.0.0.1:${f.etcdPeerPort}`;
  return [
    '--name=test',
    `--data-dir=${join(f.dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=test=${peer}`,
    '--unsafe-no-fsync',
  ];
}

/** kube-apiserver's flags: token file authentication, RBAC, its own serving certificate and service-account keys. */
export function apiServerArgs(f: ControlPlaneFiles): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${f.etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // The endpoint reconciler refuses a loopback address for the `kubernetes` Service's endpoints; nothing
    // here runs pods that would use them.
    '--endpoint-reconciler-type=none',
    `--secure-port=${f.apiPort}`,
    `--tls-cert-file=${join(f.dir, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(f.dir, 'apiserver.key')}`,
    `--token-auth-file=${join(f.dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    `--service-account-issuer=https://kubernetes.default.svc`,
    `--service-account-key-file=${join(f.dir, 'service-account.pub')}`,
    `--service-account-signing-key-file=${join(f.dir, 'service-account.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    `--cert-dir=${join(f.dir, 'certs')}`,
  ];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function writeCredentials(dir: string): Promise<{ admin: string; nobody: string }> {
  const ca = await createCertificateAuthority({ commonName: 'control-plane-check-ca', validDays: 2 });
  const serving = await issueCertificate(ca, { commonName: 'kube-apiserver', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usages: 'server', validDays: 1 });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'apiserver.crt'), serving.certPem);
  writeFileSync(join(dir, 'apiserver.key'), serving.keyPem, { mode: 0o600 });
  const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'service-account.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'service-account.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  const admin = randomBytes(24).toString('hex');
  const nobody = randomBytes(24).toString('hex');
  // token,user,uid,"groups": the admin is in system:masters, which RBAC's bootstrap policy binds to cluster-admin.
  writeFileSync(join(dir, 'tokens.csv'), `${admin},check-admin,uid-admin,"system:masters"\n${nobody},check-nobody,uid-nobody\n`, { mode: 0o600 });
  return { admin, nobody };
}

function get(port: number, path: string, ca: string, token: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 5000, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
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

function start(binary: string, args: string[], log: string): ChildProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(log);
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return child;
}

async function waitFor<T>(what: string, deadline: number, attempt: () => Promise<T | undefined>, exited: () => string | undefined): Promise<T> {
  let last = '';
  while (Date.now() < deadline) {
    const gone = exited();
    if (gone) throw new Error(`${what}: ${gone}`);
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err: unknown) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${READY_DEADLINE_MS / 1000} s${last ? ` (last: ${last})` : ''}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function checkControlPlane(log: (line: string) => void = (line) => console.error(line)): Promise<void> {
  const binaries = Object.fromEntries(
    ['etcd', 'kube-apiserver'].map((name) => {
      const path = kubeBinaryPath(KUBE_COMPONENTS.find((c) => c.name === name)!);
      if (!existsSync(path)) throw new Error(`${name} is not built (${path}): run \`npm run kube:build -- --only etcd,kube-apiserver\``);
      return [name, path];
    }),
  ) as Record<'etcd' | 'kube-apiserver', string>;
  const dir = mkdtempSync(join(tmpdir(), 'vbs-control-plane-'));
  const children: ChildProcess[] = [];
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const deadline = started + READY_DEADLINE_MS;
  const exitedEarly = (child: ChildProcess, name: string, logFile: string) => () =>
    child.exitCode !== null || child.signalCode !== null ? `${name} exited (${child.exitCode ?? child.signalCode}); its log:\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}` : undefined;
  let failed = true;
  try {
    const files: ControlPlaneFiles = { dir, etcdPort: await freePort(), etcdPeerPort: await freePort(), apiPort: await freePort() };
    const tokens = await writeCredentials(dir);
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');

    const etcdLog = join(dir, 'etcd.log');
    const etcd = start(binaries.etcd, etcdArgs(files), etcdLog);
    children.push(etcd);
    await waitFor('etcd /health', deadline, async () => {
      const res = await fetch(`http://127.0.0.1:${files.etcdPort}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true' ? true : undefined;
    }, exitedEarly(etcd, 'etcd', etcdLog));
    log(`control plane: etcd healthy after ${elapsed()}`);

    const apiLog = join(dir, 'kube-apiserver.log');
    const api = start(binaries['kube-apiserver'], apiServerArgs(files), apiLog);
    children.push(api);
    await waitFor('kube-apiserver /readyz', deadline, async () => {
      const res = await get(files.apiPort, '/readyz', ca, tokens.admin);
      return res.status === 200 && res.body === 'ok' ? true : undefined;
    }, exitedEarly(api, 'kube-apiserver', apiLog));
    log(`control plane: kube-apiserver /readyz ok after ${elapsed()}`);

    const version = JSON.parse((await get(files.apiPort, '/version', ca, tokens.admin)).body) as { gitVersion?: string };
    const admin = await get(files.apiPort, '/api/v1/namespaces', ca, tokens.admin);
    const nobody = await get(files.apiPort, '/api/v1/namespaces', ca, tokens.nobody);
    const anonymous = await get(files.apiPort, '/api/v1/namespaces', ca, undefined);
    const problems = [
      admin.status !== 200 && `the admin token got ${admin.status} listing namespaces: ${admin.body}`,
      nobody.status !== 403 && `a user without roles got ${nobody.status}, not 403 (is RBAC on?)`,
      anonymous.status !== 401 && `a request without a token got ${anonymous.status}, not 401`,
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length > 0) throw new Error(problems.join('; '));
    log(`control plane: ${version.gitVersion ?? 'unknown version'}: token authentication and RBAC answer 200 / 403 / 401 (${elapsed()} in all)`);
    failed = false;
  } finally {
    const stopping = Date.now();
    // The API server first: it writes to etcd while it shuts down.
    for (const child of [...children].reverse()) await stop(child);
    log(`control plane: stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s (${children.map((c) => `${basename(c.spawnfile)}: ${c.signalCode ?? c.exitCode}`).join(', ')})`);
    if (failed) log(`control plane: logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  checkControlPlane().catch((err: unknown) => {
    console.error(`control plane: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
