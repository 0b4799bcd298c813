import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CertificatesV1Api, ConfigurationOptions, CoreV1Api, DiscoveryV1Api, Informer, KubernetesListObject, KubernetesObject, ObjectCache, StorageV1Api } from '@kubernetes/client-node';

/** The service account token a pod gets (Kubernetes docs: "Accessing the Kubernetes API from a Pod"). */
export const IN_CLUSTER_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where a Kubernetes API configuration comes from. */
export type KubeConfigSource = { readonly kind: 'in-cluster' } | { readonly kind: 'file'; readonly path: string };

/** The Kubernetes API clients this project uses, from one configuration. */
export interface KubeClient {
  readonly core: CoreV1Api;
  readonly storage: StorageV1Api;
  /** CertificateSigningRequests (in-cluster issuance of agent and node certificates). */
  readonly certificates: CertificatesV1Api;
  readonly discovery: DiscoveryV1Api;
  /**
   * A list-then-watch cache of the objects at `path` (client-node's ListWatch): it re-lists after
   * a 410 Gone and re-watches when the server ends a watch, but stops on any other error (the
   * caller restarts it).
   */
  informer<T extends KubernetesObject>(path: string, list: () => Promise<KubernetesListObject<T>>, labelSelector?: string): Informer<T> & ObjectCache<T>;
  /** Options that make a patch call a JSON merge patch (RFC 7396), the client's default being JSON patch. */
  readonly mergePatch: ConfigurationOptions;
  /** For logs and messages: "in-cluster service account" or "kubeconfig /path". */
  readonly source: string;
}

export interface FindKubeConfigOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Also take ~/.kube/config. The operator CLI does (a workstation has one); the controller does
   * not, so a controller started by hand outside a cluster does not start calling whatever cluster
   * the user last used.
   */
  readonly allowHomeConfig: boolean;
  readonly fileExists?: (path: string) => boolean;
  readonly home?: string;
}

/**
 * Which configuration to use, or undefined when there is none: in a pod (KUBERNETES_SERVICE_HOST
 * and the service account token), then $KUBECONFIG (its first file), then ~/.kube/config when
 * allowed. Pure apart from the file checks.
 */
export function findKubeConfig(opts: FindKubeConfigOptions): KubeConfigSource | undefined {
  const exists = opts.fileExists ?? existsSync;
  const env = opts.env;
  if ((env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && exists(IN_CLUSTER_TOKEN_PATH)) return { kind: 'in-cluster' };
  const first = (env['KUBECONFIG'] ?? '').split(':').find((p) => p !== '');
  if (first !== undefined) return { kind: 'file', path: first };
  if (opts.allowHomeConfig) {
    const home = join(opts.home ?? homedir(), '.kube', 'config');
    if (exists(home)) return { kind: 'file', path: home };
  }
  return undefined;
}

/**
 * Connects the clients. `@kubernetes/client-node` is imported here and only here, on first use:
 * roles that never talk to Kubernetes (agent, node, a controller outside a cluster) do not load it
 * (about a second of start-up).
 */
export async function loadKubeClient(source: KubeConfigSource): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  if (source.kind === 'in-cluster') config.loadFromCluster();
  else config.loadFromFile(source.path);
  return {
    core: config.makeApiClient(k8s.CoreV1Api),
    storage: config.makeApiClient(k8s.StorageV1Api),
    certificates: config.makeApiClient(k8s.CertificatesV1Api),
    discovery: config.makeApiClient(k8s.DiscoveryV1Api),
    informer: (path, list, labelSelector) => k8s.makeInformer(config, path, list, labelSelector),
    mergePatch: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    source: source.kind === 'in-cluster' ? 'in-cluster service account' : `kubeconfig ${source.path}`,
  };
}

/** HTTP status of a failed API call (ApiException.code), undefined for a transport failure. */
export function kubeStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err) || typeof err.code !== 'number') return undefined;
  return 'body' in err ? err.code : undefined;
}

/**
 * A short description of a failed API call: the status and the API server's own message (the
 * Status object's `message`), not the client's dump of headers and body.
 */
export function describeKubeError(err: unknown): string {
  const code = kubeStatusOf(err);
  if (code === undefined) return err instanceof Error ? err.message : String(err);
  const body = (err as { body?: unknown }).body;
  let message = '';
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      message = body.slice(0, 200);
    }
  } else if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    message = (body as { message: string }).message;
  }
  return `HTTP ${code}${message !== '' ? `: ${message}` : ''}`;
}

/** Rejects after `ms` with `what` in the message; the API clients take no signal. */
export function withKubeTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from the Kubernetes API within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
