import assert from 'node:assert/strict';
import { pino } from 'pino';
import { execa } from 'execa';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ExecaRunner } from '../../src/exec/index.ts';
import { persistApiObjects, persistContainerLogs, recordChartSecrets } from '../cluster/clusterSecrets.ts';
import { KUBELET_ROOT, startGuestNode } from '../cluster/guestNode.ts';
import type { GuestNode } from '../cluster/guestNode.ts';
import { claim, containerLogTails, deletePod, describeCluster, exists, ignoreNotFound, kubeClients, podResult, podRunning, scriptPod, waiter } from '../cluster/kubeObjects.ts';
import type { Kube, Waiter } from '../cluster/kubeObjects.ts';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { findDriverResidue, type Sh } from '../support/driverResidue.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

const NS = 'default';
const CHART_NS = 'vbs-csi';
const RELEASE = 'vbs-csi';
const DRIVER = 'vbs.csi.io';
const ZONE = 'zone-a';
/** The chart's StorageClass (WaitForFirstConsumer, ext4) and one the scenario adds for xfs. */
const SC_EXT4 = 'vbs-thin';
const SC_XFS = 'vbs-e2e-xfs';
const SNAPSHOT_CLASS = 'vbs-snapshot';
/** The agent's target names (agent.iqnPrefix), so the secrets scan finds this chart's ACLs in LIO. */
const IQN_PREFIX = 'iqn.2026-11.io.vbs-e2e-cluster';
/** Where the kubelet stages and publishes CSI volumes (the chart's own pods keep their emptyDir and token mounts). */
const CSI_MOUNTS = /^\/var\/lib\/kubelet\/(?:pods\/[^/]+\/volume(?:s|Devices)\/kubernetes\.io~csi\/|plugins\/kubernetes\.io\/csi\/)/;
/** values.yaml node.stateDir: the node plugin's stage records. */
const STAGE_RECORD_DIR = '/var/lib/vbs-csi/node';
/** Pod starts, mkfs and iSCSI logins under TCG take tens of seconds each; a hung step fails long before the scenario's deadline. */
const STEP_MS = 240_000;
const CHART_READY_MS = 600_000;
/** How long one API call keeps retrying a lost connection or a 429/5xx (e2e/cluster/transientApiErrors.ts). */
const API_RETRY_MS = 60_000;
/** Writes of the pod that writes while the agent's pod is replaced, one a second: longer than the replacement takes. */
const STEADY_WRITES = 150;

/**
 * Issue 17: vbs-csi under Kubernetes' own components. The host runs etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and snapshot-controller; the guest is the node (containerd,
 * crun, the kubelet); the chart is installed by helm with the image of `npm run image` and the CSI
 * sidecars built from their Go modules. Everything below goes through the API server only:
 * WaitForFirstConsumer binding with topology and CSIStorageCapacity, ext4, xfs and a raw block
 * volume written and read by pods, detach when the pod goes and attach again, online expansion of a
 * filesystem and a block volume as the pod sees it, a VolumeSnapshot restored, a clone, and at the
 * end nothing left: no PV, VolumeAttachment, LV, iSCSI session.
 */
