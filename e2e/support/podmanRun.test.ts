import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHART_ARGS_WITHOUT_API_SERVER, renderChartPods } from './chartPods.ts';
import { expandVars, podmanRunArgs } from './podmanRun.ts';
import type { PodSpec } from './podmanRun.ts';

const podOf = (pods: ReadonlyMap<string, PodSpec>, kind: string, name: string): PodSpec => {
  const pod = pods.get(`${kind}/${name}`);
  assert.ok(pod, `${kind}/${name}`);
  return pod;
};

describe('podmanRunArgs (the chart pod → podman run)', () => {
  const objects = renderChartPods(CHART_ARGS_WITHOUT_API_SERVER);
  const base = { image: 'localhost/vbs-csi:0.1.0', container: 'vbs-csi', emptyDirRoot: '/run/pod', fieldRefs: { 'spec.nodeName': 'n1', 'status.podIP': '10.0.0.7' } };

  it('runs the node plugin privileged in the host network and PID namespaces, with the kubelet dir rshared', () => {
    const run = podmanRunArgs(podOf(objects, 'DaemonSet', 'vbs-csi-node'), { ...base, name: 'node', secretDirs: {} });
    const a = run.argv;
    for (const flag of ['--privileged', '--network=host', '--pid=host']) assert.ok(a.includes(flag), flag);
    assert.ok(!a.includes('--ipc=host'));
    assert.ok(a.includes('type=bind,source=/var/lib/kubelet,destination=/var/lib/kubelet,bind-propagation=rshared'));
    assert.ok(a.includes('type=bind,source=/var/lib/kubelet/plugins/vbs.csi.io,destination=/csi'));
    assert.ok(a.includes('type=bind,source=/lib/modules,destination=/lib/modules,ro=true'));
    assert.ok(a.includes('type=bind,source=/etc/iscsi,destination=/etc/iscsi'));
    const image = a.indexOf('localhost/vbs-csi:0.1.0');
    assert.deepEqual(a.slice(image + 1, image + 3), ['node', '--endpoint=unix:///csi/csi.sock']);
    assert.ok(a.includes('--node-id=n1'), '$(NODE_NAME) expanded from the fieldRef');
    assert.ok(a.includes('--host-exec=nsenter'));
    assert.deepEqual(run.createDirs.map((d) => d.path).sort(), ['/run/lock/iscsi', '/var/lib/iscsi', '/var/lib/kubelet/plugins/vbs.csi.io', '/var/lib/vbs-csi/node']);
    assert.ok(run.requiredDirs.includes('/etc/vbs-csi/node-tls'));
  });

  it('runs the agent with its portal on the pod IP and its Secrets read-only', () => {
    const run = podmanRunArgs(podOf(objects, 'DaemonSet', 'vbs-csi-agent'), { ...base, name: 'agent', secretDirs: { 'vbs-csi-agent-tls': '/s/tls', 'vbs-csi-chap': '/s/chap' } });
    const a = run.argv;
    for (const flag of ['--privileged', '--network=host', '--pid=host', '--portal=10.0.0.7:3260', '--storage-node-name=n1', '--host-exec=nsenter']) assert.ok(a.includes(flag), flag);
    assert.ok(a.includes('type=bind,source=/s/chap,destination=/etc/vbs/chap,ro=true'));
    assert.ok(a.includes('type=bind,source=/run/pod/socket-dir,destination=/csi'), 'the emptyDir the sidecars share');
    assert.deepEqual(run.secrets.map((s) => [s.secretName, s.mode]).sort(), [['vbs-csi-agent-tls', 0o400], ['vbs-csi-chap', 0o400]]);
  });

  it('runs the controller unprivileged as uid 1000 with a read-only root and no capabilities', () => {
    const run = podmanRunArgs(podOf(objects, 'Deployment', 'vbs-csi-controller'), {
      ...base,
      name: 'controller',
      secretDirs: { 'vbs-csi-controller-tls': '/s/ctl' },
      podNetwork: 'host',
      addHosts: { 'vbs-csi-agent.vbs-csi.svc.cluster.local': '127.0.0.2' },
      argOverrides: { '--removed-storage-nodes': 'file:/csi/removed.json' },
    });
    const a = run.argv;
    for (const flag of ['--user=1000:1000', '--group-add=1000', '--read-only', '--security-opt=no-new-privileges', '--cap-drop=all', '--network=host', '--add-host=vbs-csi-agent.vbs-csi.svc.cluster.local:127.0.0.2', '--removed-storage-nodes=file:/csi/removed.json']) {
      assert.ok(a.includes(flag), flag);
    }
    for (const flag of ['--privileged', '--pid=host']) assert.ok(!a.includes(flag), flag);
    assert.deepEqual(run.createDirs, [{ path: '/run/pod/socket-dir', group: 1000 }]);
    assert.deepEqual(run.secrets, [{ secretName: 'vbs-csi-controller-tls', dir: '/s/ctl', mode: 0o440, group: 1000 }]);
  });

  it('refuses what it cannot translate instead of guessing', () => {
    const pod: PodSpec = { containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }] }] };
    assert.throws(() => podmanRunArgs(pod, { ...base, container: 'c', name: 'c', secretDirs: {} }), /no value given for fieldRef status.hostIP/);
    assert.throws(() => podmanRunArgs(pod, { ...base, container: 'other', name: 'c', secretDirs: {} }), /no container other/);
    const noSecret: PodSpec = { containers: [{ name: 'c', volumeMounts: [{ name: 'v', mountPath: '/v' }] }], volumes: [{ name: 'v', secret: { secretName: 's' } }] };
    assert.throws(() => podmanRunArgs(noSecret, { ...base, container: 'c', name: 'c', secretDirs: {} }), /no host directory given for Secret s/);
    const noFlag: PodSpec = { containers: [{ name: 'c', args: ['x'] }] };
    assert.throws(() => podmanRunArgs(noFlag, { ...base, container: 'c', name: 'c', secretDirs: {}, argOverrides: { '--y': '1' } }), /no --y to replace/);
  });

  it('expands $(VAR) as kubelet does', () => {
    const env = new Map([['A', '1']]);
    assert.equal(expandVars('--x=$(A):$(B)', env), '--x=1:$(B)');
    assert.equal(expandVars('$$(A)', env), '$(A)');
  });
});
