import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Server, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { AgentVolumes } from '../../src/agent/AgentVolumes.ts';
import { BlkdiscardZeroer } from '../../src/agent/zeroing/BlkdiscardZeroer.ts';
import type { AgentTarget } from '../../src/agentApi/types.ts';
import type { ChapCredentials } from '../../src/chap/index.ts';
import { buildPublishContext } from '../../src/csi/publishContext.ts';
import { runReadinessChecks } from '../../src/csi/readiness.ts';
import { formatObjectId } from '../../src/csi/volumeIds.ts';
import { Dmsetup } from '../../src/dm/index.ts';
import { ExecaRunner } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { RunningServer } from '../../src/grpc/serve.ts';
import { findSessionIdInSysfs, Iscsiadm, readInitiatorName, readSessionStateInSysfs } from '../../src/iscsi/index.ts';
import { createAgentCredentialsHandlers } from '../../src/agent/handlers/agentCredentialsHandlers.ts';
import { loadAgentProto, loadCsiProto } from '../../src/grpc/loadProtos.ts';
import { serverCredentials } from '../../src/tls/index.ts';
import { makeNodeCertificates } from '../support/clusterCertificates.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { Lvm } from '../../src/lvm/index.ts';
import { Mounter } from '../../src/mount/index.ts';
import { buildDmName, buildReadOnlyDmName, createNodeService } from '../../src/node/index.ts';
import type { NodeService } from '../../src/node/index.ts';
import { ddRead, ddWrite, writeFileSynced } from '../support/diskIo.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordChap, recordSecret } from '../support/secretLedger.ts';
import { pollUntil } from '../vm/poll.ts';
import { exportForLogin } from '../support/exportForLogin.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

const VG = 'vbs-nodeplug';
const STORE = 'store-e2e';
const PORTAL = { ip: '127.0.0.4', port: 3260 };
const IQN_PREFIX = 'iqn.2026-11.io.vbs-e2e-node';
/** The second "worker": its own initiator name, on its own open-iscsi iface. */
const WORKER2_IFACE = 'vbs-e2e-w2';
const WORKER2_INITIATOR = 'iqn.2026-11.io.vbs-e2e:worker-2';
const MiB = 1024 * 1024;
const EXT4: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BLOCK_RWX: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };

interface Worker {
  readonly name: string;
  readonly service: NodeService;
  readonly server: RunningServer;
  readonly csi: CsiApi;
  readonly iface: string | undefined;
}

/**
 * The CSI Node service on the real kernel, driven over gRPC as kubelet would, against an
 * in-process storage agent (AgentVolumes over a loop-file VG and the kernel's LIO):
 *  1. a filesystem volume: NodeStage (ext4) → NodePublish → write → the agent expands the LV →
 *     NodeExpandVolume → device and filesystem grown, data intact → stats and health →
 *     unpublish and unstage, each twice → no session, mount, dm device, node record or stage
 *     record left;
 *  2. a raw block volume (MULTI_NODE_MULTI_WRITER) staged and published under two initiator
 *     names at once (the second node service logs in through its own iface), written from both
 *     and each side reads the other's write; a read-only publish of it on worker 1 refuses writes
 *     (a read-only bind of the writable device would not: shown first) and leaves the data as it
 *     was; then everything torn down twice.
 */