export const kubernetesClusterScenario: Scenario = {
  name: 'kubernetes cluster: the chart under kube-apiserver, controller-manager, scheduler, kubelet and the CSI sidecars; pods write, detach, reattach, expand, snapshot, clone',
  timeoutMs: 1_800_000,
  needsImage: true,
  needsCluster: true,
  async run(ctx) {
    const cluster = ctx.cluster;
    assert.ok(cluster, 'the host gave no cluster (cluster.json): the scenario must declare needsCluster');
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const wait = waiter(ctx.signal);
    let vg: LoopVolumeGroup | undefined;
    let node: GuestNode | undefined;
    let kube: Kube | undefined;
    let failed = true;
    try {
      // The agent's VG and thin pool, by the chart's default names (values.yaml agent.vg / agent.thinPool).
      vg = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: 'vbs', fileMiB: 3072, poolMiB: 2560, thinPoolName: 'pool', signal: ctx.signal });
      node = await startGuestNode({ cluster, workDir: ctx.workDir, labels: { 'vbs.csi.io/storage': 'true', 'topology.kubernetes.io/zone': ZONE }, log: ctx.log, signal: ctx.signal });
      kube = kubeClients(node.kubeConfig, { withinMs: API_RETRY_MS, log: ctx.log, signal: ctx.signal });
      await installChart(ctx, cluster.binaries.helm, cluster.adminKubeconfig, cluster.images.vbsCsi);
      await chartReady(ctx, kube, wait);
      await sequences(ctx, kube, wait, cluster.images.busybox, runner);
      failed = false;
    } catch (err: unknown) {
      if (kube) ctx.log(`cluster state at the failure:\n${await describeCluster(kube, [NS, CHART_NS])}`);
      if (node) ctx.log(`node daemons:\n${node.logs()}`);
      throw err;
    } finally {
      // The containers' logs for the secrets scan and the record, before an uninstall or the node's stop takes them away.
      if (node) ctx.log(`container logs kept in the suite's log directory: ${persistContainerLogs(ctx.workDir)}`);
      if (!failed && kube) await uninstallChart(ctx, cluster.binaries.helm, cluster.adminKubeconfig, kube, wait).catch((e: unknown) => ctx.log(`uninstall: ${String(e)}`));
      await node?.stop().catch((e: unknown) => ctx.log(`node stop: ${String(e)}`));
      await vg?.destroy(ctx.log).catch((e: unknown) => ctx.log(`vg cleanup: ${String(e)}`));
    }
  },
};

