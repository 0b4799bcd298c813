/**
 * The cluster scenarios' dealings with the API server (inside the guest, through @kubernetes/client-node):
 * objects made from short descriptions, waits on their conditions with deadlines, and the report of
 * everything relevant when a step fails. No kubectl: the scenarios use the API only, as issue 17 asks.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { V1Pod, V1PersistentVolumeClaim, V1Volume, V1VolumeMount, V1VolumeDevice } from '@kubernetes/client-node';
import { kubeStatusOf } from '../../src/kube/kubeClient.ts';
import { pollUntil } from '../vm/poll.ts';
import { retryingApi, type RetryOptions } from './transientApiErrors.ts';

export interface Kube {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly storage: k8s.StorageV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly mergePatch: ReturnType<typeof k8s.setHeaderOptions>;
}

/** The API groups the scenarios use, each call retried on the failures e2e/cluster/transientApiErrors.ts allows. */
export function kubeClients(config: k8s.KubeConfig, retry: RetryOptions): Kube {
  return {
    core: retryingApi(config.makeApiClient(k8s.CoreV1Api), 'core', retry),
    apps: retryingApi(config.makeApiClient(k8s.AppsV1Api), 'apps', retry),
    storage: retryingApi(config.makeApiClient(k8s.StorageV1Api), 'storage', retry),
    custom: retryingApi(config.makeApiClient(k8s.CustomObjectsApi), 'custom', retry),
    mergePatch: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  };
}

export interface Waiter {
  readonly signal: AbortSignal;
  /** Polls `check` until it returns a value; the deadline names `what` in its error. */
  until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T>;
}

export function waiter(signal: AbortSignal): Waiter {
  return {
    signal,
    until: (what, timeoutMs, check) => pollUntil(check, { deadlineMs: Date.now() + timeoutMs, intervalMs: 1000, what, signal }),
  };
}

export type VolumeUse = { readonly claim: string; readonly mountPath: string } | { readonly claim: string; readonly devicePath: string };

/**
 * A pod that runs one busybox shell script to its end (restartPolicy Never) and reports through its
 * termination message: the scenario reads what the pod saw from the API, no exec into the node.
 */
export function scriptPod(name: string, image: string, script: string, volumes: readonly VolumeUse[]): V1Pod {
  const mounts: V1VolumeMount[] = [];
  const devices: V1VolumeDevice[] = [];
  const podVolumes: V1Volume[] = volumes.map((v, i) => {
    const volumeName = `v${i}`;
    if ('mountPath' in v) mounts.push({ name: volumeName, mountPath: v.mountPath });
    else devices.push({ name: volumeName, devicePath: v.devicePath });
    return { name: volumeName, persistentVolumeClaim: { claimName: v.claim } };
  });
  return {
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'vbs-e2e' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      containers: [{
        name: 'main',
        image,
        imagePullPolicy: 'Never',
        command: ['/bin/sh', '-ec', script],
        securityContext: { privileged: devices.length > 0 },
        volumeMounts: mounts,
        volumeDevices: devices,
        terminationMessagePolicy: 'File',
      }],
      volumes: podVolumes,
    },
  };
}

export function claim(name: string, opts: { storageClass: string; size: string; block?: boolean; dataSource?: { kind: 'PersistentVolumeClaim' | 'VolumeSnapshot'; name: string } }): V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: opts.storageClass,
      volumeMode: opts.block ? 'Block' : 'Filesystem',
      resources: { requests: { storage: opts.size } },
      ...(opts.dataSource
        ? { dataSource: { kind: opts.dataSource.kind, name: opts.dataSource.name, ...(opts.dataSource.kind === 'VolumeSnapshot' ? { apiGroup: 'snapshot.storage.k8s.io' } : {}) } }
        : {}),
    },
  };
}

/** Waits for a script pod to end; returns its termination message, or throws with its status when it failed. */
export async function podResult(kube: Kube, wait: Waiter, namespace: string, name: string, timeoutMs: number): Promise<string> {
  const pod = await wait.until(`pod ${name} to finish`, timeoutMs, async () => {
    const p = await kube.core.readNamespacedPod({ name, namespace });
    return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
  });
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  if (pod.status?.phase !== 'Succeeded') throw new Error(`pod ${name} failed: exit ${terminated?.exitCode} (${terminated?.reason}): ${terminated?.message ?? ''}`);
  return (terminated?.message ?? '').trim();
}