export const nodePluginScenario: Scenario = {
  name: 'node plugin: stage, publish, online expand, stats and teardown of an ext4 volume; a raw block volume shared by two initiators',
  timeoutMs: 480_000,
  async run(ctx) {
    const { signal } = ctx;
    const log = pino({ level: 'info', base: null, timestamp: false }, { write: (line: string) => ctx.log(line.trim()) });
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const sh = (file: string, args: readonly string[]) => runner.run({ file, args, timeoutMs: 60_000 }, signal);
    const lvm = new Lvm({ runner, vgName: VG, thinPoolName: 'pool' });
    const agent = new AgentVolumes({ lvm, lio: new LioTarget({ configFs: new FsConfigFs() }), chapKey: recordSecret('chap-key', 'in-process agent key', randomBytes(32)), portal: PORTAL, iqnPrefix: IQN_PREFIX, overprovisionRatio: 4, zeroer: new BlkdiscardZeroer({ runner }), log: log.child({ c: 'agent' }) });
    const iscsiadm = new Iscsiadm({ runner });
    const dmsetup = new Dmsetup({ runner });
    const mounter = new Mounter({ runner });
    const kubelet = join(ctx.workDir, 'kubelet');
    const timings: string[] = [];
    const t0 = performance.now();
    const step = (what: string): void => ctx.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);
    const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await fn();
      timings.push(`${what} ${Math.round(performance.now() - started)} ms`);
      return result;
    };
    const workers: Worker[] = [];
    const volumeIds: string[] = [];
    let agentAddress = '';
    let stopCreds: () => Promise<void> = async () => undefined;
    let disk: LoopVolumeGroup | undefined;

    try {
      // Kubelet's directories on a real filesystem, as on a node (vm-test-bed.md: overlay st_dev pitfall).
      await mkdir(kubelet, { recursive: true });
      await sh('mount', ['-t', 'tmpfs', 'kubelet', kubelet]);
      disk = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: VG, fileMiB: 1024, poolMiB: 512, signal });
      await agent.reconcile(signal);
      // The node plugins fetch CHAP credentials from the agent over mutual TLS, each with its
      // node certificate, as in a cluster: the agent checks the caller is the initiator asked about.
      const tlsDir = join(ctx.workDir, 'tls');
      const hostInitiator = await readInitiatorName();
      const certs = await makeNodeCertificates(tlsDir, STORE, [hostInitiator, WORKER2_INITIATOR]);
      const credsServer = new Server();
      credsServer.addService(loadAgentProto().vbs.agent.v1.AgentCredentials.service, createAgentCredentialsHandlers(agent, log.child({ c: 'agent-credentials' })));
      const creds = await serve({ server: credsServer, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log, credentials: serverCredentials(certs.agent) });
      agentAddress = creds.address;
      stopCreds = () => creds.shutdown(1000);
      const tlsOf = (iqn: string) => ({ caPath: certs.caPath, ...certs.nodes.get(iqn)! });

      const a = await startWorker(ctx, log, 'worker-1', { initiatorName: undefined, iscsiIface: undefined, tls: tlsOf(hostInitiator) });
      workers.push(a);
      assert.deepEqual(await runReadinessChecks(a.service.readiness, 5_000), { ready: true, problems: [] });
      const info = await a.csi.node.nodeGetInfo({});
      assert.equal(info.node_id, a.service.nodeId);
      step(`node service 1 up as ${info.node_id}`);

      // 1. ext4: stage, publish, write.
      const vol = await agent.createVolume({ name: `pvc-node-${randomBytes(3).toString('hex')}`, sizeBytes: 64 * MiB, thick: false }, signal);
      volumeIds.push(vol.id);
      const volumeId = formatObjectId({ node: STORE, id: vol.id });
      const exported = await exportForLogin(agent, { volumeId: vol.id, initiatorIqn: a.service.nodeId, readOnly: false, mutualChap: true }, signal);
      const publishContext = toPublishContext(exported.target, exported.chap, agentAddress);
      const staging = join(kubelet, 'plugins', 'vbs', 'staging', 'fs1');
      const target = join(kubelet, 'pods', 'pod-1', 'volumes', 'fs1', 'mount');
      await mkdir(staging, { recursive: true });
      const stageReq = { volume_id: volumeId, staging_target_path: staging, volume_capability: EXT4, publish_context: publishContext };
      await timed('NodeStage (login, serial check, dm, mkfs.ext4, mount)', () => a.csi.node.nodeStageVolume(stageReq));
      await timed('NodeStage again (idempotent)', () => a.csi.node.nodeStageVolume(stageReq));
      const dmName = buildDmName(a.service.nodeId, volumeId);
      const staged = await mounter.findMount(staging, signal);
      assert.equal(staged?.source, `/dev/mapper/${dmName}`, 'the filesystem sits on our dm device');
      assert.equal(staged?.fsType, 'ext4');
      assert.ok(staged?.options.includes('noatime'), 'mount_flags applied');
      const table = await dmsetup.table(dmName, signal);
      assert.equal(table?.[0]?.sectors, (64 * MiB) / 512);
      step(`staged ${volumeId} on /dev/mapper/${dmName} (${table?.[0]?.args[0]})`);

      const publishReq = { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: EXT4, readonly: false };
      await timed('NodePublish', () => a.csi.node.nodePublishVolume(publishReq));
      await a.csi.node.nodePublishVolume(publishReq);
      const data = randomBytes(8 * MiB);
      await writeFileSynced(join(target, 'data.bin'), data);
      const checksum = sha256(data);
      step(`published at ${target}; 8 MiB written`);

      // Expand on the agent, then on the node.
      await agent.expandVolume(vol.id, 128 * MiB, signal);
      const expandReq = { volume_id: volumeId, volume_path: target, staging_target_path: staging, capacity_range: { required_bytes: 128 * MiB }, volume_capability: EXT4 };
      const expanded = await timed('NodeExpandVolume (rescan, dm reload, resize2fs)', () => a.csi.node.nodeExpandVolume(expandReq));
      assert.equal(expanded.capacity_bytes, 128 * MiB);
      assert.equal(Number((await sh('blockdev', ['--getsize64', `/dev/mapper/${dmName}`])).stdout.trim()), 128 * MiB, 'the dm device grew');
      await a.csi.node.nodeExpandVolume(expandReq);
      const stats = await a.csi.node.nodeGetVolumeStats({ volume_id: volumeId, volume_path: target });
      const bytes = stats.usage.find((u) => u.unit === 'BYTES');
      const inodes = stats.usage.find((u) => u.unit === 'INODES');
      assert.ok(bytes && bytes.total > 110 * MiB && bytes.total <= 128 * MiB, `filesystem grew to about 128 MiB: ${bytes?.total}`);
      assert.ok(bytes.used >= 8 * MiB, 'the written file counts');
      assert.ok(inodes && inodes.total > 0 && inodes.used > 0);
      assert.equal(sha256(await readFile(join(target, 'data.bin'))), checksum, 'data intact after the expansion');
      await assert.rejects(a.csi.node.nodeGetVolumeStats({ volume_id: volumeId, volume_path: join(kubelet, 'nope') }), (e: { code?: number }) => e.code === 5);
      const health = await a.csi.node.nodeGetVolumeHealth({ volume_id: volumeId });
      assert.deepEqual(health.volume_health?.health_statuses, [], 'healthy');
      step(`expanded to 128 MiB online (fs ${bytes.total} bytes), data intact, stats and health fine`);

      // The target goes away and comes back: health follows the kernel's session state (sysfs).
      const tpgEnable = `iscsi/${exported.target.iqn}/tpgt_1/enable`;
      const configFs = new FsConfigFs();
      const sessionKey = { targetIqn: exported.target.iqn, portal: PORTAL };
      const healthReasons = async () => ((await a.csi.node.nodeGetVolumeHealth({ volume_id: volumeId })).volume_health?.health_statuses ?? []).map((h) => h.reason);
      await configFs.writeAttr(tpgEnable, '0');
      const down = await pollUntil(async () => ((await healthReasons()).includes('IscsiSessionDown') ? healthReasons() : undefined), {
        deadlineMs: Date.now() + 60_000, intervalMs: 500, what: 'health to report the session down', signal,
      });
      const downSid = await findSessionIdInSysfs(sessionKey);
      assert.ok(downSid !== undefined, 'sysfs still shows the session while it recovers');
      assert.equal((await readSessionStateInSysfs(downSid)).sessionState, 'FAILED');
      await configFs.writeAttr(tpgEnable, '1');
      await pollUntil(async () => ((await healthReasons()).length === 0 ? true : undefined), {
        deadlineMs: Date.now() + 120_000, intervalMs: 500, what: 'health to report the volume healthy after the target came back', signal,
      });
      assert.equal((await readSessionStateInSysfs(downSid)).sessionState, 'LOGGED_IN', 'the same session logged in again');
      await writeFile('/proc/sys/vm/drop_caches', '3'); // read back from the disk, not the page cache
      assert.equal(sha256(await readFile(join(target, 'data.bin'))), checksum, 'data intact after the outage');
      step(`target disabled: health said ${down.join(', ')} (session ${downSid} FAILED in sysfs); enabled again: healthy, data intact`);

      // Teardown, each call twice.
      const unpublishReq = { volume_id: volumeId, target_path: target };
      await timed('NodeUnpublish', () => a.csi.node.nodeUnpublishVolume(unpublishReq));
      await a.csi.node.nodeUnpublishVolume(unpublishReq);
      const unstageReq = { volume_id: volumeId, staging_target_path: staging };
      await timed('NodeUnstage (umount, dm remove, scsi delete, logout, record delete)', () => a.csi.node.nodeUnstageVolume(unstageReq));
      await a.csi.node.nodeUnstageVolume(unstageReq);
      await assertNothingLeft(ctx, { runner, iscsiadm, dmsetup, mounter }, { targetIqn: exported.target.iqn, dmNames: [dmName], paths: [staging, target], stateDirs: [join(ctx.workDir, 'state-worker-1')] });
      assert.equal(existsSync(target), false, 'the target directory is removed');
      step('ext4 volume torn down: no session, mount, dm device, node record or stage record');

      // 2. A raw block volume under two initiator names at once.
      const b = await startWorker(ctx, log, 'worker-2', { initiatorName: WORKER2_INITIATOR, iscsiIface: WORKER2_IFACE, tls: tlsOf(WORKER2_INITIATOR) });
      workers.push(b);
      const blockVol = await agent.createVolume({ name: `pvc-block-${randomBytes(3).toString('hex')}`, sizeBytes: 32 * MiB, thick: false }, signal);
      volumeIds.push(blockVol.id);
      const blockId = formatObjectId({ node: STORE, id: blockVol.id });
      const sides = [] as { w: Worker; staging: string; target: string }[];
      for (const w of [a, b]) {
        const exp = await exportForLogin(agent, { volumeId: blockVol.id, initiatorIqn: w.service.nodeId, readOnly: false, mutualChap: false }, signal);
        const s = { w, staging: join(kubelet, 'plugins', 'vbs', 'staging', `blk-${w.name}`), target: join(kubelet, 'plugins', 'kubernetes.io', 'csi', 'volumeDevices', 'publish', `blk-${w.name}`, 'pod') };
        await mkdir(s.staging, { recursive: true });
        const req = { volume_id: blockId, staging_target_path: s.staging, volume_capability: BLOCK_RWX, publish_context: toPublishContext(exp.target, exp.chap, agentAddress) };
        await timed(`NodeStage block ${w.name}`, () => w.csi.node.nodeStageVolume(req));
        await w.csi.node.nodeStageVolume(req);
        const pub = { volume_id: blockId, staging_target_path: s.staging, target_path: s.target, volume_capability: BLOCK_RWX, readonly: false };
        await timed(`NodePublish block ${w.name}`, () => w.csi.node.nodePublishVolume(pub));
        await w.csi.node.nodePublishVolume(pub);
        sides.push(s);
      }
      const sessions = (await iscsiadm.listSessionDetails(signal)).filter((s) => s.targetIqn === blockVol.target.iqn);
      assert.deepEqual(sessions.map((s) => s.ifaceName ?? 'default').sort(), ['default', WORKER2_IFACE].sort(), 'one session per initiator');
      const nodeRecords = (await iscsiadm.listNodeRecords(signal)).filter((r) => r.targetIqn === blockVol.target.iqn);
      assert.deepEqual(nodeRecords.map((r) => [r.portal.ip, r.portal.port, r.tpgt]), [[PORTAL.ip, PORTAL.port, 1], [PORTAL.ip, PORTAL.port, 1]], 'iscsiadm -m node lists the record of each iface');
      const [sa, sb] = sides as [(typeof sides)[0], (typeof sides)[0]];
      const chunkA = randomBytes(MiB);
      const chunkB = randomBytes(MiB);
      await ddWrite(runner, ctx, sa.target, chunkA, 0, signal);
      await ddWrite(runner, ctx, sb.target, chunkB, 1, signal);
      assert.equal(sha256(await ddRead(runner, ctx, sb.target, 0, signal)), sha256(chunkA), 'worker 2 reads what worker 1 wrote');
      assert.equal(sha256(await ddRead(runner, ctx, sa.target, 1, signal)), sha256(chunkB), 'worker 1 reads what worker 2 wrote');
      const blockStats = await b.csi.node.nodeGetVolumeStats({ volume_id: blockId, volume_path: sb.target });
      assert.deepEqual(blockStats.usage.map((u) => [u.unit, u.total]), [['BYTES', 32 * MiB]]);
      step('block volume staged under two initiator names, written and read across both');

      // A read-only publish: writes through it fail and change nothing. The premise first: a
      // read-only bind mount of the volume's writable device node still lets writes through.
      const dmA = buildDmName(a.service.nodeId, blockId);
      const chunkFile = join(ctx.workDir, 'chunk-a.bin');
      await writeFile(chunkFile, chunkA);
      const ddOnto = (device: string) =>
        runner.run({ file: 'dd', args: [`if=${chunkFile}`, `of=${device}`, 'bs=1M', 'count=1', 'oflag=direct', 'conv=fsync,notrunc'], timeoutMs: 60_000, okExitCodes: [0, 1] }, signal);
      const scratch = join(kubelet, 'ro-bind-of-writable-device');
      await writeFile(scratch, '');
      await sh('mount', ['--bind', `/dev/mapper/${dmA}`, scratch]);
      await sh('mount', ['-o', 'remount,bind,ro', scratch]);
      const throughRoBind = await ddOnto(scratch); // the same bytes as are there: nothing changes
      await sh('umount', [scratch]);
      assert.equal(throughRoBind.exitCode, 0, `a read-only bind of a device node does not stop writes: ${throughRoBind.stderr}`);
      const roTarget = join(kubelet, 'plugins', 'kubernetes.io', 'csi', 'volumeDevices', 'publish', 'blk-worker-1-ro', 'pod');
      const roPub = { volume_id: blockId, staging_target_path: sa.staging, target_path: roTarget, volume_capability: BLOCK_RWX, readonly: true };
      await timed('NodePublish block read-only', () => a.csi.node.nodePublishVolume(roPub));
      await a.csi.node.nodePublishVolume(roPub);
      const roDm = buildReadOnlyDmName(dmA, roTarget);
      assert.equal((await dmsetup.info(roDm, signal))?.isReadOnly, true, 'the read-only target is a read-only dm device');
      const direct = await ddOnto(roTarget);
      assert.equal(direct.exitCode, 1, 'an O_DIRECT write through the read-only target fails');
      assert.match(direct.stderr, /Operation not permitted|Read-only file system|Permission denied/, direct.stderr);
      const buffered = await runner.run({ file: 'dd', args: ['if=/dev/zero', `of=${roTarget}`, 'bs=4k', 'count=1', 'conv=fsync,notrunc'], timeoutMs: 60_000, okExitCodes: [0, 1] }, signal);
      assert.equal(buffered.exitCode, 1, `a buffered write of zeroes through the read-only target fails: ${buffered.stderr}`);
      const discard = await runner.run({ file: 'blkdiscard', args: [roTarget], timeoutMs: 60_000, okExitCodes: [0, 1] }, signal);
      assert.equal(discard.exitCode, 1, `a discard through the read-only target fails: ${discard.stderr}`);
      ctx.log(`writes through the read-only target: dd direct: ${direct.stderr.trim().split('\n')[0]}; dd buffered: ${buffered.stderr.trim().split('\n')[0]}; blkdiscard: ${discard.stderr.trim()}`);
      assert.equal(sha256(await ddRead(runner, ctx, roTarget, 0, signal)), sha256(chunkA), 'the read-only target reads the volume');
      assert.equal(sha256(await ddRead(runner, ctx, sb.target, 0, signal)), sha256(chunkA), 'the data is unchanged');
      for (let i = 0; i < 2; i++) await a.csi.node.nodeUnpublishVolume({ volume_id: blockId, target_path: roTarget });
      assert.equal(await dmsetup.info(roDm, signal), undefined, 'unpublish removed the read-only device');
      assert.equal(existsSync(roTarget), false);
      step('read-only block target: writes refused (EPERM), data unchanged, its device removed at unpublish');

      // An unstage whose logout leaves the session is not done: with worker 2's iface file gone
      // (iscsiadm refuses to delete an iface a session uses; config management or an operator
      // need not ask), iscsiadm cannot address the session's record ("Could not read iface info")
      // and logs nothing out; NodeUnstage answers UNAVAILABLE, keeps the node record, and succeeds
      // once the iface is back.
      await b.csi.node.nodeUnpublishVolume({ volume_id: blockId, target_path: sb.target });
      await rm(join('/etc/iscsi/ifaces', WORKER2_IFACE));
      await assert.rejects(b.csi.node.nodeUnstageVolume({ volume_id: blockId, staging_target_path: sb.staging }), (err: { code?: number; details?: string }) => {
        assert.equal(err.code, status.UNAVAILABLE, err.details);
        assert.match(err.details ?? '', /still logged in after the logout/);
        return true;
      });
      const survivors = (await iscsiadm.listSessionDetails(signal)).filter((s) => s.targetIqn === blockVol.target.iqn && s.ifaceName === WORKER2_IFACE);
      assert.equal(survivors.length, 1, 'the session is still there, and unstage said so');
      await iscsiadm.ensureIface({ name: WORKER2_IFACE, initiatorName: WORKER2_INITIATOR }, signal);
      step('unstage with a session that outlived its logout: UNAVAILABLE, not OK');

      for (const s of sides) {
        for (let i = 0; i < 2; i++) await s.w.csi.node.nodeUnpublishVolume({ volume_id: blockId, target_path: s.target });
        for (let i = 0; i < 2; i++) await s.w.csi.node.nodeUnstageVolume({ volume_id: blockId, staging_target_path: s.staging });
      }
      await assertNothingLeft(ctx, { runner, iscsiadm, dmsetup, mounter }, {
        targetIqn: blockVol.target.iqn,
        dmNames: [buildDmName(a.service.nodeId, blockId), buildDmName(WORKER2_INITIATOR, blockId)],
        paths: sides.flatMap((s) => [s.staging, s.target]),
        stateDirs: workers.map((w) => join(ctx.workDir, `state-${w.name}`)),
        ifaces: ['default', WORKER2_IFACE],
      });
      step('block volume torn down on both workers');
      ctx.log(`timings: ${timings.join('; ')}`);
    } finally {
      const note = (what: string) => (err: unknown) => ctx.log(`cleanup ${what}: ${String(err)}`);
      for (const w of workers) {
        w.csi.close();
        await w.server.shutdown(1000).catch(note(`server ${w.name}`));
      }
      await stopCreds().catch(note('agent credentials server'));
      await iscsiadm.deleteIface(WORKER2_IFACE, signal).catch(note('iface'));
      for (const id of volumeIds) await agent.deleteVolume(id, signal).catch(note(`delete ${id}`));
      await disk?.destroy(ctx.log);
      await sh('umount', [kubelet]).catch(note('umount kubelet'));
    }
  },
};

