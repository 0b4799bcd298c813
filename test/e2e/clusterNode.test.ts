import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClusterInfo } from '../../e2e/cluster/clusterInfo.ts';
import { claim, scriptPod } from '../../e2e/cluster/kubeObjects.ts';
import { NODE_IP, NODE_NAME, cniConfigList, containerdConfig, kubeletArgs, kubeletConfig } from '../../e2e/cluster/nodeConfig.ts';
import { GUEST_NETWORK, buildQemuArgs, networkArgs } from '../../e2e/vm/qemu.ts';
import { storeTarArgs } from '../../e2e/vm/storeArchive.ts';

describe('the guest as a Kubernetes node (e2e/cluster/nodeConfig.ts)', () => {
  it('containerd runs pods with runc from the copied store and never pulls the sandbox image', () => {
    const toml = containerdConfig({ root: '/var/lib/containerd', state: '/run/containerd', sandboxImage: 'localhost/vbs-e2e/pause:1' });
    assert.match(toml, /^version = 4$/m);
    assert.match(toml, /^root = '\/var\/lib\/containerd'$/m);
    assert.match(toml, /pinned_images\]\n  sandbox = 'localhost\/vbs-e2e\/pause:1'/);
    assert.match(toml, /BinaryName = '\/usr\/sbin\/runc'/);
    assert.match(toml, /SystemdCgroup = false/);
    assert.throws(() => containerdConfig({ root: "/x'y", state: '/s', sandboxImage: 'p' }), /not a plain TOML value/);
  });

  it('the pods network masquerades, so that pods reach the API server forwarded by qemu', () => {
    const cni = JSON.parse(cniConfigList()) as { plugins: { type: string; ipMasq?: boolean; ipam?: { ranges: { subnet: string }[][] } }[] };
    const bridge = cni.plugins.find((p) => p.type === 'bridge');
    assert.equal(bridge?.ipMasq, true);
    assert.equal(bridge?.ipam?.ranges[0]?.[0]?.subnet, '10.88.0.0/16');
  });

  it('the kubelet registers under the node name the control plane issued credentials for, at the guest address, with its labels', () => {
    const args = kubeletArgs({ config: '/c', kubeconfig: '/k', rootDir: '/var/lib/kubelet' }, { 'vbs.csi.io/storage': 'true', 'topology.kubernetes.io/zone': 'zone-a' });
    assert.ok(args.includes(`--hostname-override=${NODE_NAME}`));
    assert.ok(args.includes(`--node-ip=${NODE_IP}`));
    assert.equal(NODE_IP, GUEST_NETWORK.guestAddress);
    assert.ok(args.includes('--node-labels=vbs.csi.io/storage=true,topology.kubernetes.io/zone=zone-a'));
    assert.throws(() => kubeletArgs({ config: '/c', kubeconfig: '/k', rootDir: '/r' }, { 'a,b': 'c' }), /bad node label/);
    const config = JSON.parse(kubeletConfig()) as { cgroupDriver: string; containerRuntimeEndpoint: string; authentication: { anonymous: { enabled: boolean } } };
    assert.equal(config.cgroupDriver, 'cgroupfs');
    assert.equal(config.containerRuntimeEndpoint, 'unix:///run/containerd/containerd.sock');
    assert.equal(config.authentication.anonymous.enabled, false);
  });

  it('the store travels as one tar with xattrs, packed on the host and unpacked in the guest', () => {
    assert.deepEqual(storeTarArgs('create', '/s/root.tar', '/s/root').slice(0, 5), ['--create', '--file', '/s/root.tar', '--directory', '/s/root']);
    assert.equal(storeTarArgs('create', '/a', '/d').at(-1), '.');
    const extract = storeTarArgs('extract', '/a', '/var/lib/containerd');
    assert.ok(extract.includes('--xattrs') && extract.includes('--preserve-permissions') && extract[0] === '--extract');
  });
});

describe('the guest network (e2e/vm/qemu.ts)', () => {
  it('no forward: no network device at all', () => {
    assert.deepEqual(networkArgs([]), ['-nic', 'none']);
    const args = buildQemuArgs({ accel: 'tcg', kernelImagePath: '/k', initramfsPath: '/i', projectRoot: '/p', outDir: '/o' });
    assert.deepEqual(args.slice(-2), ['-nic', 'none']);
  });

  it('forwards: a restricted user network where each forward reaches a loopback port of the host', () => {
    const [flag, value] = networkArgs([{ guestAddress: '10.0.2.1', guestPort: 443, hostPort: 36443 }]);
    assert.equal(flag, '-nic');
    const parts = value!.split(',');
    assert.deepEqual(parts.slice(0, 3), ['user', 'model=virtio-net-pci', 'restrict=on']);
    assert.equal(parts[3], 'guestfwd=tcp:10.0.2.1:443-cmd:socat STDIO TCP:127.0.0.1:36443');
  });

  it('refuses a forward outside the user network or a bad port', () => {
    assert.throws(() => networkArgs([{ guestAddress: '192.168.1.1', guestPort: 443, hostPort: 1 }]), /inside qemu's user network/);
    assert.throws(() => networkArgs([{ guestAddress: '10.0.2.1', guestPort: 443, hostPort: 70000 }]), /bad port/);
    assert.throws(() => networkArgs([{ guestAddress: '10.0.2.1,x', guestPort: 443, hostPort: 1 }]), /inside qemu's user network/);
  });
});

describe('cluster.json and the scenario\'s objects', () => {
  const info = {
    adminKubeconfig: '/c/a', kubeletKubeconfig: '/c/k', imageStore: '/s.tar', sandboxImage: 'p',
    images: { vbsCsi: 'v', busybox: 'b' },
    binaries: { kubelet: '/b/kubelet', containerd: '/b/containerd', containerdShim: '/b/shim', ctr: '/b/ctr', helm: '/b/helm' },
  };
  it('round-trips, and names the first missing field', () => {
    assert.deepEqual(parseClusterInfo(JSON.stringify(info)), info);
    assert.throws(() => parseClusterInfo(JSON.stringify({ ...info, binaries: { ...info.binaries, helm: '' } })), /binaries\.helm is missing/);
  });

  it('a script pod mounts filesystems, maps block devices, never pulls, and reports through its termination message', () => {
    const pod = scriptPod('p', 'img', 'echo', [{ claim: 'a', mountPath: '/a' }, { claim: 'b', devicePath: '/dev/xvda' }]);
    const container = pod.spec!.containers[0]!;
    assert.equal(container.imagePullPolicy, 'Never');
    assert.deepEqual(container.volumeMounts, [{ name: 'v0', mountPath: '/a' }]);
    assert.deepEqual(container.volumeDevices, [{ name: 'v1', devicePath: '/dev/xvda' }]);
    assert.equal(pod.spec!.restartPolicy, 'Never');
    const restored = claim('r', { storageClass: 's', size: '1Gi', dataSource: { kind: 'VolumeSnapshot', name: 'snap' } });
    assert.deepEqual(restored.spec!.dataSource, { kind: 'VolumeSnapshot', name: 'snap', apiGroup: 'snapshot.storage.k8s.io' });
    assert.equal(claim('b', { storageClass: 's', size: '1Gi', block: true }).spec!.volumeMode, 'Block');
  });
});
