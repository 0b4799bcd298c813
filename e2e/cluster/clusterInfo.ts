/**
 * What the host hands the guest for the cluster scenarios (the host starts the control plane and
 * prepares the images before the VM boots; e2e/vm.e2e.test.ts). Written as cluster.json into the run
 * directory, read by the guest runner; every path is a host path, which the guest sees at the same
 * place through the shared root (docs/test-bed.md).
 */
export const CLUSTER_FILE_NAME = 'cluster.json';


export interface ClusterInfo {
  /** kubeconfig with cluster-admin credentials whose server is https://10.0.2.1:443 */
  readonly adminKubeconfig: string;
  /** the kubelet's kubeconfig (system:node:vbs-e2e), same server */
  readonly kubeletKubeconfig: string;
  /** a containerd root with every image of the scenarios already imported, as a tar (e2e/vm/containerdImageStore.ts) */
  readonly imageStore: string;
  readonly sandboxImage: string;
  /** the image of `npm run image` as the store names it, and the small busybox image of the test pods */
  readonly images: { readonly vbsCsi: string; readonly busybox: string };
  readonly binaries: { readonly kubelet: string; readonly containerd: string; readonly containerdShim: string; readonly ctr: string; readonly helm: string };
}

/** Parses cluster.json; throws naming the first missing field. */
export function parseClusterInfo(text: string): ClusterInfo {
  const value = JSON.parse(text) as Record<string, unknown>;
  const need = (obj: Record<string, unknown>, key: string, where: string): string => {
    const v = obj[key];
    if (typeof v !== 'string' || v === '') throw new Error(`${CLUSTER_FILE_NAME}: ${where}${key} is missing`);
    return v;
  };
  const images = (value['images'] ?? {}) as Record<string, unknown>;
  const binaries = (value['binaries'] ?? {}) as Record<string, unknown>;
  return {
    adminKubeconfig: need(value, 'adminKubeconfig', ''),
    kubeletKubeconfig: need(value, 'kubeletKubeconfig', ''),
    imageStore: need(value, 'imageStore', ''),
    sandboxImage: need(value, 'sandboxImage', ''),
    images: { vbsCsi: need(images, 'vbsCsi', 'images.'), busybox: need(images, 'busybox', 'images.') },
    binaries: {
      kubelet: need(binaries, 'kubelet', 'binaries.'),
      containerd: need(binaries, 'containerd', 'binaries.'),
      containerdShim: need(binaries, 'containerdShim', 'binaries.'),
      ctr: need(binaries, 'ctr', 'binaries.'),
      helm: need(binaries, 'helm', 'binaries.'),
    },
  };
}