export async function podRunning(kube: Kube, wait: Waiter, namespace: string, name: string, timeoutMs: number): Promise<V1Pod> {
  return wait.until(`pod ${name} to run`, timeoutMs, async () => {
    const p = await kube.core.readNamespacedPod({ name, namespace });
    if (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') throw new Error(`pod ${name} ended (${p.status.phase}) before it was seen running: ${JSON.stringify(p.status.containerStatuses?.[0]?.state)}`);
    return p.status?.phase === 'Running' ? p : undefined;
  });
}

/** Deletes a pod and waits until it is gone (the kubelet has unmounted its volumes). */
export async function deletePod(kube: Kube, wait: Waiter, namespace: string, name: string, timeoutMs: number): Promise<void> {
  await kube.core.deleteNamespacedPod({ name, namespace }).catch(ignoreNotFound);
  await wait.until(`pod ${name} to be gone`, timeoutMs, async () => ((await exists(() => kube.core.readNamespacedPod({ name, namespace }))) ? undefined : true));
}

export async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err: unknown) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return kubeStatusOf(err) === 404;
}

export function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

/**
 * What a person needs when a cluster step fails: every pod, claim, volume, attachment and snapshot
 * with its status, the events of both namespaces, and the tail of every container's log (the
 * kubelet's files under /var/log/pods, read directly: the host's API server cannot reach the kubelet).
 */
export async function describeCluster(kube: Kube, namespaces: readonly string[]): Promise<string> {
  const out: string[] = [];
  const safe = async (what: string, f: () => Promise<string[]>): Promise<void> => {
    try {
      out.push(`== ${what}`, ...(await f()));
    } catch (err: unknown) {
      out.push(`== ${what}: ${(err as Error).message}`);
    }
  };
  for (const namespace of namespaces) {
    await safe(`pods in ${namespace}`, async () => (await kube.core.listNamespacedPod({ namespace })).items.map((p) =>
      `${p.metadata?.name} ${p.status?.phase} node=${p.spec?.nodeName ?? '-'} ${(p.status?.containerStatuses ?? []).map((c) => `${c.name}:ready=${c.ready},restarts=${c.restartCount},${JSON.stringify(c.state)}`).join(' ')} ${(p.status?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.status}(${c.reason ?? ''}: ${c.message ?? ''})`).join(' ')}`));
    await safe(`claims in ${namespace}`, async () => (await kube.core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((c) =>
      `${c.metadata?.name} ${c.status?.phase} volume=${c.spec?.volumeName ?? '-'} capacity=${c.status?.capacity?.['storage'] ?? '-'} ${JSON.stringify(c.status?.conditions ?? [])} ${JSON.stringify(c.metadata?.annotations ?? {})}`));
    await safe(`events in ${namespace}`, async () => (await kube.core.listNamespacedEvent({ namespace })).items.slice(-60).map((e) =>
      `${e.lastTimestamp?.toISOString?.() ?? ''} ${e.type} ${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`));
  }
  await safe('persistent volumes', async () => (await kube.core.listPersistentVolume()).items.map((v) => `${v.metadata?.name} ${v.status?.phase} claim=${v.spec?.claimRef?.name} handle=${v.spec?.csi?.volumeHandle}`));
  await safe('volume attachments', async () => (await kube.storage.listVolumeAttachment()).items.map((a) => `${a.metadata?.name} pv=${a.spec.source.persistentVolumeName} attached=${a.status?.attached} ${JSON.stringify(a.status?.attachError ?? a.status?.detachError ?? {})}`));
  await safe('CSI nodes', async () => (await kube.storage.listCSINode()).items.map((n) => `${n.metadata?.name} drivers=${JSON.stringify(n.spec.drivers)}`));
  await safe('container logs (/var/log/pods)', async () => containerLogTails(40));
  return out.join('\n');
}

/**
 * The last lines of each container run's log (the kubelet's /var/log/pods/<pod>/<container>/<restart>.log);
 * `ended` keeps only runs that ended (all but a container's newest), so a restart's cause is on record
 * even when the scenario passes.
 */
export function containerLogTails(lines: number, which: 'all' | 'ended' = 'all', dir = '/var/log/pods'): string[] {
  const out: string[] = [];
  for (const pod of safeReaddir(dir)) {
    for (const container of safeReaddir(join(dir, pod))) {
      const runs = safeReaddir(join(dir, pod, container)).filter((f) => /^\d+\.log$/.test(f)).sort((x, y) => parseInt(x, 10) - parseInt(y, 10));
      for (const file of which === 'ended' ? runs.slice(0, -1) : runs) {
        const text = readFileSync(join(dir, pod, container, file), 'utf8').split('\n').slice(-lines - 1).join('\n');
        out.push(`--- ${pod}/${container}/${file}${which === 'ended' ? ' (ended)' : ''}`, text);
      }
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
