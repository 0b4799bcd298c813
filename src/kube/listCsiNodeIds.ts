import { describeKubeError, kubeStatusOf, withKubeTimeout } from './kubeClient.ts';
import type { KubeClient } from './kubeClient.ts';

/** One Kubernetes node's registration of a CSI driver: its CSINode says which node id it reported. */
export interface CsiNodeRegistration {
  /** The Kubernetes node (the CSINode object has its name). */
  readonly node: string;
  readonly nodeId: string;
}

/**
 * Every node's registration of `driverName`, from the CSINode objects (storage.k8s.io/v1) that
 * kubelet writes when node-driver-registrar registers the plugin: the node id NodeGetInfo answered.
 */
export async function listCsiNodeIds(kube: KubeClient, driverName: string, timeoutMs = 15_000): Promise<CsiNodeRegistration[]> {
  const list = await withKubeTimeout(kube.storage.listCSINode(), timeoutMs, 'list CSINode objects').catch((err: unknown) => {
    const denied = kubeStatusOf(err) === 403 ? ' (grant list on csinodes.storage.k8s.io; the chart does)' : '';
    throw new Error(`${describeKubeError(err)}${denied} (${kube.source})`);
  });
  return list.items.flatMap((n) =>
    (n.spec?.drivers ?? []).filter((d) => d.name === driverName).map((d) => ({ node: n.metadata?.name ?? '?', nodeId: d.nodeID })),
  );
}
