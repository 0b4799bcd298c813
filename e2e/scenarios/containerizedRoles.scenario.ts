import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectAgentWire } from '../../src/agentApi/client.ts';
import { ExecaRunner } from '../../src/exec/index.ts';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import { Iscsiadm, readInitiatorName } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { buildDmName } from '../../src/node/index.ts';
import { clientCredentials, createCertificateAuthority, issueCertificate } from '../../src/tls/index.ts';
import { CHART_ARGS_WITHOUT_API_SERVER, renderChartPods } from '../support/chartPods.ts';
import type { ClusterWorker } from '../support/csiCluster.ts';
import { writeFileSynced } from '../support/diskIo.ts';
import { stageAndPublish, unpublishAndUnstage } from '../support/kubeletCalls.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { GuestPodman } from '../support/podmanPods.ts';
import type { PodSpec } from '../support/podmanRun.ts';
import { recordSecret } from '../support/secretLedger.ts';
import { createStepClock, retryingAsCo } from '../support/stepClock.ts';
import { IMAGE_STORE } from '../vm/imageStore.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;
const EXT4: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
/** The image `npm run image` builds; the host side of the test bed builds it when it is missing (e2e/vm.e2e.test.ts). */
export const IMAGE_ARCHIVE = '.e2e-work/image/vbs-csi.oci.tar';
const IMAGE = 'localhost/vbs-csi:0.1.0';
const VG = 'vbs-ctr';
const IQN_PREFIX = 'iqn.2026-11.io.vbs-ctr';
const STORAGE_NODE = 'ctr-storage';
const WORKER = 'ctr-worker';
/** The agent's "node IP" (hostNetwork: the pod IP is the node's). */
const NODE_IP = '127.0.0.2';
const AGENT_SERVICE = 'vbs-csi-agent.vbs-csi.svc';
const KUBELET = '/var/lib/kubelet';
const READY_MS = 600_000;
/** emptyDir volumes as host dirs, short: the test dials the CSI sockets in them (108-byte socket paths). */
const PODS_DIR = '/run/vbs-pods';
/**
 * Under TCG V8 now and then crashes tiering WebAssembly up (e2e/guest/boot.sh); the guest's own node
 * runs with --liftoff-only, and so does the image's here. Only the entrypoint differs from the image's.
 */
const TCG_ENTRYPOINT = ['/usr/bin/tini', '--', 'node', '--liftoff-only', 'src/main.ts'];

/**
 * Issue 16 part 1: the image from `npm run image`, run by podman + crun as the chart's pods run
 * (`helm template` → e2e/support/podmanRun.ts: privileged, hostNetwork/hostPID, hostPath mounts,
 * the kubelet dir rshared, emptyDir and Secret volumes as host dirs), the agent and node with
 * --host-exec=nsenter so lvm, dmsetup and iscsiadm are the guest's own. The test plays kubelet and
 * the sidecars over the CSI sockets: create, publish, stage with mkfs, write, expand online,
 * snapshot, restore, unstage, delete; the data is checked through the mounts the containers made
 * (so propagation worked), and nothing is left: LVs, LIO targets and ACLs, sessions, node records,
 * dm devices, mounts, stage records.
 * Differences from a cluster, each needed for want of one: the controller shares the host network
 * (no pod network here), the agents' Service name is an /etc/hosts entry, and the removed-nodes
 * record is a file instead of a ConfigMap (no API server).
 */
