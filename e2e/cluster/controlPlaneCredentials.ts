/**
 * The control plane's certificates, keys, token file and kubeconfigs, written into its directory
 * (controlPlaneArgs.ts names the files). Keys, the token file and the kubeconfigs (which hold tokens) are
 * mode 0600; the CA certificate and the service-account public key are not secret.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../src/tls/createCertificates.ts';
import {
  API_SERVER_DNS_SANS,
  API_SERVER_IP_SANS,
  type ControlPlaneLayout,
  controlPlaneLayout,
  GUEST_API_SERVER,
  NODE_NAME,
  type TokenUser,
  kubeconfig,
  tokenFile,
} from './controlPlaneArgs.ts';

/** Certificates outlive any test run by far; the directory is thrown away after one. */
const VALID_DAYS = 7;

const secret = (path: string, content: string) => writeFileSync(path, content, { mode: 0o600 });

function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** Writes every file; returns the admin token for the readiness probe (kept in memory, never logged). */
export async function writeControlPlaneCredentials(l: ControlPlaneLayout, apiPort: number): Promise<{ adminToken: string }> {
  const ca = await createCertificateAuthority({ commonName: 'vbs-e2e-cluster-ca', validDays: VALID_DAYS + 1 });
  writeFileSync(l.ca, ca.certPem);
  secret(l.caKey, ca.keyPem);
  const serving = async (commonName: string, cert: string, key: string, dnsNames: readonly string[], ipAddresses: readonly string[]) => {
    const pair = await issueCertificate(ca, { commonName, dnsNames, ipAddresses, usages: 'server', validDays: VALID_DAYS });
    writeFileSync(cert, pair.certPem);
    secret(key, pair.keyPem);
  };
  await serving('kube-apiserver', l.apiServerCert, l.apiServerKey, API_SERVER_DNS_SANS, API_SERVER_IP_SANS);
  await serving('kube-controller-manager', l.controllerManagerCert, l.controllerManagerKey, ['localhost'], ['127.0.0.1']);
  await serving('kube-scheduler', l.schedulerCert, l.schedulerKey, ['localhost'], ['127.0.0.1']);

  const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  secret(l.serviceAccountKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  writeFileSync(l.serviceAccountPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));

  // system:masters is bound to cluster-admin by RBAC's bootstrap policy; system:kube-controller-manager and
  // system:kube-scheduler to their own bootstrap roles; the Node authorizer knows system:node:<name> in
  // system:nodes (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#core-component-roles).
  // snapshot-controller has no bootstrap role (upstream ships one as a manifest): it gets system:masters.
  const users = {
    admin: { token: newToken(), user: 'vbs-e2e-admin', groups: ['system:masters'] },
    controllerManager: { token: newToken(), user: 'system:kube-controller-manager', groups: [] },
    scheduler: { token: newToken(), user: 'system:kube-scheduler', groups: [] },
    snapshotController: { token: newToken(), user: 'vbs-e2e-snapshot-controller', groups: ['system:masters'] },
    kubelet: { token: newToken(), user: `system:node:${NODE_NAME}`, groups: ['system:nodes'] },
  } satisfies Record<string, TokenUser>;
  secret(l.tokens, tokenFile(Object.values(users)));

  const host = `https://127.0.0.1:${apiPort}`;
  const write = (path: string, server: string, u: TokenUser) => secret(path, kubeconfig({ server, caPem: ca.certPem, user: u.user, token: u.token }));
  write(l.adminKubeconfig, host, users.admin);
  write(l.guestAdminKubeconfig, GUEST_API_SERVER, users.admin);
  write(l.kubeletKubeconfig, GUEST_API_SERVER, users.kubelet);
  write(l.controllerManagerKubeconfig, host, users.controllerManager);
  write(l.schedulerKubeconfig, host, users.scheduler);
  write(l.snapshotControllerKubeconfig, host, users.snapshotController);
  return { adminToken: users.admin.token };
}

/**
 * The names of the directory's log files that quote a token of the token file or a line of a private key's
 * PEM body: a check that no component logged a secret (names only, so the report holds none).
 */
export function secretsInLogs(dir: string): string[] {
  const tokens = readFileSync(controlPlaneLayout(dir).tokens, 'utf8').split('\n').filter(Boolean).map((line) => line.split(',')[0]!);
  const keyLines = readdirSync(dir)
    .filter((f) => f.endsWith('.key'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .filter((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return [...tokens, ...keyLines].some((secret) => text.includes(secret));
    });
}
