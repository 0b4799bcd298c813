import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { find, type K8sObject, render } from './support.ts';

/**
 * Every Kubernetes API call of the controller pod, as the sidecars' upstream RBAC files list them
 * (kubernetes-csi/<repo>/deploy/kubernetes/rbac.yaml at the image tags of values.yaml, read from the Go
 * module zips of github.com/kubernetes-csi/external-provisioner/v6@v6.4.0, external-attacher/v4@v4.13.0,
 * external-resizer/v2@v2.3.0 and external-snapshotter/v8@v8.7.0 on proxy.golang.org; the snapshotter's
 * is deploy/kubernetes/csi-snapshotter/rbac-csi-snapshotter.yaml), and the vbs-csi container's own:
 * list CSINodes (src/kube/listCsiNodeIds.ts) and get, create and merge-patch its removed storage nodes
 * ConfigMap (src/controller/removedStorageNodes/configMapRemovedStorageNodes.ts), Events on Nodes and the
 * agents' EndpointSlices (docs/kubernetes-api.md), and, with in-cluster
 * issuance (certificates.source generate or certManager, the default), the signer's: list and read
 * CertificateSigningRequests, approve or deny them and write their certificate, for this driver's two
 * signers only, and read the requester's CSINode (src/issuance/CsrSigner.ts, src/kube/certificateSigningRequests.ts).
 * The agent and the node plugin get their own Node (its zone label) unless their zone is set, and with
 * in-cluster issuance create and read their own requests (src/issuance/CertificateRequester.ts);
 * node-driver-registrar talks to kubelet's plugin socket only.
 *
 * Upstream rules left out, on purpose:
 * - secrets (all sidecars): the driver takes no csi.storage.k8s.io/*-secret-name parameters;
 * - provisioner volumeattributesclasses, referencegrants: VolumeAttributesClass / cross-namespace data
 *   sources are off (the driver has no MODIFY_VOLUME);
 * - resizer pods: --handle-volume-inuse-error=false (expansion is online); volumeattributesclasses: no MODIFY_VOLUME
 *   (v2 starts its modify controller only for drivers that have it: cmd/csi-resizer/main.go);
 * - snapshotter groupsnapshot.storage.k8s.io/* and volumesnapshotcontents create: volume group snapshots
 *   are off (no GROUP_CONTROLLER service);
 * - attacher/provisioner `update` on persistentvolumes/volumeattachments from older releases: current ones patch.
 */
type Scope = 'cluster' | 'namespace';
interface Call {
  readonly sidecar: string;
  readonly scope: Scope;
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  /** The one object the call is about, when the rule can name it. */
  readonly resourceName?: string;
}

const PROVISIONER = 'external-provisioner v6.4.0';
const ATTACHER = 'external-attacher v4.13.0';
const RESIZER = 'external-resizer v2.3.0';
const SNAPSHOTTER = 'external-snapshotter (csi-snapshotter) v8.7.0';
const LEASES = ['get', 'watch', 'list', 'delete', 'update', 'create'];
const EVENTS = ['list', 'watch', 'create', 'update', 'patch'];
const VBS = 'vbs-csi controller';
const SIGNER = 'vbs-csi controller, certificate signer';
const REMOVED_CONFIGMAP = 'vbs-csi-removed-storage-nodes';

