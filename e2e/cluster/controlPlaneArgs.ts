/**
 * The host-side control plane's command lines, token file and kubeconfigs, as pure functions of where its
 * files are and which ports it got (docs/kubernetes-test-bed.md, "The control plane on the host"). Nothing
 * here reads or writes a file, so test/e2e/controlPlaneArgs.test.ts checks every flag. No secret is in an
 * argument list: tokens are in the token file and in the kubeconfigs, keys in files.
 */
import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';

/**
 * The Service range. Its first address is the `kubernetes` Service's ClusterIP, 10.0.2.1: the address
 * at which qemu's guestfwd hands the guest's connections to the host's API server, so the kubelet and pods
 * in the guest reach the API server there without kube-proxy (https://www.qemu.org/docs/master/system/invocation.html, -netdev user,guestfwd).
 */
export const SERVICE_CLUSTER_IP_RANGE = '10.0.2.0/28';
export const KUBERNETES_SERVICE_IP = '10.0.2.1';
/** Where the guest dials the API server (qemu's guestfwd to 127.0.0.1:<apiPort> on the host). */
export const GUEST_API_SERVER = `https://${KUBERNETES_SERVICE_IP}:443`;
/** The one node: the guest's kubelet registers it. */
export const NODE_NAME = 'vbs-e2e';

/**
 * The serving certificate's names: loopback for the host's clients, the Service's address and names for the
 * guest and its pods (in-cluster clients dial KUBERNETES_SERVICE_HOST, or kubernetes.default.svc).
 */
export const API_SERVER_IP_SANS: readonly string[] = ['127.0.0.1', KUBERNETES_SERVICE_IP];
export const API_SERVER_DNS_SANS: readonly string[] = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

export interface ControlPlanePorts {
  readonly etcd: number;
  readonly etcdPeer: number;
  readonly api: number;
  /** the secure (HTTPS) ports of /healthz */
  readonly controllerManager: number;
  readonly scheduler: number;
  /** snapshot-controller's HTTP diagnostics (metrics), on loopback */
  readonly snapshotController: number;
}

/** The files of one control plane, all under one directory. */
export interface ControlPlaneLayout {
  readonly dir: string;
  readonly ca: string;
  /** the CA's key: kube-controller-manager signs certificate requests (kubelet certificate rotation) with it */
  readonly caKey: string;
  readonly apiServerCert: string;
  readonly apiServerKey: string;
  readonly controllerManagerCert: string;
  readonly controllerManagerKey: string;
  readonly schedulerCert: string;
  readonly schedulerKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  readonly tokens: string;
  readonly adminKubeconfig: string;
  readonly guestAdminKubeconfig: string;
  readonly kubeletKubeconfig: string;
  readonly controllerManagerKubeconfig: string;
  readonly schedulerKubeconfig: string;
  readonly snapshotControllerKubeconfig: string;
  readonly etcdData: string;
}

export function controlPlaneLayout(dir: string): ControlPlaneLayout {
  if (!isAbsolute(dir)) throw new Error(`the control plane's directory must be an absolute path, not ${JSON.stringify(dir)}`);
  const f = (name: string) => join(dir, name);
  return {
    dir,
    ca: f('ca.crt'),
    caKey: f('ca.key'),
    apiServerCert: f('apiserver.crt'),
    apiServerKey: f('apiserver.key'),
    controllerManagerCert: f('controller-manager.crt'),
    controllerManagerKey: f('controller-manager.key'),
    schedulerCert: f('scheduler.crt'),
    schedulerKey: f('scheduler.key'),
    serviceAccountKey: f('service-account.key'),
    serviceAccountPub: f('service-account.pub'),
    tokens: f('tokens.csv'),
    adminKubeconfig: f('admin.kubeconfig'),
    guestAdminKubeconfig: f('guest-admin.kubeconfig'),
    kubeletKubeconfig: f('kubelet.kubeconfig'),
    controllerManagerKubeconfig: f('controller-manager.kubeconfig'),
    schedulerKubeconfig: f('scheduler.kubeconfig'),
    snapshotControllerKubeconfig: f('snapshot-controller.kubeconfig'),
    etcdData: f('etcd'),
  };
}

function checkPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${what} port ${port} is not a TCP port`);
  return port;
}

function checkPorts(p: ControlPlanePorts): void {
  for (const [what, port] of Object.entries(p)) checkPort(port, what);
}

/** etcd: one member on loopback, no fsync (a throw-away store). */
export function etcdArgs(l: ControlPlaneLayout, p: ControlPlanePorts): string[] {
  checkPorts(p);
  const client = `http://127.0.0.1:${p.etcd}`;
  const peer = `http://127.0.0.1:${p.etcdPeer}`;
  return [
    '--name=vbs-e2e',
    `--data-dir=${l.etcdData}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=vbs-e2e=${peer}`,
    '--unsafe-no-fsync=true',
  ];
}

/**
 * kube-apiserver on loopback only (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/).
 * Authentication: the token file (every component and the kubelet has a token) and client certificates of
 * the CA (what kube-controller-manager signs, should the kubelet rotate to a certificate). Authorization:
 * Node (the kubelet's user system:node:<name> in group system:nodes may touch its own Node, its pods' secrets
 * and volumes; https://kubernetes.io/docs/reference/access-authn-authz/node/) then RBAC, and the NodeRestriction
 * admission plugin limits what a kubelet may write to its own Node and pods.
 */
