/**
 * Pure: the files that make the guest a Kubernetes node (docs/kubernetes-test-bed.md, "The node"):
 * containerd's config, the CNI network, the kubelet's configuration. No I/O here; guestNode.ts
 * writes them and starts the processes.
 */

import { GUEST_NETWORK } from '../vm/qemu.ts';
import { NODE_NAME } from './controlPlaneArgs.ts';

export { NODE_NAME };
/** qemu's user network gives the guest this address (e2e/guest/boot.sh sets it). */
export const NODE_IP = GUEST_NETWORK.guestAddress;
/** The pods' bridge network; only this node uses it. */
export const POD_SUBNET = '10.88.0.0/16';
/** Debian's containernetworking-plugins. */
export const CNI_BIN_DIR = '/usr/lib/cni';
export const CNI_CONF_DIR = '/etc/cni/net.d';
/**
 * Debian's runc. Not crun, which podman uses: bookworm's crun 1.8.1 refuses containerd 2.4's
 * ociVersion 1.3.0 specs (docs/kubernetes-test-bed.md, Images).
 */
export const OCI_RUNTIME = '/usr/sbin/runc';
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

export interface ContainerdConfigInput {
  /** containerd's root: a tmpfs holding the image store the host prepared (overlayfs needs a real upper layer). */
  readonly root: string;
  readonly state: string;
  readonly sandboxImage: string;
}

/**
 * containerd 2.x configuration (version 4, as `containerd config default` writes it): the CRI plugin
 * runs pods with Debian's runc through the runc shim (BinaryName; cgroupfs, no systemd in the guest), and
 * never pulls the sandbox image: it is in the store already, and the guest has no registry.
 */
export function containerdConfig(input: ContainerdConfigInput): string {
  return [
    'version = 4',
    `root = ${toml(input.root)}`,
    `state = ${toml(input.state)}`,
    '[grpc]',
    `  address = ${toml(CONTAINERD_SOCKET)}`,
    "[plugins.'io.containerd.cri.v1.images']",
    "  snapshotter = 'overlayfs'",
    "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
    `  sandbox = ${toml(input.sandboxImage)}`,
    "[plugins.'io.containerd.cri.v1.runtime'.containerd]",
    "  default_runtime_name = 'runc'",
    "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
    "  runtime_type = 'io.containerd.runc.v2'",
    "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
    `  BinaryName = ${toml(OCI_RUNTIME)}`,
    '  SystemdCgroup = false',
    "[plugins.'io.containerd.cri.v1.runtime'.cni]",
    `  bin_dirs = [${toml(CNI_BIN_DIR)}]`,
    `  conf_dir = ${toml(CNI_CONF_DIR)}`,
    '',
  ].join('\n');
}

/**
 * The pods' network: a bridge with masquerading, so that a pod reaches the API server's Service
 * address (10.0.2.1, forwarded by qemu) through the guest's one interface. The chart's agent and
 * node pods use the host network; the controller and the test pods use this one.
 */
export function cniConfigList(): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: 'vbs-e2e',
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: '0.0.0.0/0' }] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2)}\n`;
}

/**
 * KubeletConfiguration (kubelet.config.k8s.io/v1beta1). What differs from a production node, and why:
 * - the kubelet's own API is reachable only inside the guest (qemu forwards nothing to it), so it
 *   allows every local caller instead of asking the API server (webhook authorization);
 * - no QoS cgroups or node-allocatable enforcement: the guest has no systemd, cgroupfs is enough;
 * - eviction and image GC at their floors: every filesystem of the guest is a small tmpfs, and an
 *   eviction in the middle of a scenario would be the bed's failure, not the driver's;
 * - no cluster DNS (no CoreDNS image here): the chart's pods reach what they need by address.
 */
export function kubeletConfig(): string {
  return `${JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    failSwapOn: false,
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    localStorageCapacityIsolation: false,
    resolvConf: '',
    serializeImagePulls: false,
    // A node status every 10 s (the default) is fine; faster pod-status updates shorten every wait.
    syncFrequency: '10s',
  }, null, 2)}\n`;
}

/** The kubelet's flags besides --config and --kubeconfig. `labels` are the node's (the agent's nodeSelector). */
export function kubeletArgs(paths: { config: string; kubeconfig: string; rootDir: string }, labels: Readonly<Record<string, string>>): string[] {
  const labelList = Object.entries(labels).map(([k, v]) => {
    if (!/^[a-z0-9./-]+$/.test(k) || !/^[A-Za-z0-9._-]*$/.test(v)) throw new Error(`bad node label ${k}=${v}`);
    return `${k}=${v}`;
  });
  return [
    `--config=${paths.config}`,
    `--kubeconfig=${paths.kubeconfig}`,
    `--root-dir=${paths.rootDir}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_IP}`,
    ...(labelList.length > 0 ? [`--node-labels=${labelList.join(',')}`] : []),
    '--v=1',
  ];
}

/** TOML basic string. */
function toml(value: string): string {
  if (/[\\'\n]/.test(value)) throw new Error(`not a plain TOML value: ${value}`);
  return `'${value}'`;
}