const CALLS: readonly Call[] = [
  { sidecar: PROVISIONER, scope: 'cluster', group: '', resource: 'persistentvolumes', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { sidecar: PROVISIONER, scope: 'cluster', group: '', resource: 'persistentvolumeclaims', verbs: ['get', 'list', 'watch', 'update'] },
  { sidecar: PROVISIONER, scope: 'cluster', group: 'storage.k8s.io', resource: 'storageclasses', verbs: ['get', 'list', 'watch'] },
  { sidecar: PROVISIONER, scope: 'cluster', group: '', resource: 'events', verbs: EVENTS },
  // watch, update: the finalizer that protects a snapshot while a volume is provisioned from it (v6)
  { sidecar: PROVISIONER, scope: 'cluster', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshots', verbs: ['get', 'list', 'watch', 'update'] },
  { sidecar: PROVISIONER, scope: 'cluster', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotcontents', verbs: ['get', 'list'] },
  { sidecar: PROVISIONER, scope: 'cluster', group: 'storage.k8s.io', resource: 'csinodes', verbs: ['get', 'list', 'watch'] },
  { sidecar: PROVISIONER, scope: 'cluster', group: '', resource: 'nodes', verbs: ['get', 'list', 'watch'] },
  // PUBLISH_UNPUBLISH_VOLUME drivers: the provisioner waits for VolumeAttachments to go before deleting
  { sidecar: PROVISIONER, scope: 'cluster', group: 'storage.k8s.io', resource: 'volumeattachments', verbs: ['get', 'list', 'watch'] },
  { sidecar: PROVISIONER, scope: 'namespace', group: 'coordination.k8s.io', resource: 'leases', verbs: LEASES },
  // --enable-capacity, and the owner walk of --capacity-ownerref-level=2 (Pod -> ReplicaSet -> Deployment)
  { sidecar: PROVISIONER, scope: 'namespace', group: 'storage.k8s.io', resource: 'csistoragecapacities', verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { sidecar: PROVISIONER, scope: 'namespace', group: '', resource: 'pods', verbs: ['get'] },
  { sidecar: PROVISIONER, scope: 'namespace', group: 'apps', resource: 'replicasets', verbs: ['get'] },

  { sidecar: ATTACHER, scope: 'cluster', group: '', resource: 'persistentvolumes', verbs: ['get', 'list', 'watch', 'patch'] },
  { sidecar: ATTACHER, scope: 'cluster', group: 'storage.k8s.io', resource: 'csinodes', verbs: ['get', 'list', 'watch'] },
  { sidecar: ATTACHER, scope: 'cluster', group: 'storage.k8s.io', resource: 'volumeattachments', verbs: ['get', 'list', 'watch', 'patch'] },
  { sidecar: ATTACHER, scope: 'cluster', group: 'storage.k8s.io', resource: 'volumeattachments/status', verbs: ['patch'] },
  { sidecar: ATTACHER, scope: 'namespace', group: 'coordination.k8s.io', resource: 'leases', verbs: LEASES },

  { sidecar: RESIZER, scope: 'cluster', group: '', resource: 'persistentvolumes', verbs: ['get', 'list', 'watch', 'patch'] },
  { sidecar: RESIZER, scope: 'cluster', group: '', resource: 'persistentvolumeclaims', verbs: ['get', 'list', 'watch'] },
  { sidecar: RESIZER, scope: 'cluster', group: '', resource: 'persistentvolumeclaims/status', verbs: ['patch'] },
  { sidecar: RESIZER, scope: 'cluster', group: '', resource: 'events', verbs: EVENTS },
  { sidecar: RESIZER, scope: 'namespace', group: 'coordination.k8s.io', resource: 'leases', verbs: LEASES },

  { sidecar: SNAPSHOTTER, scope: 'cluster', group: '', resource: 'events', verbs: EVENTS },
  { sidecar: SNAPSHOTTER, scope: 'cluster', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotclasses', verbs: ['get', 'list', 'watch'] },
  { sidecar: SNAPSHOTTER, scope: 'cluster', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotcontents', verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { sidecar: SNAPSHOTTER, scope: 'cluster', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotcontents/status', verbs: ['update', 'patch'] },
  { sidecar: SNAPSHOTTER, scope: 'namespace', group: 'coordination.k8s.io', resource: 'leases', verbs: LEASES },

  { sidecar: VBS, scope: 'cluster', group: 'storage.k8s.io', resource: 'csinodes', verbs: ['list'] },
  { sidecar: VBS, scope: 'namespace', group: '', resource: 'configmaps', verbs: ['get', 'patch'], resourceName: REMOVED_CONFIGMAP },
  // Kubernetes cannot authorize a create by the object's name.
  { sidecar: VBS, scope: 'namespace', group: '', resource: 'configmaps', verbs: ['create'] },
  // Events on Nodes for what an operator must act on (src/kube/eventRecorder.ts: create, then merge-patch the count)
  { sidecar: VBS, scope: 'cluster', group: '', resource: 'events', verbs: ['create', 'patch'] },
  // --agents-service: the agents' EndpointSlices, listed then watched (src/kube/endpointSliceWatch.ts)
  { sidecar: VBS, scope: 'namespace', group: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['list', 'watch'] },

  { sidecar: SIGNER, scope: 'cluster', group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verbs: ['get', 'list'] },
  { sidecar: SIGNER, scope: 'cluster', group: 'certificates.k8s.io', resource: 'certificatesigningrequests/approval', verbs: ['update'] },
  { sidecar: SIGNER, scope: 'cluster', group: 'certificates.k8s.io', resource: 'certificatesigningrequests/status', verbs: ['update'] },
  { sidecar: SIGNER, scope: 'cluster', group: 'certificates.k8s.io', resource: 'signers', verbs: ['approve', 'sign'], resourceName: 'vbs.csi.io/agent' },
  { sidecar: SIGNER, scope: 'cluster', group: 'certificates.k8s.io', resource: 'signers', verbs: ['approve', 'sign'], resourceName: 'vbs.csi.io/node' },
  { sidecar: SIGNER, scope: 'cluster', group: 'storage.k8s.io', resource: 'csinodes', verbs: ['get'] },
];

/** The agent's and the node plugin's calls with in-cluster issuance: their own CertificateSigningRequests. */
const REQUESTER_CALLS: readonly Call[] = [
  { sidecar: 'vbs-csi agent / node plugin', scope: 'cluster', group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verbs: ['create', 'get'] },
];

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** "scope group/resource verb" for every permission the rules grant, "... verb name" when limited to one object (no wildcards allowed). */
function permissions(rules: readonly Rule[], scope: Scope): Set<string> {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const list of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames ?? []]) assert.ok(!list.includes('*'), 'no wildcard');
    for (const g of rule.apiGroups) {
      for (const r of rule.resources) for (const v of rule.verbs) for (const n of rule.resourceNames ?? ['']) out.add(`${scope} ${g}/${r} ${v}${n === '' ? '' : ` ${n}`}`);
    }
  }
  return out;
}

function needed(calls: readonly Call[] = CALLS): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const call of calls) {
    for (const verb of call.verbs) {
      const key = `${call.scope} ${call.group}/${call.resource} ${verb}${call.resourceName === undefined ? '' : ` ${call.resourceName}`}`;
      out.set(key, [...(out.get(key) ?? []), call.sidecar]);
    }
  }
  return out;
}

