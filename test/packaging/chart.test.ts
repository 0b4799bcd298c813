import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parseConfig.ts';
import { issueCertificate } from '../../src/tls/index.ts';
import { pemPair } from '../../src/tls/pemPair.ts';
import { chartDir, find, helm, type K8sObject, MODELS, render, SNAPSHOT_API } from './support.ts';

interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  grpc?: { port: number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: { exec?: { command: string[] } } };
  ports?: { name?: string; containerPort: number }[];
  securityContext?: { privileged?: boolean };
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string; readOnly?: boolean }[];
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  nodeSelector?: Record<string, string>;
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string }; secret?: { secretName: string }; emptyDir?: object }[];
}
type Workload = K8sObject & { spec: { template: { spec: PodSpec } } };

const workload = (objects: readonly K8sObject[], kind: string, name: string): Workload => find(objects, kind, name) as Workload;
const container = (w: Workload, name: string): Container => {
  const c = w.spec.template.spec.containers.find((x) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
};
const hostPaths = (w: Workload): Map<string, string> => {
  const volumes = new Map(w.spec.template.spec.volumes.flatMap((v) => (v.hostPath ? [[v.name, v.hostPath.path] as const] : [])));
  const out = new Map<string, string>();
  for (const m of container(w, 'vbs-csi').volumeMounts ?? []) {
    const host = volumes.get(m.name);
    if (host) out.set(host, m.mountPropagation ?? (m.readOnly ? 'ro' : 'rw'));
  }
  return out;
};

/** NOTES.txt as `helm install` prints it, rendered by helm template (install takes no --api-versions). */
function notes(args: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'vbs-csi-notes-'));
  try {
    cpSync(chartDir, join(dir, 'vbs-csi'), { recursive: true });
    writeFileSync(join(dir, 'vbs-csi', 'templates', 'notes-probe.yaml'), 'notes: {{ include "vbs-csi.notes" . | toJson }}\n');
    const { status, output } = helm(['template', 'vbs-csi', join(dir, 'vbs-csi'), '--namespace', 'vbs-csi', '--show-only', 'templates/notes-probe.yaml', ...args]);
    assert.equal(status, 0, output);
    return JSON.parse(output.slice(output.indexOf('notes: ') + 'notes: '.length)) as string;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('charts/vbs-csi', () => {
  const objects = render();

  it('passes helm lint --strict', () => {
    const { status, output } = helm(['lint', '--strict', chartDir]);
    assert.equal(status, 0, output);
    assert.match(output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders a CSIDriver with attach, fsGroupPolicy File, Persistent only and storage capacity', () => {
    assert.deepEqual(find(objects, 'CSIDriver', 'vbs.csi.io')['spec'], {
      attachRequired: true,
      podInfoOnMount: false,
      fsGroupPolicy: 'File',
      volumeLifecycleModes: ['Persistent'],
      requiresRepublish: false,
      storageCapacity: true,
      seLinuxMount: true,
    });
  });

  it('runs the controller with every sidecar, topology and capacity tracking on, and mTLS to the agents Service', () => {
    const d = workload(objects, 'Deployment', 'vbs-csi-controller');
    const names = d.spec.template.spec.containers.map((c) => c.name).sort();
    assert.deepEqual(names, ['csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter', 'liveness-probe', 'vbs-csi']);
    const provisioner = container(d, 'csi-provisioner').args ?? [];
    for (const a of ['--feature-gates=Topology=true', '--enable-capacity', '--capacity-ownerref-level=2', '--leader-election']) assert.ok(provisioner.includes(a), a);
    const args = container(d, 'vbs-csi').args ?? [];
    assert.equal(args[0], 'controller');
    for (const a of [
      '--agents-service=vbs-csi/vbs-csi-agent:agent-api',
      '--agent-server-name=vbs-csi-agent.vbs-csi.svc',
      '--tls-ca=/etc/vbs/tls/ca.crt',
      '--client-tls-cert=/etc/vbs/tls/tls.crt',
      '--client-tls-key=/etc/vbs/tls/tls.key',
    ]) assert.ok(args.includes(a), a);
    assert.equal(container(d, 'vbs-csi').securityContext?.privileged, undefined);
    assert.notEqual(d.spec.template.spec.hostNetwork, true);
  });

  it('runs the node plugin privileged on the host network with the iSCSI and kubelet host paths', () => {
    const ds = workload(objects, 'DaemonSet', 'vbs-csi-node');
    assert.equal(ds.spec.template.spec.hostNetwork, true);
    assert.equal(container(ds, 'vbs-csi').securityContext?.privileged, true);
    const args = container(ds, 'vbs-csi').args ?? [];
    assert.deepEqual(args.slice(0, 2), ['node', '--endpoint=unix:///csi/csi.sock']);
    assert.ok(args.includes('--node-id=$(NODE_NAME)'));
    const paths = hostPaths(ds);
    assert.equal(paths.get('/var/lib/kubelet'), 'Bidirectional');
    assert.equal(paths.get('/lib/modules'), 'ro');
    for (const p of ['/dev', '/sys', '/etc/iscsi', '/var/lib/iscsi', '/run/lock/iscsi', '/var/lib/vbs-csi/node']) assert.ok(paths.has(p), p);
    // iscsiadm, dmsetup and udevadm are the host's, entered through PID 1 (docs/containers.md)
    assert.ok(args.includes('--host-exec=nsenter'));
    assert.equal(ds.spec.template.spec.hostPID, true);
    assert.notEqual(ds.spec.template.spec.hostIPC, true);
    assert.ok(!paths.has('/run/udev'));
    assert.ok(container(ds, 'node-driver-registrar').args?.includes('--kubelet-registration-path=/var/lib/kubelet/plugins/vbs.csi.io/csi.sock'));
  });

  it('runs the agent on labelled storage nodes with its portal on the node IP and a headless Service', () => {
    const ds = workload(objects, 'DaemonSet', 'vbs-csi-agent');
    assert.equal(ds.spec.template.spec.hostNetwork, true);
    assert.equal(ds.spec.template.spec.nodeSelector?.['vbs.csi.io/storage'], 'true');
    const args = container(ds, 'vbs-csi').args ?? [];
    for (const a of ['agent', '--vg=vbs', '--portal=$(POD_IP):3260', '--agent-listen=tcp://0.0.0.0:9500', '--labels=tier=standard', '--chap-key-file=/etc/vbs/chap/key']) {
      assert.ok(args.includes(a), a);
    }
    const paths = hostPaths(ds);
    for (const p of ['/dev', '/sys', '/lib/modules']) assert.ok(paths.has(p), p);
    // lvm is the host's, entered through PID 1: no lvm or udev state of the host in the container
    assert.ok(args.includes('--host-exec=nsenter'));
    assert.equal(ds.spec.template.spec.hostPID, true);
    assert.notEqual(ds.spec.template.spec.hostIPC, true);
    for (const p of ['/run/lvm', '/run/lock/lvm', '/etc/lvm', '/run/udev']) assert.ok(!paths.has(p), p);
    const svc = find(objects, 'Service', 'vbs-csi-agent') as K8sObject & { spec: { clusterIP: string; publishNotReadyAddresses: boolean; ports: { port: number }[] } };
    assert.equal(svc.spec.clusterIP, 'None');
    assert.equal(svc.spec.publishNotReadyAddresses, false);
    assert.equal(svc.spec.ports[0]?.port, 9500);
  });

  it('offers an expandable, wait-for-consumer StorageClass', () => {
    const sc = find(objects, 'StorageClass', 'vbs-thin');
    assert.equal(sc['provisioner'], 'vbs.csi.io');
    assert.equal(sc['allowVolumeExpansion'], true);
    assert.equal(sc['volumeBindingMode'], 'WaitForFirstConsumer');
  });

  it('renders the VolumeSnapshotClass only where the snapshot API exists', () => {
    assert.equal(objects.filter((o) => o.kind === 'VolumeSnapshotClass').length, 0, 'no snapshot API (helm template knows no cluster): no class');
    const withApi = render(['--api-versions', SNAPSHOT_API]);
    const vsc = find(withApi, 'VolumeSnapshotClass', 'vbs-snapshot');
    assert.equal(vsc['driver'], 'vbs.csi.io');
    assert.equal(vsc['deletionPolicy'], 'Delete');
    // Another group version of the API is not enough: the class is snapshot.storage.k8s.io/v1.
    assert.equal(render(['--api-versions', 'snapshot.storage.k8s.io/v1beta1/VolumeSnapshotClass']).filter((o) => o.kind === 'VolumeSnapshotClass').length, 0);
    assert.equal(render(['--api-versions', SNAPSHOT_API, '--set', 'volumeSnapshotClass.create=false']).filter((o) => o.kind === 'VolumeSnapshotClass').length, 0);
    // Everything else is the same with and without the API.
    const others = (list: readonly K8sObject[]) => list.filter((o) => o.kind !== 'VolumeSnapshotClass').map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(others(withApi), others(objects));
  });

  it('NOTES.txt says which snapshot API is missing and how to check, or that the class is installed', () => {
    const installed = helm(['install', 'vbs-csi', chartDir, '--dry-run=client', '--namespace', 'vbs-csi']);
    assert.equal(installed.status, 0, installed.output);
    const without = installed.output.slice(installed.output.indexOf('NOTES:'));
    assert.equal(without.replace(/^NOTES:\n/, '').trim(), notes([]).trim(), 'NOTES.txt is the vbs-csi.notes template');
    assert.match(without, /no VolumeSnapshotClass was installed: this cluster does not serve snapshot\.storage\.k8s\.io\/v1/);
    assert.match(without, /kubectl api-resources --api-group=snapshot\.storage\.k8s\.io/);
    assert.match(without, /snapshot-controller/);
    assert.match(without, /kubectl get csidriver vbs\.csi\.io/);
    const withApi = notes(['--api-versions', SNAPSHOT_API]);
    assert.doesNotMatch(withApi, /WARNING/);
    assert.match(withApi, /VolumeSnapshotClass "vbs-snapshot" is installed/);
    assert.doesNotMatch(notes(['--set', 'volumeSnapshotClass.create=false']), /VolumeSnapshotClass/, 'not asked for: nothing to say');
  });

  const secretsOf = (w: Workload) => w.spec.template.spec.volumes.flatMap((v) => (v.secret ? [v.secret.secretName] : [])).sort();
  const emptyDirs = (w: Workload) => w.spec.template.spec.volumes.flatMap((v) => ('emptyDir' in v ? [v.name] : [])).sort();
  const annotations = (w: Workload) => (w.spec.template as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {};

  it('issued in the cluster: the agent and node plugin can write their certificates (read-only only when external)', () => {
    // A read-only mount here left every agent and node plugin without a certificate (EROFS), found by the cluster test bed.
    const tlsMount = (objects: readonly K8sObject[], name: string, volume: string) => container(workload(objects, 'DaemonSet', name), 'vbs-csi').volumeMounts?.find((m) => m.name === volume);
    const issued = render([]);
    assert.equal(tlsMount(issued, 'vbs-csi-agent', 'tls')?.readOnly, false);
    assert.equal(tlsMount(issued, 'vbs-csi-node', 'node-tls')?.readOnly, false);
    const external = render(['--set', 'certificates.source=external']);
    assert.equal(tlsMount(external, 'vbs-csi-agent', 'tls')?.readOnly, true);
    assert.equal(tlsMount(external, 'vbs-csi-node', 'node-tls')?.readOnly, true);
  });

  it('external: mounts the Secrets it names and the hosts\' node certificates, and renders none', () => {
    const external = render(['--set', 'certificates.source=external']);
    assert.equal(external.filter((o) => o.kind === 'Secret').length, 0);
    assert.deepEqual(secretsOf(workload(external, 'DaemonSet', 'vbs-csi-agent')), ['vbs-csi-agent-tls', 'vbs-csi-chap']);
    assert.deepEqual(secretsOf(workload(external, 'Deployment', 'vbs-csi-controller')), ['vbs-csi-controller-tls']);
    assert.ok(hostPaths(workload(external, 'DaemonSet', 'vbs-csi-node')).has('/etc/vbs-csi/node-tls'));
    for (const [kind, name] of [['DaemonSet', 'vbs-csi-agent'], ['DaemonSet', 'vbs-csi-node'], ['Deployment', 'vbs-csi-controller']] as const) {
      const args = container(workload(external, kind, name), 'vbs-csi').args ?? [];
      assert.ok(!args.some((a) => /^--(certificate-signer|signer-ca-dir|issue-own-certificate)/.test(a)), name);
    }
    assert.ok(!external.some((o) => o.metadata.name.endsWith('-signer') || o.metadata.name.endsWith('-certificate-requester')), 'no CSR RBAC');
  });

  it('external: renders the three Secrets with secrets.create, and refuses to without their values', () => {
    const withValues = render([
      '--set', 'certificates.source=external,secrets.create=true,secrets.chap.key=k',
      '--set', 'secrets.agentTls.caCrt=a,secrets.agentTls.tlsCrt=b,secrets.agentTls.tlsKey=c',
      '--set', 'secrets.controllerTls.caCrt=a,secrets.controllerTls.tlsCrt=d,secrets.controllerTls.tlsKey=e',
    ]);
    assert.deepEqual(Object.keys(find(withValues, 'Secret', 'vbs-csi-chap')['stringData'] as object), ['key']);
    assert.deepEqual(Object.keys(find(withValues, 'Secret', 'vbs-csi-agent-tls')['stringData'] as object).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const { status, output } = helm(['template', 'vbs-csi', chartDir, '--set', 'certificates.source=external,secrets.create=true']);
    assert.notEqual(status, 0);
    assert.match(output, /secrets\.chap\.key is required/);
  });

  it('generate (the default): an ECDSA P-256 cluster CA and a CHAP key kept on uninstall; the controller alone mounts the CA', () => {
    const ca = find(objects, 'Secret', 'vbs-csi-ca') as K8sObject & { type: string; data: Record<string, string> };
    assert.equal(ca.type, 'kubernetes.io/tls');
    const caCert = new X509Certificate(Buffer.from(ca.data['tls.crt'] ?? '', 'base64'));
    assert.equal(caCert.ca, true);
    const caKey = createPrivateKey(Buffer.from(ca.data['tls.key'] ?? '', 'base64'));
    assert.deepEqual([caKey.asymmetricKeyType, caKey.asymmetricKeyDetails?.namedCurve], ['ec', 'prime256v1'], 'vbs-csi signs with P-256 CA keys only');
    assert.ok(caCert.checkPrivateKey(caKey));
    const chap = find(objects, 'Secret', 'vbs-csi-chap') as K8sObject & { data: Record<string, string>; metadata: { annotations?: Record<string, string> } };
    assert.ok(Buffer.from(chap.data['key'] ?? '', 'base64').length >= 32);
    assert.equal(chap.metadata.annotations?.['helm.sh/resource-policy'], 'keep', 'volumes outlive the release, and their CHAP secrets derive from this key');
    const agent = workload(objects, 'DaemonSet', 'vbs-csi-agent');
    const node = workload(objects, 'DaemonSet', 'vbs-csi-node');
    const controller = workload(objects, 'Deployment', 'vbs-csi-controller');
    assert.deepEqual(secretsOf(agent), ['vbs-csi-chap']);
    assert.deepEqual(secretsOf(node), []);
    assert.deepEqual(secretsOf(controller), ['vbs-csi-ca']);
    assert.deepEqual([emptyDirs(agent).includes('tls'), emptyDirs(node).includes('node-tls'), emptyDirs(controller).includes('tls')], [true, true, true]);
    assert.ok(!hostPaths(node).has('/etc/vbs-csi/node-tls'), 'nothing provisioned on the hosts');
    const sum = createHash('sha256').update(caCert.toString()).digest('hex');
    for (const w of [agent, node, controller]) assert.equal(annotations(w)['checksum/ca'], sum, `${w.metadata.name} restarts when the CA changes`);
    const args = (w: Workload) => container(w, 'vbs-csi').args ?? [];
    for (const a of ['--certificate-signer=vbs.csi.io/agent', '--certificate-dns-names=vbs-csi-agent.vbs-csi.svc']) assert.ok(args(agent).includes(a), a);
    assert.ok(args(node).includes('--certificate-signer=vbs.csi.io/node'));
    for (const a of ['--signer-ca-dir=/etc/vbs/ca', '--agent-service-account=vbs-csi/vbs-csi-agent', '--node-service-account=vbs-csi/vbs-csi-node', '--issue-own-certificate=true']) {
      assert.ok(args(controller).includes(a), a);
    }
  });

  it('generate: the controller can sign with the CA Helm made (genCAWithKey\'s SEC1 key), for the identities agents need', async () => {
    const ca = find(render(), 'Secret', 'vbs-csi-ca') as K8sObject & { data: Record<string, string> };
    const pair = pemPair({ certPem: Buffer.from(ca.data['tls.crt'] ?? '', 'base64').toString() }, Buffer.from(ca.data['tls.key'] ?? '', 'base64').toString());
    const leaf = await issueCertificate(pair, { commonName: 'agent', usages: 'server', dnsNames: ['vbs-csi-agent.vbs-csi.svc'], identity: { kind: 'agent', storageNode: 'storage-1' }, validDays: 30 });
    assert.ok(new X509Certificate(leaf.certPem).verify(new X509Certificate(pair.certPem).publicKey));
  });

  it('certManager: a self-signed Issuer, a P-256 CA kept at renewal, a CA Issuer, and the controller\'s certificate with its URI', () => {
    const cm = render(['--set', 'certificates.source=certManager']);
    assert.equal(cm.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name).join(), 'vbs-csi-chap', 'only the CHAP key is the chart\'s');
    const caCert = find(cm, 'Certificate', 'vbs-csi-ca')['spec'] as Record<string, unknown>;
    assert.deepEqual([caCert['isCA'], caCert['secretName'], caCert['privateKey'], caCert['issuerRef']], [true, 'vbs-csi-ca', { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' }, { kind: 'Issuer', name: 'vbs-csi-selfsigned' }]);
    assert.deepEqual(find(cm, 'Issuer', 'vbs-csi-selfsigned')['spec'], { selfSigned: {} });
    assert.deepEqual(find(cm, 'Issuer', 'vbs-csi-ca')['spec'], { ca: { secretName: 'vbs-csi-ca' } });
    const ctl = find(cm, 'Certificate', 'vbs-csi-controller')['spec'] as Record<string, unknown>;
    assert.deepEqual([ctl['uris'], ctl['usages'], ctl['secretName'], ctl['issuerRef']], [['urn:vbs-csi:controller'], ['digital signature', 'client auth'], 'vbs-csi-controller-tls', { kind: 'Issuer', name: 'vbs-csi-ca' }]);
    const controller = workload(cm, 'Deployment', 'vbs-csi-controller');
    assert.deepEqual(secretsOf(controller), ['vbs-csi-ca', 'vbs-csi-controller-tls']);
    assert.ok(!(container(controller, 'vbs-csi').args ?? []).includes('--issue-own-certificate=true'), 'cert-manager issues it');
    assert.ok((container(workload(cm, 'DaemonSet', 'vbs-csi-agent'), 'vbs-csi').args ?? []).includes('--certificate-signer=vbs.csi.io/agent'));
  });

  it('refuses an unknown certificates.source (the values schema, before any template runs)', () => {
    const { status, output } = helm(['template', 'vbs-csi', chartDir, '--set', 'certificates.source=vault']);
    assert.notEqual(status, 0);
    assert.match(output, /at '\/certificates\/source': value must be one of 'generate', 'certManager', 'external'/);
  });

  it('by default passes no --zone: node plugins and agents take their Node\'s topology.kubernetes.io/zone label', () => {
    for (const name of ['vbs-csi-node', 'vbs-csi-agent']) {
      const args = container(workload(objects, 'DaemonSet', name), 'vbs-csi').args ?? [];
      assert.deepEqual(args.filter((a) => a.startsWith('--zone') || a.includes('zone=')), [], name);
    }
  });

  it('follows values: driver name, kubelet dir and zones reach every place that uses them', () => {
    const custom = render(['--set', 'driverName=blk.example.com,kubeletDir=/data/kubelet,node.zone=z1,agent.zone=z1']);
    assert.equal(find(custom, 'CSIDriver', 'blk.example.com').kind, 'CSIDriver');
    assert.equal(find(custom, 'StorageClass', 'vbs-thin')['provisioner'], 'blk.example.com');
    const node = workload(custom, 'DaemonSet', 'vbs-csi-node');
    assert.equal(hostPaths(node).get('/data/kubelet'), 'Bidirectional');
    assert.ok(container(node, 'vbs-csi').args?.includes('--zone=z1'));
    assert.ok(container(node, 'node-driver-registrar').args?.includes('--kubelet-registration-path=/data/kubelet/plugins/blk.example.com/csi.sock'));
    assert.ok(container(workload(custom, 'DaemonSet', 'vbs-csi-agent'), 'vbs-csi').args?.includes('--zone=z1'));
  });

  it('serves metrics from every vbs-csi container on a named port of its own, none with metrics.enabled=false', () => {
    const workloads = [workload(objects, 'Deployment', 'vbs-csi-controller'), workload(objects, 'DaemonSet', 'vbs-csi-node'), workload(objects, 'DaemonSet', 'vbs-csi-agent')];
    const expected = [9810, 9811, 9812];
    workloads.forEach((w, i) => {
      const c = container(w, 'vbs-csi');
      assert.ok(c.args?.includes(`--metrics-address=0.0.0.0:${expected[i]}`), `${w.metadata.name}: ${c.args?.join(' ')}`);
      assert.deepEqual(c.ports?.find((p) => p.name === 'metrics')?.containerPort, expected[i]);
    });
    // The node plugin and the agent share the node's network namespace where a node is both.
    const hostPorts = workloads.slice(1).flatMap((w) => w.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)));
    assert.equal(new Set(hostPorts).size, hostPorts.length, `host-network ports collide: ${hostPorts.join(', ')}`);

    const off = render(['--set', 'metrics.enabled=false']);
    for (const [kind, name] of [['Deployment', 'vbs-csi-controller'], ['DaemonSet', 'vbs-csi-node'], ['DaemonSet', 'vbs-csi-agent']] as const) {
      const c = container(workload(off, kind, name), 'vbs-csi');
      assert.ok(!c.args?.some((a) => a.startsWith('--metrics-address')), name);
      assert.equal(c.ports?.find((p) => p.name === 'metrics'), undefined, name);
    }
  });

  const WORKLOADS = [
    ['Deployment', 'vbs-csi-controller'],
    ['DaemonSet', 'vbs-csi-node'],
    ['DaemonSet', 'vbs-csi-agent'],
  ] as const;

  it('sets a CPU request, a memory request and a memory limit on every container (no CPU limit: throttling only slows storage calls)', () => {
    for (const [kind, name] of WORKLOADS) {
      for (const c of workload(objects, kind, name).spec.template.spec.containers) {
        const r = c.resources;
        assert.ok(r?.requests?.['cpu'] !== undefined && r.requests['memory'] !== undefined, `${name}/${c.name} requests: ${JSON.stringify(r)}`);
        assert.ok(r?.limits?.['memory'] !== undefined, `${name}/${c.name} memory limit: ${JSON.stringify(r)}`);
        assert.equal(r?.limits?.['cpu'], undefined, `${name}/${c.name} has no CPU limit`);
      }
    }
    const custom = render(['--set', 'sidecars.provisioner.resources.limits.memory=1Gi,node.resources.requests.memory=200Mi']);
    assert.equal(container(workload(custom, 'Deployment', 'vbs-csi-controller'), 'csi-provisioner').resources?.limits?.['memory'], '1Gi');
    assert.equal(container(workload(custom, 'DaemonSet', 'vbs-csi-node'), 'vbs-csi').resources?.requests?.['memory'], '200Mi');
  });

  it('keeps a PodDisruptionBudget on the controller pods, none when disabled', () => {
    const pdb = find(objects, 'PodDisruptionBudget', 'vbs-csi-controller') as K8sObject & { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } };
    assert.equal(pdb.spec.maxUnavailable, 1);
    const podLabels = (find(objects, 'Deployment', 'vbs-csi-controller') as K8sObject & { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(podLabels[k], v, `the PDB selects the controller pods (${k})`);
    assert.equal(pdb.spec.selector.matchLabels['app.kubernetes.io/component'], 'controller');
    assert.equal(render(['--set', 'controller.podDisruptionBudget.enabled=false']).filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  });

  it('names the filesystem once, as csi.storage.k8s.io/fstype (external-provisioner refuses a class that also has fsType)', () => {
    assert.deepEqual(find(objects, 'StorageClass', 'vbs-thin')['parameters'], { provisioning: 'thin', 'csi.storage.k8s.io/fstype': 'ext4' });
    const xfs = find(render(['--set', 'storageClass.parameters.fsType=xfs']), 'StorageClass', 'vbs-thin')['parameters'] as Record<string, string>;
    assert.equal(xfs['fsType'], undefined);
    assert.equal(xfs['csi.storage.k8s.io/fstype'], 'xfs');
  });

  it('renders replicas only when it is not 1, so an upgrade never adds a key to an existing class', () => {
    assert.equal((find(objects, 'StorageClass', 'vbs-thin')['parameters'] as Record<string, string>)['replicas'], undefined);
    const two = find(render(['--set', 'storageClass.parameters.replicas=2']), 'StorageClass', 'vbs-thin')['parameters'] as Record<string, string>;
    assert.equal(two['replicas'], '2');
    assert.throws(() => render(['--set', 'storageClass.parameters.replicas=4']), /replicas/);
  });

  it('turns CSIDriver seLinuxMount off on request', () => {
    assert.equal((find(render(['--set', 'csiDriver.seLinuxMount=false']), 'CSIDriver', 'vbs.csi.io')['spec'] as Record<string, unknown>)['seLinuxMount'], false);
  });

  it("runs the controller sidecars with --http-endpoint on a port of their own, probed on /healthz/leader-election", () => {
    const d = workload(objects, 'Deployment', 'vbs-csi-controller');
    const ports = new Map<number, string>();
    for (const c of d.spec.template.spec.containers) for (const p of c.ports ?? []) {
      assert.ok(!ports.has(p.containerPort), `port ${p.containerPort} of ${c.name} is also ${ports.get(p.containerPort)}'s`);
      ports.set(p.containerPort, c.name);
    }
    for (const [name, port] of [['csi-provisioner', 9820], ['csi-attacher', 9821], ['csi-resizer', 9822], ['csi-snapshotter', 9823]] as const) {
      const c = container(d, name);
      assert.ok(c.args?.includes(`--http-endpoint=:${port}`), `${name}: ${c.args?.join(' ')}`);
      assert.ok(c.args?.includes('--leader-election'), name);
      assert.ok(!c.args?.some((a) => a.startsWith('--metrics-address')), `${name}: --metrics-address and --http-endpoint are exclusive`);
      const probePort = c.livenessProbe?.httpGet?.port;
      assert.equal(c.livenessProbe?.httpGet?.path, '/healthz/leader-election', name);
      assert.equal(c.ports?.find((p) => p.name === probePort)?.containerPort, port, `${name} probes its own endpoint`);
      // A slow first start (it serves HTTP only once it has reached the driver) is not a hang.
      assert.deepEqual(c.startupProbe?.httpGet, c.livenessProbe?.httpGet, `${name}: the startup probe asks what liveness asks`);
      const window = (c.startupProbe?.periodSeconds ?? 10) * (c.startupProbe?.failureThreshold ?? 3);
      assert.ok(window >= 300, `${name}: the startup probe allows ${window} s`);
    }
  });

  it('runs every sidecar at the release values.yaml pins, from registry.k8s.io/sig-storage', () => {
    const images = new Set<string>();
    for (const [kind, name] of WORKLOADS) for (const c of workload(objects, kind, name).spec.template.spec.containers) if (c.name !== 'vbs-csi') images.add(c.image ?? '');
    assert.deepEqual([...images].sort(), [
      'registry.k8s.io/sig-storage/csi-attacher:v4.13.0',
      'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0',
      'registry.k8s.io/sig-storage/csi-provisioner:v6.4.0',
      'registry.k8s.io/sig-storage/csi-resizer:v2.3.0',
      'registry.k8s.io/sig-storage/csi-snapshotter:v8.7.0',
      'registry.k8s.io/sig-storage/livenessprobe:v2.20.0',
    ]);
  });

  it('probes liveness apart from readiness: liveness is the process\'s /livez, readiness is Probe through the livenessprobe sidecar', () => {
    for (const [kind, name] of WORKLOADS) {
      const w = workload(objects, kind, name);
      const vbs = container(w, 'vbs-csi');
      const portOf = (probe: Probe | undefined) => vbs.ports?.find((p) => p.name === probe?.httpGet?.port)?.containerPort;
      assert.equal(vbs.livenessProbe?.httpGet?.path, '/livez', name);
      assert.ok(vbs.args?.includes(`--health-address=0.0.0.0:${portOf(vbs.livenessProbe)}`), `${name}: /livez is served where the probe looks`);
      assert.equal(vbs.readinessProbe?.httpGet?.path, '/healthz', name);
      const sidecar = container(w, 'liveness-probe');
      assert.ok(sidecar.args?.includes(`--http-endpoint=:${portOf(vbs.readinessProbe)}`), `${name}: readiness asks the livenessprobe sidecar (CSI Probe)`);
    }
  });

  it('starts the sidecars once the driver\'s socket exists: vbs-csi comes first and its postStart hook waits for the socket they dial', async () => {
    for (const [kind, name] of WORKLOADS) {
      const w = workload(objects, kind, name);
      const containers = w.spec.template.spec.containers;
      const dialled = containers.flatMap((c) => c.args ?? []).filter((a) => a.startsWith('--csi-address=')).map((a) => a.slice('--csi-address='.length));
      if (dialled.length === 0) continue; // the agent: no sidecars
      assert.equal(containers[0]!.name, 'vbs-csi', `${name}: the kubelet starts containers in order`);
      const command = containers[0]!.lifecycle?.postStart?.exec?.command;
      assert.ok(command, `${name}: no postStart hook`);
      for (const socket of new Set(dialled)) assert.ok(command.join(' ').includes(`[ -S ${socket} ]`), `${name}: the hook waits for ${socket}`);
    }
    // Without sidecars nothing waits for the socket: an agent serves it only once its certificate is signed,
    // which may take longer than the hook's limit on a fresh install.
    const bare = render(['--set', 'sidecars.livenessProbe.enabled=false', '--set', 'node.kubeletRegistration=builtin']);
    for (const [kind, name] of [['DaemonSet', 'vbs-csi-agent'], ['DaemonSet', 'vbs-csi-node']] as const) {
      assert.deepEqual(workload(bare, kind, name).spec.template.spec.containers.map((c) => c.name), ['vbs-csi']);
      assert.equal(container(workload(bare, kind, name), 'vbs-csi').lifecycle, undefined, `${name}: a hook with no sidecar to wait for it`);
    }
    assert.ok(container(workload(bare, 'Deployment', 'vbs-csi-controller'), 'vbs-csi').lifecycle?.postStart, 'the controller keeps its hook: its sidecars are not optional');
    // The hook itself, run by a real sh against a socket in a temporary directory.
    const command = container(workload(objects, 'Deployment', 'vbs-csi-controller'), 'vbs-csi').lifecycle!.postStart!.exec!.command;
    const dir = mkdtempSync(join(tmpdir(), 'vbs-hook-'));
    try {
      const script = command[2]!.replaceAll('/csi/csi.sock', join(dir, 'csi.sock'));
      const run = (env: NodeJS.ProcessEnv) => spawnSync(command[0]!, [command[1]!, script], { env, encoding: 'utf8', timeout: 30_000 });
      // No socket: with a `sleep` that returns at once, the 300 tries end in a failure that says why.
      mkdirSync(join(dir, 'bin'));
      writeFileSync(join(dir, 'bin', 'sleep'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      const absent = run({ PATH: `${join(dir, 'bin')}:${process.env['PATH']}` });
      assert.equal(absent.status, 1);
      assert.match(absent.stderr, /^no CSI socket at \S+csi\.sock after 300 s$/m);
      const server = createServer().listen(join(dir, 'csi.sock'));
      await once(server, 'listening');
      try {
        const present = run(process.env);
        assert.equal(present.status, 0, present.stderr);
      } finally {
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the kernel modules at start on workers and storage nodes, unless told not to', () => {
    for (const name of ['vbs-csi-node', 'vbs-csi-agent']) {
      assert.ok(container(workload(objects, 'DaemonSet', name), 'vbs-csi').args?.includes('--load-kernel-modules=true'), name);
    }
    assert.ok(!container(workload(objects, 'Deployment', 'vbs-csi-controller'), 'vbs-csi').args?.some((a) => a.startsWith('--load-kernel-modules')));
    const off = render(['--set', 'node.loadKernelModules=false,agent.loadKernelModules=false']);
    for (const name of ['vbs-csi-node', 'vbs-csi-agent']) assert.ok(!container(workload(off, 'DaemonSet', name), 'vbs-csi').args?.some((a) => a.startsWith('--load-kernel-modules')), name);
  });

  /** Every container of every workload in `rendered`. */
  const allContainers = (rendered: readonly K8sObject[]) =>
    WORKLOADS.flatMap(([kind, name]) => workload(rendered, kind, name).spec.template.spec.containers.map((c) => ({ workload: name, c })));

  /** Each probe of each container asks a port that container declares (by name or number). */
  const assertProbesHitDeclaredPorts = (rendered: readonly K8sObject[]) => {
    for (const { workload: name, c } of allContainers(rendered)) {
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        if (!probe) continue;
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
        assert.ok(
          c.ports?.some((p) => p.name === port || p.containerPort === port),
          `${name}/${c.name}: a probe asks port ${String(port)}, which the container does not declare (${JSON.stringify(c.ports)})`,
        );
      }
    }
  };

  /** Every object the kubernetes-models schemas know validates against them. */
  const assertValid = (rendered: readonly K8sObject[], label: string) => {
    let validated = 0;
    for (const o of rendered) {
      const model = MODELS.get(`${o.apiVersion}/${o.kind}`);
      if (!model) continue;
      assert.doesNotThrow(() => new model(o).validate(), `${label}: ${o.kind} ${o.metadata.name}`);
      validated++;
    }
    assert.ok(validated >= 3, `${label}: only ${validated} objects validated`);
  };

  it('node.kubeletRegistration=builtin: no node-driver-registrar; the node plugin registers itself through a mount of plugins_registry', () => {
    const sidecar = workload(objects, 'DaemonSet', 'vbs-csi-node');
    assert.ok(container(sidecar, 'node-driver-registrar'), 'the default is the sidecar');
    assert.ok(!container(sidecar, 'vbs-csi').args?.some((a) => a.startsWith('--kubelet-registration')), 'no built-in registration by default');

    for (const kubeletDir of ['/var/lib/kubelet', '/var/snap/microk8s/common/var/lib/kubelet']) {
      const rendered = render(['--set', `node.kubeletRegistration=builtin,kubeletDir=${kubeletDir}`]);
      assertValid(rendered, `builtin, ${kubeletDir}`);
      assertProbesHitDeclaredPorts(rendered);
      const node = workload(rendered, 'DaemonSet', 'vbs-csi-node');
      const names = node.spec.template.spec.containers.map((c) => c.name);
      assert.deepEqual(names, ['vbs-csi', 'liveness-probe'], 'no node-driver-registrar container');
      assert.ok(!node.spec.template.spec.containers.some((c) => c.image?.includes('csi-node-driver-registrar')));
      const vbs = container(node, 'vbs-csi');
      assert.ok(vbs.args?.includes('--kubelet-registration-dir=/registration'), JSON.stringify(vbs.args));
      assert.ok(vbs.args?.includes(`--kubelet-registration-path=${kubeletDir}/plugins/vbs.csi.io/csi.sock`), JSON.stringify(vbs.args));
      assert.equal(hostPaths(node).get(`${kubeletDir}/plugins_registry`), 'rw', 'plugins_registry is mounted writable');
      assert.equal(vbs.volumeMounts?.find((m) => m.name === 'registration-dir')?.mountPath, '/registration');
      // The CSI socket kubelet is told about is where the container serves it: /csi is the plugin directory.
      assert.equal(hostPaths(node).has(`${kubeletDir}/plugins/vbs.csi.io`), true);
      assert.ok(vbs.args?.includes('--endpoint=unix:///csi/csi.sock'));
      assert.equal(vbs.volumeMounts?.find((m) => m.name === 'plugin-dir')?.mountPath, '/csi');
      for (const probe of [vbs.livenessProbe, vbs.readinessProbe]) assert.notEqual(probe?.httpGet?.port, 'registrar');

      const parsed = parseConfig((vbs.args ?? []).map((a) => a.replace('$(NODE_NAME)', 'worker-1')), {});
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
      assert.deepEqual(parsed.config.node?.kubeletRegistration, { dir: '/registration', csiSocketOnHost: `${kubeletDir}/plugins/vbs.csi.io/csi.sock` });
    }
  });

  it('sidecars.livenessProbe.enabled=false: no livenessprobe anywhere; readiness is the process\'s /readyz on its livez port', () => {
    for (const extra of [[], ['--set', 'node.kubeletRegistration=builtin']]) {
      const rendered = render(['--set', 'sidecars.livenessProbe.enabled=false', ...extra]);
      assertValid(rendered, `livenessProbe off ${extra.join(' ')}`);
      assertProbesHitDeclaredPorts(rendered);
      assert.ok(!JSON.stringify(rendered).includes('sig-storage/livenessprobe'), 'the livenessprobe image appears nowhere');
      for (const [kind, name] of WORKLOADS) {
        const w = workload(rendered, kind, name);
        assert.ok(!w.spec.template.spec.containers.some((c) => c.name === 'liveness-probe'), name);
        const vbs = container(w, 'vbs-csi');
        const livez = vbs.ports?.find((p) => p.name === 'livez')?.containerPort;
        assert.deepEqual(vbs.readinessProbe?.httpGet, { path: '/readyz', port: 'livez' }, name);
        assert.ok(vbs.args?.includes(`--health-address=0.0.0.0:${livez}`), `${name}: /readyz is served where the probe looks`);
        assert.equal(vbs.ports?.find((p) => p.name === 'healthz'), undefined, `${name}: no port left for the absent sidecar`);
      }
    }
    // The default keeps every probe on a declared port too.
    assertProbesHitDeclaredPorts(objects);
  });

  it("the vbs-csi containers' arguments are accepted by the driver's own parser", () => {
    const env = (a: string) => a.replace('$(NODE_NAME)', 'worker-1').replace('$(POD_IP)', '10.0.0.5');
    for (const [kind, name] of WORKLOADS) {
      const args = (container(workload(objects, kind, name), 'vbs-csi').args ?? []).map(env);
      const parsed = parseConfig(args, {});
      assert.ok(parsed.ok, `${name}: ${parsed.ok ? '' : parsed.errors.join('; ')}`);
    }
  });
});