export function apiServerArgs(l: ControlPlaneLayout, p: ControlPlanePorts): string[] {
  checkPorts(p);
  return [
    `--etcd-servers=http://127.0.0.1:${p.etcd}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${p.api}`,
    // Loopback: the address is advertised nowhere (the reconciler below is off), and no other host address is
    // the API server's. The endpoint reconciler refuses a loopback address for the `kubernetes` Service's
    // Endpoints; none are needed, as the guest reaches 10.0.2.1 through qemu, not through kube-proxy.
    '--advertise-address=127.0.0.1',
    '--endpoint-reconciler-type=none',
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    `--tls-cert-file=${l.apiServerCert}`,
    `--tls-private-key-file=${l.apiServerKey}`,
    `--client-ca-file=${l.ca}`,
    `--token-auth-file=${l.tokens}`,
    '--anonymous-auth=false',
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    // The vbs-csi node plugin's pods are privileged (they log in to iSCSI targets and mount).
    '--allow-privileged=true',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${l.serviceAccountPub}`,
    `--service-account-signing-key-file=${l.serviceAccountKey}`,
    `--cert-dir=${join(l.dir, 'apiserver-certs')}`,
  ];
}

/**
 * kube-controller-manager: every on-by-default controller (`*`: in v1.37.2's list, `kube-controller-manager --help`, none
 * needs a cloud provider; it includes the PV binder, attach-detach, endpointslice, serviceaccount(-token), daemonset,
 * deployment, replicaset, garbage collector, PVC protection and ephemeral volume controllers), each with its
 * own service account's credentials (as in kubeadm's clusters), so RBAC applies to each.
 */
export function controllerManagerArgs(l: ControlPlaneLayout, p: ControlPlanePorts): string[] {
  checkPorts(p);
  return [
    `--kubeconfig=${l.controllerManagerKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${p.controllerManager}`,
    `--tls-cert-file=${l.controllerManagerCert}`,
    `--tls-private-key-file=${l.controllerManagerKey}`,
    // One instance: no lease to win first (which would cost the lease duration on a restart).
    '--leader-elect=false',
    '--controllers=*',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${l.serviceAccountKey}`,
    // Into every namespace's kube-root-ca.crt ConfigMap, which projected service-account volumes carry as ca.crt.
    `--root-ca-file=${l.ca}`,
    `--cluster-signing-cert-file=${l.ca}`,
    `--cluster-signing-key-file=${l.caKey}`,
    // The defaults (5 s, 50 s), written out: a guest under TCG may miss a status update or two; 50 s allows 5.
    '--node-monitor-period=5s',
    '--node-monitor-grace-period=50s',
  ];
}

export function schedulerArgs(l: ControlPlaneLayout, p: ControlPlanePorts): string[] {
  checkPorts(p);
  return [
    `--kubeconfig=${l.schedulerKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${p.scheduler}`,
    `--tls-cert-file=${l.schedulerCert}`,
    `--tls-private-key-file=${l.schedulerKey}`,
    '--leader-elect=false',
  ];
}

/** snapshot-controller (external-snapshotter's common controller), one instance, metrics on loopback to tell it runs. */
export function snapshotControllerArgs(l: ControlPlaneLayout, p: ControlPlanePorts): string[] {
  checkPorts(p);
  return [`--kubeconfig=${l.snapshotControllerKubeconfig}`, '--leader-election=false', `--http-endpoint=127.0.0.1:${p.snapshotController}`];
}

/** Who holds a token: the user name and groups the API server gives its bearer. */
export interface TokenUser {
  readonly token: string;
  readonly user: string;
  readonly groups: readonly string[];
}

/**
 * The static token file (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file):
 * `token,user,uid,"group1,group2"` per line. Tokens and names are checked so that no line can be forged.
 */
export function tokenFile(users: readonly TokenUser[]): string {
  return users
    .map(({ token, user, groups }) => {
      if (!/^[A-Za-z0-9]{32,}$/.test(token)) throw new Error(`the token of ${user} is not 32 or more letters and digits`);
      for (const name of [user, ...groups]) {
        if (!/^[a-z0-9][a-z0-9:.-]*$/.test(name)) throw new Error(`${JSON.stringify(name)} is not a user or group name the token file can hold`);
      }
      return `${token},${user},${user},"${groups.join(',')}"`;
    })
    .join('\n')
    .concat('\n');
}

/** A kubeconfig with one cluster, user and context; JSON, which every kubeconfig reader takes (YAML's superset). */
export function kubeconfig(opts: { readonly server: string; readonly caPem: string; readonly user: string; readonly token: string }): string {
  const url = new URL(opts.server);
  if (url.protocol !== 'https:' || isIP(url.hostname) === 0) throw new Error(`the API server URL must be https to an IP address, not ${opts.server}`);
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'vbs-e2e', cluster: { server: opts.server, 'certificate-authority-data': Buffer.from(opts.caPem).toString('base64') } }],
      users: [{ name: opts.user, user: { token: opts.token } }],
      contexts: [{ name: 'vbs-e2e', context: { cluster: 'vbs-e2e', user: opts.user } }],
      'current-context': 'vbs-e2e',
    },
    null,
    2,
  )}\n`;
}
