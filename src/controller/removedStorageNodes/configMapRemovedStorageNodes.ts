import { UnavailableError } from '../../errors.ts';
import { describeKubeError, kubeStatusOf, withKubeTimeout } from '../../kube/kubeClient.ts';
import type { KubeClient } from '../../kube/kubeClient.ts';
import { decodeRemoval, encodeRemoval } from './RemovedStorageNodes.ts';
import type { RemovedStorageNode, RemovedStorageNodes } from './RemovedStorageNodes.ts';

export interface ConfigMapRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * The record as one ConfigMap (docs/storage-node-removal.md says why a ConfigMap): one data key per
 * removed node, its value the removal's JSON. Adding and restoring are JSON merge patches of one key
 * (RFC 7396; null deletes), so two operators removing two nodes at once cannot undo each other. The
 * ConfigMap is created on the first removal, so it is not part of the Helm release and survives an
 * uninstall. Every failure to read or write is UnavailableError naming the object and the cause.
 */
export function configMapRemovedStorageNodes(kube: KubeClient, ref: ConfigMapRef, opts: { readonly now?: () => Date; readonly timeoutMs?: number } = {}): RemovedStorageNodes {
  const now = opts.now ?? (() => new Date());
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const where = `ConfigMap ${ref.namespace}/${ref.name}`;
  const fail = (verb: string, err: unknown): UnavailableError => {
    const code = kubeStatusOf(err);
    const hint = code === 403 || code === 401 ? ` (the ServiceAccount or kubeconfig user needs ${verb} on configmaps in ${ref.namespace}; the chart's Role grants it)` : '';
    return new UnavailableError(`cannot ${verb} ${where} through the Kubernetes API (${kube.source}): ${describeKubeError(err)}${hint}`);
  };
  const call = <T>(verb: string, fn: () => Promise<T>): Promise<T> => withKubeTimeout(fn(), timeoutMs, `${verb} ${where}`).catch((err: unknown) => {
    throw Object.assign(fail(verb, err), { status: kubeStatusOf(err) });
  });
  const statusOf = (err: unknown): number | undefined => (err as { status?: number }).status;
  const patch = (data: Record<string, string | null>) =>
    call('patch', () => kube.core.patchNamespacedConfigMap({ name: ref.name, namespace: ref.namespace, body: { data } }, kube.mergePatch));

  const list = async (): Promise<RemovedStorageNode[]> => {
    try {
      const cm = await call('get', () => kube.core.readNamespacedConfigMap({ name: ref.name, namespace: ref.namespace }));
      return Object.entries(cm.data ?? {}).map(([name, value]) => decodeRemoval(name, value)).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch (err: unknown) {
      // Not created yet: no node was ever removed.
      if (statusOf(err) === 404) return [];
      throw err;
    }
  };

  return {
    where,
    list,
    async add(node) {
      const existing = (await list()).find((n) => n.name === node.name);
      if (existing) return existing;
      const record: RemovedStorageNode = { name: node.name, removedAt: now().toISOString(), note: node.note };
      const data = { [node.name]: encodeRemoval(record) };
      try {
        await patch(data);
      } catch (err: unknown) {
        if (statusOf(err) !== 404) throw err;
        try {
          await call('create', () =>
            kube.core.createNamespacedConfigMap({
              namespace: ref.namespace,
              body: { metadata: { name: ref.name, namespace: ref.namespace, labels: { 'app.kubernetes.io/name': 'vbs-csi', 'app.kubernetes.io/component': 'removed-storage-nodes' } }, data },
            }),
          );
        } catch (createErr: unknown) {
          // Someone else created it in between: add our key to theirs.
          if (statusOf(createErr) !== 409) throw createErr;
          await patch(data);
        }
      }
      return record;
    },
    async restore(name) {
      if (!(await list()).some((n) => n.name === name)) return false;
      await patch({ [name]: null });
      return true;
    },
  };
}