export const containerizedRolesScenario: Scenario = {
  name: 'containerized roles: the image in podman as the chart runs it (agent, node, controller), full lifecycle, nothing left on the host',
  // About 4 min alone under TCG (README's tier table); a hung guest panics (e2e/vm/qemu.ts) long before this.
  timeoutMs: 900_000,
  needsImage: true,
  async run(ctx) {
    const clock = retryingAsCo(createStepClock(ctx), ctx.signal);
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const sh = (file: string, args: readonly string[], okExitCodes?: readonly number[]) => runner.run({ file, args, timeoutMs: 120_000, ...(okExitCodes ? { okExitCodes } : {}) }, ctx.signal);
    const podman = new GuestPodman(ctx, runner);
    const lio = new LioTarget({ configFs: new FsConfigFs() });
    const iscsiadm = new Iscsiadm({ runner });
    const clients: { close(): void }[] = [];
    let vg: LoopVolumeGroup | undefined;
    const processes: { name: string; output(): string; hasExited(): boolean }[] = [];
    let failed = true;
    try {
      const store = join(ctx.projectRoot, IMAGE_STORE);
      const how = await clock.timed('podman: cgroup2, shared kubelet dir, storage tmpfs, the image', () =>
        podman.prepare(join(ctx.projectRoot, IMAGE_ARCHIVE), { dir: store, stamp: `${store}.inputs`, archiveStamp: join(ctx.projectRoot, `${IMAGE_ARCHIVE}.inputs`) }),
      );
      clock.note(`image: ${how}`);
      vg = await clock.timed(`storage: loop VG ${VG} with thin pool`, () => createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: VG, fileMiB: 1024, poolMiB: 512, signal: ctx.signal }));

      // What the cluster's Secrets and each worker's node-tls host directory would hold.
      const initiator = (await readInitiatorName()).toLowerCase();
      const ca = await createCertificateAuthority({ commonName: 'vbs-ctr CA', validDays: 2 });
      recordSecret('tls-private-key', 'containerized CA key', ca.keyPem);
      const agentCert = await issueCertificate(ca, { commonName: AGENT_SERVICE, dnsNames: [AGENT_SERVICE], ipAddresses: [NODE_IP], usages: 'server', identity: { kind: 'agent', storageNode: STORAGE_NODE }, validDays: 1 });
      const ctlCert = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
      const nodeCert = await issueCertificate(ca, { commonName: WORKER, usages: 'client', identity: { kind: 'node', initiatorIqn: initiator }, validDays: 1 });
      for (const k of [agentCert.keyPem, ctlCert.keyPem, nodeCert.keyPem]) recordSecret('tls-private-key', 'containerized key', k);
      const chapKey = recordSecret('chap-key', 'containerized CHAP key', randomBytes(32).toString('base64'));
      const nodeTlsDir = '/etc/vbs-csi/node-tls';
      await mkdir(nodeTlsDir, { recursive: true });
      await writeFile(join(nodeTlsDir, 'ca.crt'), ca.certPem);
      await writeFile(join(nodeTlsDir, 'tls.crt'), nodeCert.certPem);
      await writeFile(join(nodeTlsDir, 'tls.key'), nodeCert.keyPem, { mode: 0o600 });
      const secretFiles = {
        'vbs-csi-agent-tls': { 'ca.crt': ca.certPem, 'tls.crt': agentCert.certPem, 'tls.key': agentCert.keyPem },
        'vbs-csi-chap': { key: chapKey },
        'vbs-csi-controller-tls': { 'ca.crt': ca.certPem, 'tls.crt': ctlCert.certPem, 'tls.key': ctlCert.keyPem },
      };
      const secretDirs = Object.fromEntries(Object.keys(secretFiles).map((s) => [s, join(ctx.workDir, 'secrets', s)]));

      const pods = await clock.timed('helm template charts/vbs-csi', async () =>
        renderChartPods([
          '--set', `agent.vg=${VG}`, '--set', `agent.iqnPrefix=${IQN_PREFIX}`, '--set', 'logLevel=debug',
          ...CHART_ARGS_WITHOUT_API_SERVER,
        ]),
      );
      const pod = (key: string): PodSpec => {
        const p = pods.get(key);
        assert.ok(p, `the chart renders ${key}`);
        return p;
      };
      const common = { image: IMAGE, container: 'vbs-csi', secretDirs, entrypoint: TCG_ENTRYPOINT };
      const start = async (name: string, key: string, nodeName: string, extra: Partial<Parameters<GuestPodman['run']>[1]> = {}) => {
        const fieldRefs = { 'spec.nodeName': nodeName, 'status.podIP': NODE_IP, 'metadata.namespace': 'vbs-csi', 'metadata.name': name };
        const { process, argv } = await podman.run(pod(key), { ...common, ...extra, name, emptyDirRoot: join(PODS_DIR, name), fieldRefs }, secretFiles);
        ctx.log(`podman ${argv.join(' ')}`);
        processes.push(process);
        return process;
      };
      const agent = await start('agent', 'DaemonSet/vbs-csi-agent', STORAGE_NODE);
      const node = await start('node', 'DaemonSet/vbs-csi-node', WORKER);
      const controller = await start('controller', 'Deployment/vbs-csi-controller', STORAGE_NODE, {
        podNetwork: 'host',
        addHosts: { [`${AGENT_SERVICE}.cluster.local`]: NODE_IP },
        argOverrides: { '--removed-storage-nodes': 'file:/csi/removed-storage-nodes.json' },
      });
      const alive = (p: typeof agent) => {
        if (p.hasExited()) throw new Error(`container ${p.name} exited:\n${p.output().split('\n').slice(-60).join('\n')}`);
      };

      const agentApi = connectAgentWire(`${NODE_IP}:9500`, clientCredentials({ caPem: ca.certPem, certPem: ctlCert.certPem, keyPem: ctlCert.keyPem }, { expectedServerName: AGENT_SERVICE }), 30_000);
      clients.push(agentApi);
      await clock.timed('the agent container is ready (LIO rebuilt from tags)', () =>
        pollUntil(async () => {
          alive(agent);
          const st = await agentApi.getNodeStatus().catch(() => undefined);
          return st?.ready ? true : undefined;
        }, { deadlineMs: Date.now() + READY_MS, intervalMs: 1000, what: 'the agent container to be ready', signal: ctx.signal }),
      );
      const ctl = connectCsi(`unix://${join(PODS_DIR, 'controller', 'socket-dir', 'csi.sock')}`, 240_000);
      clients.push(ctl);
      await clock.timed('the controller container counts the agent in GetCapacity', () =>
        pollUntil(async () => {
          alive(controller);
          const cap = await ctl.controller.getCapacity({ volume_capabilities: [], parameters: {} }).catch(() => undefined);
          return cap !== undefined && Number(cap.available_capacity) > 0 ? true : undefined;
        }, { deadlineMs: Date.now() + READY_MS, intervalMs: 1000, what: 'the controller container to count the agent', signal: ctx.signal }),
      );
      const nodeCsi = connectCsi(`unix://${KUBELET}/plugins/vbs.csi.io/csi.sock`, 240_000);
      clients.push(nodeCsi);
      const info = await clock.timed('the node container answers NodeGetInfo', () =>
        pollUntil(async () => {
          alive(node);
          return nodeCsi.node.nodeGetInfo({}).catch(() => undefined);
        }, { deadlineMs: Date.now() + READY_MS, intervalMs: 1000, what: 'the node container to answer NodeGetInfo', signal: ctx.signal }),
      );
      assert.equal(info.node_id, initiator, 'the node id is the host initiator name read through the mounted /etc/iscsi');
      const worker: ClusterWorker = { name: WORKER, nodeId: info.node_id, csi: nodeCsi, process: node, stateDir: '/var/lib/vbs-csi/node', iscsiIface: undefined };

      // The lifecycle, as the sidecars and kubelet drive it.
      const src = (await clock.timed('CreateVolume pvc-ctr (64 MiB ext4)', () => ctl.controller.createVolume({ name: 'pvc-ctr', capacity_range: { required_bytes: 64 * MiB }, volume_capabilities: [EXT4], parameters: { fsType: 'ext4' } }))).volume!;
      assert.equal((await lvsOf(sh)).length, 1, 'the agent container made one LV with the host lvm');
      const pub = await clock.timed('ControllerPublishVolume', () => ctl.controller.controllerPublishVolume({ volume_id: src.volume_id, node_id: worker.nodeId, volume_capability: EXT4, readonly: false }));
      assert.deepEqual((await lio.readExport(pub.publish_context['targetIqn']!))?.acls.map((a) => a.initiatorIqn), [worker.nodeId], 'the LIO ACL names the worker');
      const a1 = await stageAndPublish(clock, KUBELET, worker, { volumeId: src.volume_id, pvName: 'pvc-ctr', podUid: 'pod-ctr-1', capability: EXT4, publishContext: pub.publish_context });
      const data = randomBytes(8 * MiB);
      // Written from outside the containers: the mount the node container made reached the host.
      await clock.timed('write 8 MiB through the propagated pod mount', () => writeFileSynced(join(a1.target, 'data.bin'), data));
      const dm = `/dev/mapper/${buildDmName(worker.nodeId, src.volume_id)}`;
      assert.ok((await sh('dmsetup', ['info', buildDmName(worker.nodeId, src.volume_id)])).stdout.includes('ACTIVE'), `${dm} is the host's`);

      await clock.timed('ControllerExpandVolume to 128 MiB', () => ctl.controller.controllerExpandVolume({ volume_id: src.volume_id, capacity_range: { required_bytes: 128 * MiB }, volume_capability: EXT4 }));
      await clock.timed('NodeExpandVolume (rescan, dm reload, resize2fs online)', () =>
        nodeCsi.node.nodeExpandVolume({ volume_id: src.volume_id, volume_path: a1.target, staging_target_path: a1.staging, capacity_range: { required_bytes: 128 * MiB }, volume_capability: EXT4 }),
      );
      const fsBytes = await filesystemBytes(a1.target);
      assert.ok(fsBytes > 110 * MiB, `the filesystem grew online: ${fsBytes}`);
      assert.equal(sha256(await readFile(join(a1.target, 'data.bin'))), sha256(data), 'data intact after the expansion');

      const snap = (await clock.timed('CreateSnapshot', () => ctl.controller.createSnapshot({ name: 'snap-ctr', source_volume_id: src.volume_id, parameters: {} }))).snapshot!;
      assert.equal(snap.ready_to_use, true);
      const restored = (
        await clock.timed('CreateVolume pvc-ctr-restore from the snapshot', () =>
          ctl.controller.createVolume({ name: 'pvc-ctr-restore', capacity_range: { required_bytes: 128 * MiB }, volume_capabilities: [EXT4], parameters: { fsType: 'ext4' }, volume_content_source: { snapshot: { snapshot_id: snap.snapshot_id } } }),
        )
      ).volume!;
      const pub2 = await clock.timed('ControllerPublishVolume restore', () => ctl.controller.controllerPublishVolume({ volume_id: restored.volume_id, node_id: worker.nodeId, volume_capability: EXT4, readonly: false }));
      const a2 = await stageAndPublish(clock, KUBELET, worker, { volumeId: restored.volume_id, pvName: 'pvc-ctr-restore', podUid: 'pod-ctr-2', capability: EXT4, publishContext: pub2.publish_context });
      assert.equal(sha256(await readFile(join(a2.target, 'data.bin'))), sha256(data), 'the restore holds the same data');

      for (const a of [a2, a1]) {
        await unpublishAndUnstage(clock, a);
        await clock.timed(`ControllerUnpublishVolume ${a.volumeId}`, () => ctl.controller.controllerUnpublishVolume({ volume_id: a.volumeId, node_id: worker.nodeId }));
      }
      await clock.timed('DeleteVolume restore', () => ctl.controller.deleteVolume({ volume_id: restored.volume_id }));
      await clock.timed('DeleteSnapshot', () => ctl.controller.deleteSnapshot({ snapshot_id: snap.snapshot_id }));
      await clock.timed('DeleteVolume source', () => ctl.controller.deleteVolume({ volume_id: src.volume_id }));

      const residue = await findResidue(sh, lio, iscsiadm, ctx.signal);
      assert.deepEqual(residue, [], 'nothing is left on the host');
      clock.note('containerized lifecycle done; nothing left on the host');
      failed = false;
    } finally {
      for (const c of clients) c.close();
      await podman.stop();
      if (failed) {
        for (const p of processes) ctx.log(`--- container ${p.name} (last lines) ---\n${p.output().split('\n').slice(-80).join('\n')}`);
        const left = await findResidue(sh, lio, iscsiadm, ctx.signal).catch((err: unknown) => [`(residue check failed: ${String(err)})`]);
        if (left.length > 0) ctx.log(`left behind: ${left.join('; ')}`);
        await cleanUp(sh, lio, iscsiadm, ctx.signal, ctx.log);
      }
      await vg?.destroy(ctx.log);
    }
  },
};

