import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartDir, find, helm, type K8sObject, render } from './support.ts';

interface Container {
  name: string;
  args?: string[];
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
  volumes: { name: string; hostPath?: { path: string }; secret?: { secretName: string } }[];
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
      '--agents-dns=vbs-csi-agent.vbs-csi.svc.cluster.local:9500',
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
    for (const a of ['agent', '--vg=vbs', '--portal=$(POD_IP):3260', '--agent-listen=tcp://0.0.0.0:9500', '--labels=zone=default,tier=standard', '--chap-key-file=/etc/vbs/chap/key']) {
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

  it('offers an expandable, wait-for-consumer StorageClass and a VolumeSnapshotClass for the driver', () => {
    const sc = find(objects, 'StorageClass', 'vbs-thin');
    assert.equal(sc['provisioner'], 'vbs.csi.io');
    assert.equal(sc['allowVolumeExpansion'], true);
    assert.equal(sc['volumeBindingMode'], 'WaitForFirstConsumer');
    assert.deepEqual(sc['parameters'], { provisioning: 'thin', fsType: 'ext4' });
    assert.equal(find(objects, 'VolumeSnapshotClass', 'vbs-snapshot')['driver'], 'vbs.csi.io');
  });

  it('mounts the Secrets it names, and renders none by default', () => {
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    const secretsOf = (w: Workload) => w.spec.template.spec.volumes.flatMap((v) => (v.secret ? [v.secret.secretName] : [])).sort();
    assert.deepEqual(secretsOf(workload(objects, 'DaemonSet', 'vbs-csi-agent')), ['vbs-csi-agent-tls', 'vbs-csi-chap']);
    assert.deepEqual(secretsOf(workload(objects, 'Deployment', 'vbs-csi-controller')), ['vbs-csi-controller-tls']);
  });

  it('renders the three Secrets with secrets.create, and refuses to without their values', () => {
    const withValues = render([
      '--set', 'secrets.create=true,secrets.chap.key=k',
      '--set', 'secrets.agentTls.caCrt=a,secrets.agentTls.tlsCrt=b,secrets.agentTls.tlsKey=c',
      '--set', 'secrets.controllerTls.caCrt=a,secrets.controllerTls.tlsCrt=d,secrets.controllerTls.tlsKey=e',
    ]);
    assert.deepEqual(Object.keys(find(withValues, 'Secret', 'vbs-csi-chap')['stringData'] as object), ['key']);
    assert.deepEqual(Object.keys(find(withValues, 'Secret', 'vbs-csi-agent-tls')['stringData'] as object).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const { status, output } = helm(['template', 'vbs-csi', chartDir, '--set', 'secrets.create=true']);
    assert.notEqual(status, 0);
    assert.match(output, /secrets\.chap\.key is required/);
  });

  it('follows values: driver name, kubelet dir and zones reach every place that uses them', () => {
    const custom = render(['--set', 'driverName=blk.example.com,kubeletDir=/data/kubelet,node.zone=z1,agent.zone=z1']);
    assert.equal(find(custom, 'CSIDriver', 'blk.example.com').kind, 'CSIDriver');
    assert.equal(find(custom, 'StorageClass', 'vbs-thin')['provisioner'], 'blk.example.com');
    const node = workload(custom, 'DaemonSet', 'vbs-csi-node');
    assert.equal(hostPaths(node).get('/data/kubelet'), 'Bidirectional');
    assert.ok(container(node, 'vbs-csi').args?.includes('--zone=z1'));
    assert.ok(container(node, 'node-driver-registrar').args?.includes('--kubelet-registration-path=/data/kubelet/plugins/blk.example.com/csi.sock'));
    assert.ok(container(workload(custom, 'DaemonSet', 'vbs-csi-agent'), 'vbs-csi').args?.includes('--labels=zone=z1,tier=standard'));
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
});
