/**
 * On the host, before the VM boots, for the cluster scenarios: the Kubernetes binaries (built once,
 * cached), the node's images in a containerd store, the control plane running natively, and what the
 * guest needs to join it (cluster.json, the API server forwarded to 10.0.2.1:443).
 * docs/kubernetes-test-bed.md, "What runs where".
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { installHelm } from '../../scripts/install-helm.ts';
import { KUBE_COMPONENTS, buildKubernetes, kubeBinaryPath } from '../../scripts/build-kubernetes.ts';
import type { GuestForward } from '../vm/qemu.ts';
import { containerdBinaries, prepareContainerdImageStore } from '../vm/containerdImageStore.ts';
import { BUSYBOX_IMAGE, PAUSE_IMAGE, VBS_CSI_TCG_IMAGE } from '../vm/testImages.ts';
import { KUBERNETES_SERVICE_IP } from './controlPlaneArgs.ts';
import type { ClusterInfo } from './clusterInfo.ts';
import { startControlPlane } from './controlPlane.ts';
import type { ControlPlane } from './controlPlane.ts';

export interface HostCluster {
  readonly info: ClusterInfo;
  readonly forwards: readonly GuestForward[];
  readonly controlPlane: ControlPlane;
  /** Stops the control plane; removes its directory unless `keep` (a failed run keeps it for its logs). */
  stop(keep: boolean): Promise<void>;
}

export async function startHostCluster(projectRoot: string, log: (line: string) => void): Promise<HostCluster> {
  const started = Date.now();
  const kube = (name: string) => kubeBinaryPath(KUBE_COMPONENTS.find((c) => c.name === name)!);
  // A machine that skipped `npm run kube:build` builds here (cold about 20 min on 2 idle cores, docs/kubernetes-test-bed.md);
  // otherwise nothing runs.
  buildKubernetes(KUBE_COMPONENTS, log);
  const bins = containerdBinaries(log);
  const store = await prepareContainerdImageStore(projectRoot, log);
  const helm = installHelm();
  const dir = join(projectRoot, '.e2e-work', 'cluster');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const controlPlane = await startControlPlane({ dir, log });
  log(`cluster: control plane up, images ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return {
    info: {
      adminKubeconfig: controlPlane.guestAdminKubeconfig,
      kubeletKubeconfig: controlPlane.kubeletKubeconfig,
      imageStore: store.archive,
      sandboxImage: PAUSE_IMAGE,
      images: { vbsCsi: VBS_CSI_TCG_IMAGE, busybox: BUSYBOX_IMAGE },
      binaries: { kubelet: kube('kubelet'), containerd: bins.containerd, containerdShim: bins.shim, ctr: bins.ctr, helm },
    },
    // The guest reaches the API server at the `kubernetes` Service's ClusterIP, so pods do too without kube-proxy.
    forwards: [{ guestAddress: KUBERNETES_SERVICE_IP, guestPort: 443, hostPort: controlPlane.apiPort }],
    controlPlane,
    async stop(keep) {
      await controlPlane.stop();
      if (keep) log(`cluster: control plane logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