type Sh = (file: string, args: readonly string[], okExitCodes?: readonly number[]) => Promise<{ stdout: string }>;

async function lvsOf(sh: Sh): Promise<string[]> {
  const out = await sh('lvm', ['lvs', '--noheadings', '-o', 'lv_name', VG]);
  return out.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== 'pool');
}

const NODE_DM_NAME = /^vbs-[0-9a-f]{20}(?:-ro-[0-9a-f]{16})?$/;

async function findResidue(sh: Sh, lio: LioTarget, iscsiadm: Iscsiadm, signal: AbortSignal): Promise<string[]> {
  const found: string[] = [];
  const ours = (iqn: string) => iqn.startsWith(`${IQN_PREFIX}:`);
  for (const s of await iscsiadm.listSessions(signal)) if (ours(s.targetIqn)) found.push(`iSCSI session ${s.sid} to ${s.targetIqn}`);
  const records = await sh('iscsiadm', ['-m', 'node'], [0, 21]);
  for (const line of records.stdout.split('\n')) if (line.includes(`${IQN_PREFIX}:`)) found.push(`node record ${line.trim()}`);
  const dm = await sh('dmsetup', ['ls']);
  for (const line of dm.stdout.split('\n')) if (NODE_DM_NAME.test(line.split('\t')[0]?.trim() ?? '')) found.push(`dm device ${line.trim()}`);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint?.startsWith(`${KUBELET}/${WORKER}/`)) found.push(`mount at ${mountPoint}`);
  }
  for (const exp of await lio.listExports()) if (ours(exp.targetIqn)) found.push(`LIO target ${exp.targetIqn} (ACLs: ${exp.acls.map((a) => a.initiatorIqn).join(', ') || 'none'})`);
  for (const lv of await lvsOf(sh)) found.push(`LV ${VG}/${lv}`);
  for (const f of await readdir('/var/lib/vbs-csi/node').catch(() => [] as string[])) if (f.endsWith('.json')) found.push(`stage record ${f}`);
  return found;
}

