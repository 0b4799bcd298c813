import { DEFAULT_ZONE } from '../csi/nodeIds.ts';
import { findKubeConfig, loadKubeClient } from '../kube/kubeClient.ts';
import type { KubeClient, KubeConfigSource } from '../kube/kubeClient.ts';
import { NODE_ZONE_LABEL, readNodeZone } from '../kube/readNodeZone.ts';

export interface ZoneChoice {
  readonly zone: string;
  /** Where it came from, for the start-up log. */
  readonly from: string;
}

export interface ResolveZoneOptions {
  /** --zone (or, for the agent, --labels zone=...): wins over the Node's label. */
  readonly configured: string | undefined;
  /** The Kubernetes node this role runs on: NODE_NAME, else --node-id. */
  readonly nodeName: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** For tests: how to connect; default loadKubeClient. */
  readonly connect?: (source: KubeConfigSource) => Promise<KubeClient>;
}

/**
 * The zone a node plugin or agent reports (topology.vbs.csi.io/zone). --zone wins; in a cluster
 * the role's own Node's topology.kubernetes.io/zone label, so one release serves a multi-zone
 * cluster without a DaemonSet per zone; outside a cluster (no service account, no KUBECONFIG:
 * all-in-one, demo, tests) "default", as a one-zone test bed needs. A Node without the label is
 * in "default" too: a bare cluster (kubeadm, kind) labels no zones and must still install; node
 * plugins and agents on unlabelled Nodes then share that one zone, and the start-up log says so.
 */
export async function resolveZone(opts: ResolveZoneOptions): Promise<ZoneChoice> {
  if (opts.configured !== undefined && opts.configured !== '') return { zone: opts.configured, from: '--zone' };
  const source = findKubeConfig({ env: opts.env, allowHomeConfig: false });
  if (!source) {
    if ((opts.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '') {
      throw new Error(
        `no --zone, and this pod has no service account token to read its Node's ${NODE_ZONE_LABEL} label with: mount the token (automountServiceAccountToken: true; the chart does) or pass --zone`,
      );
    }
    return { zone: DEFAULT_ZONE, from: `"${DEFAULT_ZONE}": no --zone and no Kubernetes API (not in a pod, no KUBECONFIG)` };
  }
  const nodeName = opts.nodeName ?? '';
  if (nodeName === '') throw new Error(`no --zone, and no node name (NODE_NAME or --node-id) to read the ${NODE_ZONE_LABEL} label of`);
  const kube = await (opts.connect ?? loadKubeClient)(source);
  const zone = await readNodeZone(kube, nodeName);
  if (zone === undefined) {
    return {
      zone: DEFAULT_ZONE,
      from: `"${DEFAULT_ZONE}": Node ${nodeName} has no ${NODE_ZONE_LABEL} label and no --zone was given (kubectl label node ${nodeName} ${NODE_ZONE_LABEL}=ZONE to place it)`,
    };
  }
  return { zone, from: `Node ${nodeName} label ${NODE_ZONE_LABEL} (${kube.source})` };
}
