import { describeKubeError, kubeStatusOf, withKubeTimeout } from './kubeClient.ts';
import type { KubeClient } from './kubeClient.ts';

/** The well-known label cloud providers and kubelet set on a Node (Kubernetes docs: "Well-Known Labels"). */
export const NODE_ZONE_LABEL = 'topology.kubernetes.io/zone';

/**
 * The zone label of the Kubernetes Node `nodeName`, or undefined when it has none. A missing
 * Node, a refusal (RBAC) or a silent API server throw, with the status and what to grant.
 */
export async function readNodeZone(kube: KubeClient, nodeName: string, timeoutMs = 15_000): Promise<string | undefined> {
  const node = await withKubeTimeout(kube.core.readNode({ name: nodeName }), timeoutMs, `get Node ${nodeName}`).catch((err: unknown) => {
    const code = kubeStatusOf(err);
    const hint = code === 403 ? ' (grant get on nodes; the chart does)' : code === 404 ? ' (--node-id / NODE_NAME must be the Kubernetes node name, spec.nodeName)' : '';
    throw new Error(`cannot read Node ${nodeName}: ${describeKubeError(err)}${hint} (${kube.source})`);
  });
  const zone = node.metadata?.labels?.[NODE_ZONE_LABEL];
  return zone === undefined || zone === '' ? undefined : zone;
}