/** After a failure: best effort, so the next scenario starts clean. */
async function cleanUp(sh: Sh, lio: LioTarget, iscsiadm: Iscsiadm, signal: AbortSignal, log: (m: string) => void): Promise<void> {
  const note = (what: string) => (err: unknown) => log(`cleanup ${what}: ${err instanceof Error ? err.message : String(err)}`);
  await sh('umount', ['-R', '-l', `${KUBELET}/${WORKER}`]).catch(() => {});
  const dm = await sh('dmsetup', ['ls']).catch(() => ({ stdout: '' }));
  for (const name of dm.stdout.split('\n').map((l) => l.split('\t')[0]?.trim() ?? '').filter((n) => NODE_DM_NAME.test(n))) {
    await sh('dmsetup', ['remove', '--force', name]).catch(note(`dmsetup remove ${name}`));
  }
  for (const s of await iscsiadm.listSessions(signal).catch(() => [])) {
    if (!s.targetIqn.startsWith(`${IQN_PREFIX}:`)) continue;
    await sh('iscsiadm', ['-m', 'session', '-r', String(s.sid), '-u']).catch(note(`logout ${s.targetIqn}`));
    await iscsiadm.deleteNodeRecord({ targetIqn: s.targetIqn, portal: s.portal }, signal).catch(note(`node record ${s.targetIqn}`));
  }
  for (const exp of await lio.listExports().catch(() => [])) {
    if (exp.targetIqn.startsWith(`${IQN_PREFIX}:`)) await lio.unexportVolume(exp.targetIqn, exp.luns[0]?.backstore?.name ?? '').catch(note(`unexport ${exp.targetIqn}`));
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function filesystemBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.blocks * s.bsize;
}
