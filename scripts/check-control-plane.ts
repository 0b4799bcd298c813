/**
 * Starts the cluster scenarios' host-side control plane (e2e/cluster/controlPlane.ts: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, snapshot-controller and the snapshot CRDs) in a temporary
 * directory and checks that it works without a node: namespaces list; the VolumeSnapshot CRD is served;
 * the `kubernetes` Service is at 10.0.2.1; a TokenRequest returns a token and kube-root-ca.crt holds the CA;
 * a Deployment gets a ReplicaSet and a (Pending) Pod; a PVC of a StorageClass of vbs.csi.io is handed to the
 * external provisioner by the PV binder; the kubelet's identity is authenticated and authorized by the Node
 * authorizer (its Node is 404, not 401/403; all secrets 403); no token is 401. Then stops it, checks that no
 * log holds a token or key, and removes the directory (kept, with the logs printed, on failure). It needs no
 * storage kernel (docs/kubernetes-test-bed.md).
 *
 * Usage: node scripts/check-control-plane.ts   (exits 0 when all passed; prints the time each step took)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../e2e/cluster/controlPlane.ts';
import { secretsInLogs } from '../e2e/cluster/controlPlaneCredentials.ts';
import { KUBERNETES_SERVICE_IP, NODE_NAME } from '../e2e/cluster/controlPlaneArgs.ts';
import { pollUntil } from '../e2e/vm/poll.ts';

const CHECK_DEADLINE_MS = 120_000;
const PROVISIONER = 'vbs.csi.io';

/** The HTTP status of an API call that is expected to fail, or 200. */
async function statusOf(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (err: unknown) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

/** The kubelet's kubeconfig (server https://10.0.2.1:443 for the guest) pointed at the host's API server port. */
async function kubeletOnHost(cp: ControlPlane): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const guest = new KubeConfig();
  guest.loadFromFile(cp.kubeletKubeconfig);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: guest.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${cp.apiPort}` })),
    users: guest.users,
    contexts: guest.contexts,
    currentContext: guest.currentContext,
  });
  return kc;
}

/** A GET without credentials, for the 401 of an unauthenticated caller. */
function anonymousStatus(port: number, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/namespaces', ca, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function checkCluster(cp: ControlPlane, step: <T>(what: string, fn: () => Promise<T>) => Promise<T>): Promise<void> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const storage = kc.makeApiClient(k8s.StorageV1Api);
  const crds = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const deadlineMs = Date.now() + CHECK_DEADLINE_MS;
  const ns = 'default';

  await step('namespaces listed', async () => {
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    if (!names.includes('kube-system')) throw new Error(`no kube-system among the namespaces: ${names.join(', ')}`);
  });
  await step('CRD volumesnapshots.snapshot.storage.k8s.io served', async () => {
    const crd = await crds.readCustomResourceDefinition({ name: 'volumesnapshots.snapshot.storage.k8s.io' });
    if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) throw new Error('volumesnapshots is not Established');
  });
  await step(`the kubernetes Service at ${KUBERNETES_SERVICE_IP}`, async () => {
    const ip = (await core.readNamespacedService({ name: 'kubernetes', namespace: ns })).spec?.clusterIP;
    if (ip !== KUBERNETES_SERVICE_IP) throw new Error(`the kubernetes Service's ClusterIP is ${ip}, not ${KUBERNETES_SERVICE_IP}`);
  });

  await step('service-account tokens issued; kube-root-ca.crt holds the cluster CA', async () => {
    // What the kubelet mounts into every pod: a TokenRequest token (the signing key) and the CA (--root-ca-file);
    // startControlPlane waited for the default ServiceAccount and this ConfigMap.
    const request = await core.createNamespacedServiceAccountToken({ name: 'default', namespace: ns, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    if (!request.status?.token) throw new Error('the TokenRequest returned no token');
    const ca = readFileSync(cp.caFile, 'utf8');
    const published = await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: ns });
    if (published.data?.['ca.crt']?.trim() !== ca.trim()) throw new Error("kube-root-ca.crt's ca.crt is not the cluster CA");
  });

  await step('Deployment → ReplicaSet → Pending Pod', async () => {
    const labels = { app: 'control-plane-check' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'control-plane-check' },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'x', image: 'x' }] } } },
      },
    });
    const selector = 'app=control-plane-check';
    await pollUntil(async () => ((await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: selector })).items.length > 0 ? true : undefined), {
      deadlineMs,
      what: "the Deployment's ReplicaSet",
    });
    const pod = await pollUntil(async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items[0], { deadlineMs, what: "the ReplicaSet's Pod" });
    // The scheduler finds no node: the Pod stays Pending, and says so in its PodScheduled condition.
    if (pod.status?.phase !== 'Pending') throw new Error(`the Pod is ${pod.status?.phase}, not Pending, without a node`);
  });

  await step(`PVC handed to the external provisioner ${PROVISIONER}`, async () => {
    await storage.createStorageClass({ body: { metadata: { name: 'control-plane-check' }, provisioner: PROVISIONER, volumeBindingMode: 'Immediate' } });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'control-plane-check' }, spec: { storageClassName: 'control-plane-check', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    // The PV binder names the provisioner in this annotation and records an ExternalProvisioning event.
    await pollUntil(
      async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'control-plane-check', namespace: ns });
        return pvc.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'] === PROVISIONER ? true : undefined;
      },
      { deadlineMs, what: 'the volume.kubernetes.io/storage-provisioner annotation on the PVC' },
    );
    await pollUntil(
      async () =>
        (await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=control-plane-check,involvedObject.kind=PersistentVolumeClaim' })).items.some(
          (e) => e.reason === 'ExternalProvisioning',
        )
          ? true
          : undefined,
      { deadlineMs, what: "the PVC's ExternalProvisioning event" },
    );
  });

  await step(`the kubelet's identity (system:node:${NODE_NAME}) accepted`, async () => {
    const kubelet = (await kubeletOnHost(cp)).makeApiClient(k8s.CoreV1Api);
    const own = await statusOf(() => kubelet.readNode({ name: NODE_NAME }));
    // The Node authorizer lets a node read nodes, but not list secrets; NodeRestriction is admission, not tested here.
    const secrets = await statusOf(() => kubelet.listSecretForAllNamespaces());
    const anonymous = await anonymousStatus(cp.apiPort, readFileSync(cp.caFile, 'utf8'));
    const problems = [
      own !== 404 && `GET /api/v1/nodes/${NODE_NAME} as the kubelet answered ${own}, not 404`,
      secrets !== 403 && `listing all secrets as the kubelet answered ${secrets}, not 403`,
      anonymous !== 401 && `a request without a token answered ${anonymous}, not 401`,
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length > 0) throw new Error(problems.join('; '));
  });
}

export async function checkControlPlane(log: (line: string) => void = (line) => console.error(line)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vbs-control-plane-'));
  const t0 = Date.now();
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const value = await fn();
    log(`check: ${what}: ${Date.now() - started} ms`);
    return value;
  };
  let cp: ControlPlane | undefined;
  let failed = true;
  let leaking: string[] = [];
  try {
    cp = await startControlPlane({ dir, log });
    await checkCluster(cp, step);
    failed = false;
    log(`check: all passed, ${((Date.now() - t0) / 1000).toFixed(1)} s since the start`);
  } finally {
    if (failed && cp) log(`control plane: logs\n${cp.logs()}`);
    if (cp) {
      const stopping = Date.now();
      await cp.stop();
      log(`control plane: stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
      leaking = secretsInLogs(dir);
      if (leaking.length === 0) log('check: no token or key line in any component log');
    }
    // Kept for a look after a failure, unless nothing was started in it.
    if ((failed || leaking.length > 0) && readdirSync(dir).length > 0) log(`control plane: files and logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  if (leaking.length > 0) throw new Error(`a token or a private key's line is in ${leaking.join(', ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  checkControlPlane().catch((err: unknown) => {
    console.error(`control plane: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