async function installChart(ctx: ScenarioContext, helm: string, kubeconfig: string, image: string): Promise<void> {
  const at = image.lastIndexOf(':');
  const started = Date.now();
  // The two sidecars whose Go modules the proxy does not serve are replaced by what the chart offers
  // for that (docs/kubernetes-test-bed.md): the node plugin's own kubelet registration, and /readyz probes.
  await execa(helm, [
    'install', RELEASE, `${ctx.projectRoot}/charts/vbs-csi`,
    '--kubeconfig', kubeconfig, '--namespace', CHART_NS, '--create-namespace',
    '--set', `image.repository=${image.slice(0, at)}`, '--set', `image.tag=${image.slice(at + 1)}`,
    '--set', 'image.pullPolicy=Never', '--set', 'sidecars.pullPolicy=Never',
    '--set', 'node.kubeletRegistration=builtin', '--set', 'sidecars.livenessProbe.enabled=false',
    '--set', 'logLevel=debug', '--set', `agent.iqnPrefix=${IQN_PREFIX}`,
  ], { timeout: 300_000, cancelSignal: ctx.signal });
  ctx.log(`helm install: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function chartReady(ctx: ScenarioContext, kube: Kube, wait: Waiter): Promise<void> {
  const started = Date.now();
  let lastReport = Date.now();
  await wait.until('the chart\'s pods to be ready (controller Deployment, node and agent DaemonSets)', CHART_READY_MS, async () => {
    const pods = (await kube.core.listNamespacedPod({ namespace: CHART_NS })).items;
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      ctx.log(`waiting for the chart: ${pods.map((p) => `${p.metadata?.name} ${(p.status?.containerStatuses ?? []).map((c) => `${c.name}:${c.ready ? 'ready' : Object.keys(c.state ?? {}).join('')}/${c.restartCount}`).join(',')}`).join('; ')}`);
    }
    const ready = (component: string) => pods.some((p) => p.metadata?.labels?.['app.kubernetes.io/component'] === component && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready('controller') && ready('node') && ready('agent') ? true : undefined;
  });
  ctx.log(`chart pods ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Where the start's time went: each container's (last) start and restarts, each pod's Ready.
  for (const p of (await kube.core.listNamespacedPod({ namespace: CHART_NS })).items) {
    const at = (d: Date | undefined) => (d ? `+${((new Date(d).getTime() - started) / 1000).toFixed(0)} s` : '?');
    const readyAt = p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    ctx.log(`  ${p.metadata?.name}: ready ${at(readyAt)}; ${(p.status?.containerStatuses ?? []).map((c) => `${c.name} started ${at(c.state?.running?.startedAt)} restarts ${c.restartCount}`).join(', ')}`);
  }
  const ended = containerLogTails(8, 'ended');
  if (ended.length > 0) ctx.log(`how the restarted containers' earlier runs ended:\n${ended.join('\n')}`);
  // The kubelet registered the plugin (through the node plugin's own registration socket) with its topology.
  const csiNode = await wait.until('the CSINode to list vbs.csi.io', STEP_MS, async () => {
    const n = await kube.storage.readCSINode({ name: 'vbs-e2e' }).catch(() => undefined);
    return n?.spec.drivers.find((d) => d.name === DRIVER);
  });
  assert.ok(csiNode.topologyKeys?.length, `the CSINode's driver entry has no topology keys: ${JSON.stringify(csiNode)}`);
  // The provisioner publishes capacity per topology segment (--enable-capacity); its first object can say
  // 0 before the controller has heard from the agent, so wait for the pool's free space.
  const capacity = await wait.until('a CSIStorageCapacity above 0 for the chart\'s StorageClass', STEP_MS, async () => {
    const items = (await kube.storage.listNamespacedCSIStorageCapacity({ namespace: CHART_NS })).items.filter((c) => c.storageClassName === SC_EXT4 && c.capacity !== undefined && !/^0[A-Za-z]*$/.test(String(c.capacity)));
    return items.length > 0 ? items : undefined;
  });
  ctx.log(`CSINode topology keys ${csiNode.topologyKeys?.join(',')}; capacity ${capacity.map((c) => `${JSON.stringify(c.nodeTopology?.matchLabels)}=${c.capacity}`).join(' ')}`);
}

async function sequences(ctx: ScenarioContext, kube: Kube, wait: Waiter, busybox: string, runner: ExecaRunner): Promise<void> {
  const step = async (name: string, body: () => Promise<void>): Promise<void> => {
    const started = Date.now();
    await body();
    ctx.log(`step "${name}": ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  await kube.storage.createStorageClass({ body: {
    metadata: { name: SC_XFS }, provisioner: DRIVER, volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true,
    parameters: { provisioning: 'thin', 'csi.storage.k8s.io/fstype': 'xfs' },
  } });
  const claims: V1PersistentVolumeClaim[] = [
    claim('data-ext4', { storageClass: SC_EXT4, size: '64Mi' }),
    // xfsprogs refuses filesystems under 300 MiB.
    claim('data-xfs', { storageClass: SC_XFS, size: '320Mi' }),
    claim('data-block', { storageClass: SC_EXT4, size: '64Mi', block: true }),
  ];
  const sums: Record<string, string> = {};

  await step('WaitForFirstConsumer: claims wait for a pod', async () => {
    for (const body of claims) await kube.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body });
    // No pod yet: no volume is made (the provisioner waits for the scheduler's choice of node).
    await wait.until('the claims to report WaitForFirstConsumer', STEP_MS, async () => {
      const events = (await kube.core.listNamespacedEvent({ namespace: NS })).items;
      return claims.every((c) => events.some((e) => e.involvedObject.name === c.metadata?.name && e.reason === 'WaitForFirstConsumer')) ? true : undefined;
    });
    for (const c of claims) assert.equal((await kube.core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: c.metadata!.name! })).status?.phase, 'Pending');
  });

  await step('a pod writes ext4, xfs and a raw block device', async () => {
    await kube.core.createNamespacedPod({ namespace: NS, body: scriptPod('writer', busybox, [
      'dd if=/dev/urandom of=/ext4/file bs=1M count=8 2>/dev/null',
      'dd if=/dev/urandom of=/xfs/file bs=1M count=8 2>/dev/null',
      'dd if=/dev/urandom of=/tmp/block bs=1M count=8 2>/dev/null',
      'dd if=/tmp/block of=/dev/xvda bs=1M conv=fsync 2>/dev/null',
      'sync',
      'echo "ext4=$(sha256sum </ext4/file | cut -c1-64) xfs=$(sha256sum </xfs/file | cut -c1-64) block=$(sha256sum </tmp/block | cut -c1-64)" >/dev/termination-log',
    ].join('\n'), [{ claim: 'data-ext4', mountPath: '/ext4' }, { claim: 'data-xfs', mountPath: '/xfs' }, { claim: 'data-block', devicePath: '/dev/xvda' }]) });
    const written = parseSums(await podResult(kube, wait, NS, 'writer', STEP_MS));
    Object.assign(sums, written);
    // Bound by then, on the pod's node and zone.
    for (const c of claims) {
      const pvc = await kube.core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: c.metadata!.name! });
      assert.equal(pvc.status?.phase, 'Bound');
      const pv = await kube.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
      const terms = JSON.stringify(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []);
      assert.ok(terms.includes(ZONE), `PV ${pv.metadata?.name} is not pinned to the node's zone: ${terms}`);
    }
    const attachments = await volumeAttachments(kube);
    assert.equal(attachments.filter((a) => a.attached).length, 3, `three attached VolumeAttachments while the pod exists: ${JSON.stringify(attachments)}`);
    // For the secrets scan, while the volumes are exported: the chart's secrets, and the objects that must hold none.
    const found = await recordChartSecrets(kube, CHART_NS, KUBELET_ROOT, IQN_PREFIX);
    assert.ok(found.chapKeys >= 1 && found.privateKeys >= 3, `the chart's secrets were not all found: ${JSON.stringify(found)}`);
    await persistApiObjects(kube, ctx.workDir, [NS, CHART_NS], 'attached');
  });

  await step('pod deleted: unpublish, unstage, detach', async () => {
    await deletePod(kube, wait, NS, 'writer', STEP_MS);
    await wait.until('the VolumeAttachments to be gone', STEP_MS, async () => ((await volumeAttachments(kube)).length === 0 ? true : undefined));
    const sessions = await execa('iscsiadm', ['-m', 'session'], { reject: false });
    assert.ok(sessions.exitCode === 21, `iSCSI sessions left after detach: ${sessions.stdout}`);
  });

  await step('a new pod reads the same data (attach again)', async () => {
    await kube.core.createNamespacedPod({ namespace: NS, body: scriptPod('reader', busybox,
      'echo "ext4=$(sha256sum </ext4/file | cut -c1-64) xfs=$(sha256sum </xfs/file | cut -c1-64) block=$(head -c 8388608 /dev/xvda | sha256sum | cut -c1-64)" >/dev/termination-log',
      [{ claim: 'data-ext4', mountPath: '/ext4' }, { claim: 'data-xfs', mountPath: '/xfs' }, { claim: 'data-block', devicePath: '/dev/xvda' }]) });
    assert.deepEqual(parseSums(await podResult(kube, wait, NS, 'reader', STEP_MS)), sums);
    await deletePod(kube, wait, NS, 'reader', STEP_MS);
  });

  await step('online expansion: the running pod sees the filesystem and the block device grow', async () => {
    // The pod records the sizes it starts with, then waits until both have grown by half. df -P: one
    // line per filesystem (busybox wraps a long device name onto a line of its own otherwise).
    await kube.core.createNamespacedPod({ namespace: NS, body: scriptPod('grow', busybox, [
      'sizes() { fs=$(df -P -k /ext4 | awk \'NR==2{print $2}\'); dev=$(blockdev --getsize64 /dev/xvda)',
      '  case "$fs.$dev" in *[!0-9.]*|.*|*.) echo "unreadable sizes: fs=$fs dev=$dev" >/dev/termination-log; exit 1;; esac; }',
      'sizes; fs0=$fs; dev0=$dev',
      'while :; do sizes',
      '  if [ "$fs" -gt $((fs0 * 3 / 2)) ] && [ "$dev" -gt $((dev0 * 3 / 2)) ]; then break; fi; sleep 1; done',
      'echo "fs=$fs0->$fs dev=$dev0->$dev" >/dev/termination-log',
    ].join('\n'), [{ claim: 'data-ext4', mountPath: '/ext4' }, { claim: 'data-block', devicePath: '/dev/xvda' }]) });
    await podRunning(kube, wait, NS, 'grow', STEP_MS);
    for (const name of ['data-ext4', 'data-block']) {
      await kube.core.patchNamespacedPersistentVolumeClaim({ namespace: NS, name, body: { spec: { resources: { requests: { storage: '128Mi' } } } } }, kube.mergePatch);
    }
    ctx.log(`the pod saw: ${await podResult(kube, wait, NS, 'grow', STEP_MS)}`);
    await wait.until('the claims to report 128Mi', STEP_MS, async () => {
      const sizes = await Promise.all(['data-ext4', 'data-block'].map(async (name) => (await kube.core.readNamespacedPersistentVolumeClaim({ namespace: NS, name })).status?.capacity?.['storage']));
      return sizes.every((s) => s === '128Mi') ? true : undefined;
    });
    await deletePod(kube, wait, NS, 'grow', STEP_MS);
  });

  await step('the agent pod is replaced while a pod writes: no write fails, the data stays', async () => {
    // One fsync'd 64 KiB write a second for two minutes while the agent's pod is deleted and the DaemonSet's new
    // pod starts, is issued a new certificate and reconciles LIO from the LV tags. The kernel serves the LUN,
    // so the data path must not notice the agent's absence, its shutdown or its successor's reconcile.
    await kube.core.createNamespacedPod({ namespace: NS, body: scriptPod('steady', busybox, [
      `i=0; while [ $i -lt ${STEADY_WRITES} ]; do`,
      '  dd if=/dev/urandom of=/ext4/steady.$(printf %03d $i) bs=64k count=1 conv=fsync 2>/dev/null || { echo "write $i failed" >/dev/termination-log; exit 1; }',
      '  i=$((i + 1)); sleep 1; done',
      'echo "steady=$(cat /ext4/steady.* | sha256sum | cut -c1-64)" >/dev/termination-log',
    ].join('\n'), [{ claim: 'data-ext4', mountPath: '/ext4' }]) });
    await podRunning(kube, wait, NS, 'steady', STEP_MS);
    const agentPods = async () => (await kube.core.listNamespacedPod({ namespace: CHART_NS, labelSelector: 'app.kubernetes.io/component=agent' })).items;
    const old = (await agentPods())[0]?.metadata?.name;
    assert.ok(old, 'no agent pod');
    const deleted = Date.now();
    await kube.core.deleteNamespacedPod({ namespace: CHART_NS, name: old });
    const successor = await wait.until('the agent DaemonSet\'s new pod to be ready', STEP_MS, async () => {
      const ready = (await agentPods()).find((p) => p.metadata?.name !== old && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready?.metadata?.name;
    });
    ctx.log(`agent pod ${old} deleted; ${successor} ready ${((Date.now() - deleted) / 1000).toFixed(1)} s later`);
    await recordChartSecrets(kube, CHART_NS, KUBELET_ROOT, IQN_PREFIX); // the new pod's key
    Object.assign(sums, parseSums(await podResult(kube, wait, NS, 'steady', STEP_MS)));
    await deletePod(kube, wait, NS, 'steady', STEP_MS);
  });

  await step('VolumeSnapshot, restore and clone carry the data', async () => {
    await kube.custom.createNamespacedCustomObject({ group: 'snapshot.storage.k8s.io', version: 'v1', namespace: NS, plural: 'volumesnapshots', body: {
      apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', metadata: { name: 'snap-ext4' },
      spec: { volumeSnapshotClassName: SNAPSHOT_CLASS, source: { persistentVolumeClaimName: 'data-ext4' } },
    } });
    await wait.until('the VolumeSnapshot to be ready to use', STEP_MS, async () => {
      const s = (await kube.custom.getNamespacedCustomObject({ group: 'snapshot.storage.k8s.io', version: 'v1', namespace: NS, plural: 'volumesnapshots', name: 'snap-ext4' })) as { status?: { readyToUse?: boolean; error?: unknown } };
      if (s.status?.error) ctx.log(`snapshot status error: ${JSON.stringify(s.status.error)}`);
      return s.status?.readyToUse ? true : undefined;
    });
    await kube.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: claim('restored', { storageClass: SC_EXT4, size: '128Mi', dataSource: { kind: 'VolumeSnapshot', name: 'snap-ext4' } }) });
    await kube.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: claim('cloned', { storageClass: SC_EXT4, size: '128Mi', dataSource: { kind: 'PersistentVolumeClaim', name: 'data-ext4' } }) });
    await kube.core.createNamespacedPod({ namespace: NS, body: scriptPod('copies', busybox,
      'echo "restored=$(sha256sum </restored/file | cut -c1-64) cloned=$(sha256sum </cloned/file | cut -c1-64) steady=$(cat /restored/steady.* | sha256sum | cut -c1-64)" >/dev/termination-log',
      [{ claim: 'restored', mountPath: '/restored' }, { claim: 'cloned', mountPath: '/cloned' }]) });
    assert.deepEqual(parseSums(await podResult(kube, wait, NS, 'copies', STEP_MS)), { restored: sums['ext4'], cloned: sums['ext4'], steady: sums['steady'] });
    await persistApiObjects(kube, ctx.workDir, [NS, CHART_NS], 'snapshots');
    await deletePod(kube, wait, NS, 'copies', STEP_MS);
  });

  await step('claims and snapshot deleted: nothing left', async () => {
    await kube.custom.deleteNamespacedCustomObject({ group: 'snapshot.storage.k8s.io', version: 'v1', namespace: NS, plural: 'volumesnapshots', name: 'snap-ext4' }).catch(ignoreNotFound);
    for (const name of ['restored', 'cloned', 'data-ext4', 'data-xfs', 'data-block']) await kube.core.deleteNamespacedPersistentVolumeClaim({ namespace: NS, name }).catch(ignoreNotFound);
    await wait.until('every PersistentVolume and VolumeSnapshotContent to be gone', STEP_MS, async () => {
      const pvs = (await kube.core.listPersistentVolume()).items.length;
      const contents = ((await kube.custom.listClusterCustomObject({ group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshotcontents' })) as { items: unknown[] }).items.length;
      return pvs === 0 && contents === 0 ? true : undefined;
    });
    assert.equal(await exists(() => kube.core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: 'data-ext4' })), false);
    // On the node itself, read from the kernel and the tools: no session, node record, dm device, pod
    // mount, LIO target or ACL, LV besides the pool, or stage record.
    const sh: Sh = (file, args, okExitCodes) => runner.run({ file, args, timeoutMs: 120_000, ...(okExitCodes ? { okExitCodes } : {}) }, ctx.signal);
    const residue = await findDriverResidue(
      { iqnPrefix: IQN_PREFIX, vgs: ['vbs'], thinPool: 'pool', mounts: CSI_MOUNTS, stageRecordDirs: [STAGE_RECORD_DIR] },
      { sh, lio: new LioTarget({ configFs: new FsConfigFs() }), iscsiadm: new Iscsiadm({ runner }), signal: ctx.signal },
    );
    assert.deepEqual(residue, [], 'nothing is left on the node');
  });
}

async function volumeAttachments(kube: Kube): Promise<{ name: string; attached: boolean }[]> {
  return (await kube.storage.listVolumeAttachment()).items.map((a) => ({ name: a.metadata?.name ?? '', attached: a.status?.attached === true }));
}

/** "a=x b=y" → { a: 'x', b: 'y' }, from a pod's termination message. */
function parseSums(message: string): Record<string, string> {
  return Object.fromEntries(message.split(/\s+/).filter(Boolean).map((pair) => {
    const [key, value] = pair.split('=');
    assert.ok(key && value && /^[0-9a-f]{64}$/.test(value), `unexpected pod report: ${message}`);
    return [key, value];
  }));
}

async function uninstallChart(ctx: ScenarioContext, helm: string, kubeconfig: string, kube: Kube, wait: Waiter): Promise<void> {
  await kube.storage.deleteStorageClass({ name: SC_XFS }).catch(ignoreNotFound);
  await execa(helm, ['uninstall', RELEASE, '--kubeconfig', kubeconfig, '--namespace', CHART_NS, '--wait', '--timeout', '5m'], { timeout: 360_000, cancelSignal: ctx.signal });
  await wait.until('the chart\'s pods to be gone', STEP_MS, async () => ((await kube.core.listNamespacedPod({ namespace: CHART_NS })).items.length === 0 ? true : undefined));
  ctx.log('helm uninstall: the chart\'s pods are gone');
}
