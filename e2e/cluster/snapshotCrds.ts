/**
 * The VolumeSnapshot CRDs that snapshot-controller and csi-snapshotter serve, from the module cache: the
 * `client/v8` module of the external-snapshotter release the binaries are built from keeps them in
 * config/crd/ (docs/kubernetes-test-bed.md), and `npm run kube:build` downloads that module.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { pollUntil } from '../vm/poll.ts';
import { KUBE_COMPONENTS } from '../../scripts/build-kubernetes.ts';
import { goCachesEnv } from '../../scripts/goCommand.ts';

export function snapshotCrdDir(env: NodeJS.ProcessEnv = process.env): string {
  const version = KUBE_COMPONENTS.find((c) => c.name === 'snapshot-controller')!.version;
  return join(goCachesEnv(env).GOMODCACHE!, 'github.com', 'kubernetes-csi', 'external-snapshotter', 'client', `v8@${version}`, 'config', 'crd');
}

/** Every CRD file of the directory (snapshot.storage.k8s.io and groupsnapshot.storage.k8s.io), parsed. */
export async function readSnapshotCrds(dir = snapshotCrdDir()): Promise<V1CustomResourceDefinition[]> {
  if (!existsSync(dir)) throw new Error(`the snapshot CRDs are not in ${dir}: run \`npm run kube:build -- --only snapshot-controller\`, which downloads the external-snapshotter modules`);
  const { loadAllYaml } = await import('@kubernetes/client-node');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  const crds = files.flatMap((f) => loadAllYaml(readFileSync(join(dir, f), 'utf8')) as V1CustomResourceDefinition[]).filter((d) => d?.kind === 'CustomResourceDefinition');
  if (!crds.some((d) => d.metadata?.name === 'volumesnapshots.snapshot.storage.k8s.io')) throw new Error(`${dir} holds no volumesnapshots.snapshot.storage.k8s.io CRD`);
  return crds;
}

/** Creates the CRDs and waits until the API server serves each (condition Established). */
export async function installSnapshotCrds(kc: KubeConfig, opts: { readonly deadlineMs: number; readonly signal?: AbortSignal }): Promise<string[]> {
  const { ApiextensionsV1Api } = await import('@kubernetes/client-node');
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = await readSnapshotCrds();
  for (const body of crds) await api.createCustomResourceDefinition({ body });
  const names = crds.map((d) => d.metadata!.name!);
  for (const name of names) {
    await pollUntil(
      async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
      },
      { deadlineMs: opts.deadlineMs, what: `CRD ${name} Established`, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
  }
  return names;
}