/** What each ServiceAccount is granted through the rendered bindings. */
function grantsBySubject(objects: readonly K8sObject[]): Map<string, Set<string>> {
  const grants = new Map<string, Set<string>>();
  for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const roleRef = binding['roleRef'] as { kind: string; name: string };
    const role = find(objects, roleRef.kind, roleRef.name);
    const scope: Scope = binding.kind === 'ClusterRoleBinding' ? 'cluster' : 'namespace';
    if (binding.kind === 'RoleBinding') assert.equal(role.metadata.namespace, binding.metadata.namespace);
    for (const subject of binding['subjects'] as { kind: string; name: string; namespace: string }[]) {
      assert.equal(subject.kind, 'ServiceAccount');
      const key = `${subject.namespace}/${subject.name}`;
      const set = grants.get(key) ?? new Set<string>();
      for (const p of permissions(role['rules'] as Rule[], scope)) set.add(p);
      grants.set(key, set);
    }
  }
  return grants;
}

describe('RBAC grants exactly the Kubernetes API calls the pods make', () => {
  const objects = render();
  const grants = grantsBySubject(objects);
  const controllerSa = 'vbs-csi/vbs-csi-controller';

  it('every call a controller sidecar documents is granted to the controller ServiceAccount', () => {
    const granted = grants.get(controllerSa) ?? new Set<string>();
    const missing = [...needed()].filter(([p]) => !granted.has(p)).map(([p, by]) => `${p} (${by.join(', ')})`);
    assert.deepEqual(missing, []);
  });

  it('nothing more: every granted permission is a documented call', () => {
    const want = needed();
    const extra = [...(grants.get(controllerSa) ?? [])].filter((p) => !want.has(p));
    assert.deepEqual(extra, []);
  });

  it('leases, capacities, pods and replicasets are granted in the release namespace only, not cluster-wide', () => {
    const granted = grants.get(controllerSa) ?? new Set<string>();
    for (const p of granted) {
      if (/ (coordination\.k8s\.io\/leases|storage\.k8s\.io\/csistoragecapacities|\/pods|apps\/replicasets) /.test(p)) {
        assert.ok(p.startsWith('namespace '), p);
      }
    }
  });

  it('node and agent pods get a token, and may get Nodes (their zone label) and create and read CertificateSigningRequests, nothing else', () => {
    assert.deepEqual([...grants.keys()].sort(), [controllerSa, 'vbs-csi/vbs-csi-agent', 'vbs-csi/vbs-csi-node'].sort());
    const want = [...needed(REQUESTER_CALLS).keys(), 'cluster /nodes get'].sort();
    for (const name of ['vbs-csi-node', 'vbs-csi-agent']) {
      assert.deepEqual([...(grants.get(`vbs-csi/${name}`) ?? [])].sort(), want, name);
      assert.equal(find(objects, 'ServiceAccount', name)['automountServiceAccountToken'], false, 'only the pods that need it mount a token');
      const ds = find(objects, 'DaemonSet', name) as { spec: { template: { spec: { serviceAccountName: string; automountServiceAccountToken: boolean } } } } & K8sObject;
      assert.equal(ds.spec.template.spec.serviceAccountName, name);
      assert.equal(ds.spec.template.spec.automountServiceAccountToken, true);
    }
  });

  it('external certificates and zones set: only the controller ServiceAccount is bound, without the signer\'s rules; node and agent pods get no token', () => {
    const external = render(['--set', 'certificates.source=external,node.zone=a,agent.zone=a']);
    const externalGrants = grantsBySubject(external);
    assert.deepEqual([...externalGrants.keys()], [controllerSa]);
    const want = needed(CALLS.filter((c) => c.sidecar !== SIGNER || c.resource === 'csinodes'));
    assert.deepEqual([...(externalGrants.get(controllerSa) ?? [])].filter((p) => !want.has(p)), []);
    for (const name of ['vbs-csi-node', 'vbs-csi-agent']) {
      const ds = find(external, 'DaemonSet', name) as { spec: { template: { spec: { automountServiceAccountToken: boolean } } } } & K8sObject;
      assert.equal(ds.spec.template.spec.automountServiceAccountToken, false);
    }
  });

  it('the ConfigMap the controller may read and patch is the one its --removed-storage-nodes names, in the release namespace', () => {
    const deployment = find(objects, 'Deployment', 'vbs-csi-controller') as { spec: { template: { spec: { containers: { name: string; args: string[]; env?: { name: string; value: string }[] }[] } } } } & K8sObject;
    const vbs = deployment.spec.template.spec.containers.find((c) => c.name === 'vbs-csi');
    assert.ok(vbs?.args.includes(`--removed-storage-nodes=configmap:vbs-csi/${REMOVED_CONFIGMAP}`));
    assert.deepEqual(vbs?.env?.find((e) => e.name === 'VBS_REMOVED_STORAGE_NODES')?.value, `configmap:vbs-csi/${REMOVED_CONFIGMAP}`, 'the CLI run in the pod finds the same record');
    const granted = grants.get(controllerSa) ?? new Set<string>();
    assert.ok([...granted].filter((p) => p.includes('/configmaps ')).every((p) => p.startsWith('namespace ')), 'never cluster-wide');
  });

  it('the table is of the sidecar versions the chart runs (update both together)', () => {
    const deployment = find(objects, 'Deployment', 'vbs-csi-controller') as { spec: { template: { spec: { containers: { name: string; image: string }[] } } } } & K8sObject;
    const image = (name: string) => deployment.spec.template.spec.containers.find((c) => c.name === name)?.image;
    assert.equal(image('csi-provisioner'), `registry.k8s.io/sig-storage/csi-provisioner:${PROVISIONER.split(' ').at(-1)}`);
    assert.equal(image('csi-attacher'), `registry.k8s.io/sig-storage/csi-attacher:${ATTACHER.split(' ').at(-1)}`);
    assert.equal(image('csi-resizer'), `registry.k8s.io/sig-storage/csi-resizer:${RESIZER.split(' ').at(-1)}`);
    assert.equal(image('csi-snapshotter'), `registry.k8s.io/sig-storage/csi-snapshotter:${SNAPSHOTTER.split(' ').at(-1)}`);
  });

  it('the controller watches the agents\' EndpointSlices by default; with agentDiscovery=dns it resolves the Service and gets no endpointslices access', () => {
    const deployment = find(objects, 'Deployment', 'vbs-csi-controller') as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } } & K8sObject;
    const args = deployment.spec.template.spec.containers.find((c) => c.name === 'vbs-csi')?.args ?? [];
    assert.ok(args.includes('--agents-service=vbs-csi/vbs-csi-agent:agent-api'), args.join(' '));
    assert.ok(!args.some((a) => a.startsWith('--agents-dns')));
    const dns = render(['--set', 'controller.agentDiscovery=dns']);
    const dnsArgs = (find(dns, 'Deployment', 'vbs-csi-controller') as typeof deployment).spec.template.spec.containers.find((c) => c.name === 'vbs-csi')?.args ?? [];
    assert.ok(dnsArgs.includes('--agents-dns=vbs-csi-agent.vbs-csi.svc.cluster.local:9500'), dnsArgs.join(' '));
    assert.deepEqual([...(grantsBySubject(dns).get(controllerSa) ?? [])].filter((p) => p.includes('endpointslices')), []);
  });

  it('the resizer runs with --handle-volume-inuse-error=false, which is why it needs no pods access', () => {
    const deployment = find(objects, 'Deployment', 'vbs-csi-controller') as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } } & K8sObject;
    const resizer = deployment.spec.template.spec.containers.find((c) => c.name === 'csi-resizer');
    assert.ok(resizer?.args.includes('--handle-volume-inuse-error=false'));
  });
});
