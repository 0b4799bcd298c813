import { findKubeConfig, loadKubeClient } from '../../kube/kubeClient.ts';
import type { KubeClient } from '../../kube/kubeClient.ts';
import { configMapRemovedStorageNodes } from './configMapRemovedStorageNodes.ts';
import { fileRemovedStorageNodes } from './fileRemovedStorageNodes.ts';
import type { RemovedStorageNodes } from './RemovedStorageNodes.ts';

export type { RemovedStorageNode, RemovedStorageNodes } from './RemovedStorageNodes.ts';
export { MAX_REMOVAL_NOTE, checkRemovalNote } from './RemovedStorageNodes.ts';
export { configMapRemovedStorageNodes } from './configMapRemovedStorageNodes.ts';
export { fileRemovedStorageNodes } from './fileRemovedStorageNodes.ts';

/** Where the record is kept (`--removed-storage-nodes`, parsed by src/config/removedStorageNodesSpec.ts). */
export type RemovedStorageNodesLocation =
  | { readonly kind: 'configmap'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'file'; readonly path: string };

/**
 * The record at a location. A ConfigMap needs a Kubernetes API: `kube` when the caller has one,
 * else one is found as findKubeConfig says (in a pod, $KUBECONFIG, and ~/.kube/config when
 * `allowHomeConfig`); none is an error that says how to give one.
 */
export async function openRemovedStorageNodes(
  location: RemovedStorageNodesLocation,
  opts: { readonly env: Readonly<Record<string, string | undefined>>; readonly allowHomeConfig: boolean; readonly kube?: KubeClient },
): Promise<RemovedStorageNodes> {
  if (location.kind === 'file') return fileRemovedStorageNodes(location.path);
  let kube = opts.kube;
  if (!kube) {
    const source = findKubeConfig({ env: opts.env, allowHomeConfig: opts.allowHomeConfig });
    if (!source) {
      throw new Error(
        `--removed-storage-nodes configmap:${location.namespace}/${location.name} needs the Kubernetes API: run in a pod, or set KUBECONFIG${opts.allowHomeConfig ? ' (or have ~/.kube/config)' : ''}; outside a cluster use file:PATH`,
      );
    }
    kube = await loadKubeClient(source);
  }
  return configMapRemovedStorageNodes(kube, location);
}
