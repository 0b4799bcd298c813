import { isAbsolute, normalize } from 'node:path';

/** Where removed storage nodes are recorded (docs/storage-node-removal.md). */
export type RemovedStorageNodesSpec =
  | { readonly kind: 'configmap'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'file'; readonly path: string };

/** Kubernetes: a namespace is a DNS-1123 label, a ConfigMap name a DNS-1123 subdomain. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

export const REMOVED_STORAGE_NODES_FORMS = 'configmap:NAMESPACE/NAME (in a cluster) or file:/absolute/path.json';

/** `configmap:NAMESPACE/NAME` or `file:/absolute/path`, or the problem with the text. Pure. */
export function parseRemovedStorageNodesSpec(text: string): { readonly spec: RemovedStorageNodesSpec } | { readonly error: string } {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (kind === 'configmap') {
    const [namespace = '', name = '', ...more] = rest.split('/');
    if (more.length > 0 || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
      return { error: `${JSON.stringify(text)}: expected configmap:NAMESPACE/NAME with a Kubernetes namespace and ConfigMap name (lowercase DNS names)` };
    }
    return { spec: { kind, namespace, name } };
  }
  if (kind === 'file') {
    if (!isAbsolute(rest) || normalize(rest) !== rest || rest.endsWith('/') || rest.includes('\0')) return { error: `${JSON.stringify(text)}: expected file: and an absolute, normalised file path` };
    return { spec: { kind, path: rest } };
  }
  return { error: `${JSON.stringify(text)}: expected ${REMOVED_STORAGE_NODES_FORMS}` };
}
