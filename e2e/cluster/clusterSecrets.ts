/**
 * The cluster scenario's part in the suite's secrets scan (e2e/scenarios/secretsScan.scenario.ts): the
 * secrets the chart made or the roles were issued go into the ledger, and everything the cluster wrote
 * that is not a Secret goes into the suite's log directory to be scanned for them: the containers' logs
 * (roles and sidecars), and the API objects a secret must never reach (docs/security.md, "Secrets out
 * of logs and argv").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordLioChapSecrets, recordSecret } from '../support/secretLedger.ts';
import { writeProcessLog } from '../support/suiteLogs.ts';
import type { Kube } from './kubeObjects.ts';

const PRIVATE_KEY_PEM = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

/** Every file under `dir`, recursively; none when it does not exist. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

/**
 * Records the chart's secrets: each Secret's CHAP key and PEM private keys (the CA's among them), the
 * private keys the roles wrote into their pods' emptyDir volumes (issued in the cluster), and the CHAP
 * passwords in LIO's ACLs of the targets under `iqnPrefix` (call it while volumes are attached).
 * Returns how many of each it found, so the scenario can insist on all three.
 */
export async function recordChartSecrets(kube: Kube, namespace: string, kubeletRoot: string, iqnPrefix: string): Promise<{ chapKeys: number; privateKeys: number }> {
  let chapKeys = 0;
  let privateKeys = 0;
  for (const secret of (await kube.core.listNamespacedSecret({ namespace })).items) {
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      const bytes = Buffer.from(value, 'base64');
      const label = `Secret ${namespace}/${secret.metadata?.name}[${key}]`;
      if (PRIVATE_KEY_PEM.test(bytes.toString('latin1'))) {
        recordSecret('tls-private-key', label, bytes.toString('utf8'));
        privateKeys++;
      } else if (key === 'key' && /chap/i.test(secret.metadata?.name ?? '')) {
        recordSecret('chap-key', label, bytes);
        chapKeys++;
      }
    }
  }
  for (const file of filesUnder(join(kubeletRoot, 'pods')).filter((f) => f.includes('/volumes/kubernetes.io~empty-dir/'))) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // a socket or a file gone meanwhile
    }
    if (PRIVATE_KEY_PEM.test(text)) {
      recordSecret('tls-private-key', `pod emptyDir ${file.slice(kubeletRoot.length)}`, text);
      privateKeys++;
    }
  }
  await recordLioChapSecrets('cluster', iqnPrefix);
  return { chapKeys, privateKeys };
}

/**
 * Writes the API objects that must hold no secret into the suite's log directory (one file per call,
 * JSON), where the secrets scan reads them: PersistentVolumes, VolumeAttachments, CSINodes, claims,
 * pods and events of `namespaces`, VolumeSnapshotContents and CSIStorageCapacities.
 */
export async function persistApiObjects(kube: Kube, workDir: string, namespaces: readonly string[], label: string): Promise<string> {
  const objects: Record<string, unknown> = {
    persistentVolumes: (await kube.core.listPersistentVolume()).items,
    volumeAttachments: (await kube.storage.listVolumeAttachment()).items,
    csiNodes: (await kube.storage.listCSINode()).items,
    volumeSnapshotContents: await kube.custom.listClusterCustomObject({ group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshotcontents' }),
  };
  for (const namespace of namespaces) {
    objects[`${namespace}/claims`] = (await kube.core.listNamespacedPersistentVolumeClaim({ namespace })).items;
    objects[`${namespace}/pods`] = (await kube.core.listNamespacedPod({ namespace })).items;
    objects[`${namespace}/events`] = (await kube.core.listNamespacedEvent({ namespace })).items;
    objects[`${namespace}/csiStorageCapacities`] = (await kube.storage.listNamespacedCSIStorageCapacity({ namespace })).items;
  }
  return writeProcessLog(workDir, `api-objects-${label}`, `${JSON.stringify(objects, null, 1)}\n`);
}

/**
 * Copies every container's log the kubelet kept (/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log)
 * into the suite's log directory; call it before the node stops. Returns the number of files.
 */
export function persistContainerLogs(workDir: string, podLogRoot = '/var/log/pods'): number {
  let copied = 0;
  for (const file of filesUnder(podLogRoot).filter((f) => f.endsWith('.log'))) {
    const [pod, container, n] = file.slice(podLogRoot.length + 1).split('/');
    writeProcessLog(workDir, `pod-${pod?.split('_').slice(0, 2).join('-')}-${container}-${n?.replace(/\.log$/, '')}`, readFileSync(file, 'utf8'));
    copied++;
  }
  return copied;
}