async function startWorker(
  ctx: ScenarioContext,
  log: Logger,
  name: string,
  opts: { initiatorName: string | undefined; iscsiIface: string | undefined; tls: { caPath: string; certPath: string; keyPath: string } },
): Promise<Worker> {
  const wlog = log.child({ c: name });
  const service = await createNodeService({ ...opts, zone: 'default', stateDir: join(ctx.workDir, `state-${name}`), deviceWaitMs: 60_000, iscsiNodeDir: '/etc/iscsi/nodes' }, wlog);
  const server = new Server();
  server.addService(loadCsiProto().csi.v1.Node.service, service.handlers);
  const running = await serve({ server, endpoint: { kind: 'unix', path: join(ctx.workDir, `${name}.sock`) }, log: wlog });
  return { name, service, server: running, csi: connectCsi(running.address, 180_000), iface: opts.iscsiIface };
}

/** What ControllerPublish would answer: the target and the agent's address, never the credentials (recorded for the secrets scan). */
function toPublishContext(target: AgentTarget, chap: ChapCredentials, agentAddress: string): Record<string, string> {
  recordChap(`ACL of ${target.iqn}`, chap);
  return buildPublishContext({
    targetPortal: `${target.portal.ip}:${target.portal.port}`,
    targetIqn: target.iqn,
    lun: target.lun,
    serial: target.serial,
    agentAddress,
  });
}

/** No session to the target (on any iface), no node record, no dm device, nothing mounted, no stage record. */
async function assertNothingLeft(
  ctx: ScenarioContext,
  h: { runner: CommandRunner; iscsiadm: Iscsiadm; dmsetup: Dmsetup; mounter: Mounter },
  w: { targetIqn: string; dmNames: readonly string[]; paths: readonly string[]; stateDirs: readonly string[]; ifaces?: readonly string[] },
): Promise<void> {
  const { signal } = ctx;
  const sessions = (await h.iscsiadm.listSessions(signal)).filter((s) => s.targetIqn === w.targetIqn);
  assert.deepEqual(sessions, [], 'no session left');
  const records = await h.runner.run({ file: 'iscsiadm', args: ['-m', 'node', '-T', w.targetIqn], timeoutMs: 15_000, okExitCodes: [0, 21] }, signal);
  assert.equal(records.exitCode, 21, `no node record left: ${records.stdout}`);
  for (const name of w.dmNames) assert.equal(await h.dmsetup.info(name, signal), undefined, `dm device ${name} removed`);
  for (const path of w.paths) assert.equal(await h.mounter.findMount(path, signal), undefined, `nothing mounted at ${path}`);
  for (const dir of w.stateDirs) assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.json')), [], `no stage record in ${dir}`);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
