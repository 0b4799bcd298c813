import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { connectIdentity } from '../../src/grpc/csiClients.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import { createCertificateAuthority, issueCertificate } from '../../src/tls/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;
const EXT4 = { access_mode: { mode: 'SINGLE_NODE_WRITER' as const }, mount: { fs_type: 'ext4', mount_flags: [] } };

export const DEMO_SCENARIO_NAME = 'demo: the all-in-one driver creates, attaches, writes, expands, snapshots and restores a volume';

/**
 * The main job (`npm run demo`): the driver as one all-in-one process on a loop-file VG, driven
 * through CSI exactly as Kubernetes would (create, publish, stage, publish, write, expand,
 * snapshot, restore, verify, teardown), each step timed. It doubles as the all-in-one e2e check.
 */
export const demoScenario: Scenario = {
  name: DEMO_SCENARIO_NAME,
  timeoutMs: 420_000,
  async run(ctx) {
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const file = (name: string) => join(ctx.workDir, name);
    const sh = async (cmd: string, args: string[]) => (await execa(cmd, args, { cancelSignal: ctx.signal })).stdout.trim();
    const steps: { step: string; ms: number }[] = [];
    const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const out = await fn();
      const ms = Math.round(performance.now() - started);
      steps.push({ step, ms });
      ctx.log(`${String(ms).padStart(7)} ms  ${step}`);
      return out;
    };

    const vg = await timed('loop-file VG with a 1 GiB thin pool', () =>
      createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: 'vbs-demo', fileMiB: 1280, poolMiB: 1024, signal: ctx.signal }),
    );
    const ca = await createCertificateAuthority({ commonName: 'demo CA', validDays: 2 });
    const leaf = await issueCertificate(ca, { commonName: 'demo', ipAddresses: ['127.0.0.5'], usages: 'both', validDays: 1 });
    await writeFile(file('ca.crt'), ca.certPem);
    await writeFile(file('demo.crt'), leaf.certPem);
    await writeFile(file('demo.key'), leaf.keyPem, { mode: 0o600 });
    await writeFile(file('chap.key'), randomBytes(32), { mode: 0o600 });
    const socket = file('csi.sock');
    const driver = execa(
      'node',
      [
        'src/main.ts', 'all-in-one', '--endpoint', `unix://${socket}`, '--node-id', 'demo', '--storage-node-name', 'demo',
        '--vg', 'vbs-demo', '--portal', '127.0.0.5', '--agent-listen', 'tcp://127.0.0.5:9500', '--iqn-prefix', 'iqn.2026-11.io.vbs-demo',
        '--tls-ca', file('ca.crt'), '--tls-cert', file('demo.crt'), '--tls-key', file('demo.key'), '--chap-key-file', file('chap.key'),
        '--state-dir', file('node-state'), '--status-interval-seconds', '2',
      ],
      { cwd: ctx.projectRoot, reject: false, cancelSignal: ctx.signal, all: true, env: { VBS_LOG_LEVEL: 'info' } },
    );
    const output: string[] = [];
    driver.all?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const identity = connectIdentity(`unix://${socket}`, 10_000);
    const csi = connectCsi(`unix://${socket}`, 120_000);
    try {
      await timed('driver started and ready (Probe)', () =>
        pollUntil(
          async () => {
            if (driver.exitCode !== null) throw new Error(`the driver exited (code ${driver.exitCode})`);
            if (!existsSync(socket)) return undefined;
            return (await identity.probe().catch(() => undefined))?.ready?.value ? true : undefined;
          },
          { deadlineMs: Date.now() + 120_000, intervalMs: 500, what: 'the all-in-one driver to be ready', signal: ctx.signal },
        ),
      );
      const { node_id: nodeId } = await csi.node.nodeGetInfo({});
      ctx.log(`node id (initiator name): ${nodeId}`);

      const created = await timed('CreateVolume 256 MiB ext4', () =>
        pollUntil(
          // The controller learns its agent at its first status poll; until then it answers UNAVAILABLE.
          () => csi.controller.createVolume({ name: 'demo-pvc-1', capacity_range: { required_bytes: 256 * MiB }, volume_capabilities: [EXT4] }).catch((err: { code?: number }) => {
            if (err.code === 14 || err.code === 8) return undefined;
            throw err;
          }),
          { deadlineMs: Date.now() + 60_000, intervalMs: 1000, what: 'CreateVolume', signal: ctx.signal },
        ),
      );
      const volumeId = created.volume?.volume_id ?? '';
      ctx.log(`volume ${volumeId}, ${created.volume?.capacity_bytes} bytes`);

      const attach = async (id: string, tag: string) => {
        const staging = file(`staging-${tag}`);
        const target = file(`pod-${tag}/mount`);
        await mkdir(staging, { recursive: true });
        await mkdir(file(`pod-${tag}`), { recursive: true });
        const pub = await timed(`ControllerPublishVolume ${tag}`, () => csi.controller.controllerPublishVolume({ volume_id: id, node_id: nodeId, volume_capability: EXT4, readonly: false }));
        await timed(`NodeStageVolume ${tag} (login, serial check, mkfs if blank, mount)`, () =>
          csi.node.nodeStageVolume({ volume_id: id, staging_target_path: staging, volume_capability: EXT4, publish_context: pub.publish_context }),
        );
        await timed(`NodePublishVolume ${tag}`, () => csi.node.nodePublishVolume({ volume_id: id, staging_target_path: staging, target_path: target, volume_capability: EXT4, readonly: false }));
        return { staging, target };
      };
      const detach = async (id: string, tag: string, paths: { staging: string; target: string }) => {
        await timed(`NodeUnpublishVolume ${tag}`, () => csi.node.nodeUnpublishVolume({ volume_id: id, target_path: paths.target }));
        await timed(`NodeUnstageVolume ${tag}`, () => csi.node.nodeUnstageVolume({ volume_id: id, staging_target_path: paths.staging }));
        await timed(`ControllerUnpublishVolume ${tag}`, () => csi.controller.controllerUnpublishVolume({ volume_id: id, node_id: nodeId }));
      };

      const first = await attach(volumeId, 'original');
      await timed('write 32 MiB of random data (fsync)', () => sh('dd', ['if=/dev/urandom', `of=${first.target}/data`, 'bs=1M', 'count=32', 'conv=fsync', 'status=none']));
      const written = (await sh('sha256sum', [`${first.target}/data`])).split(' ')[0];
      ctx.log(`sha256 written: ${written}`);

      const expanded = await timed('ControllerExpandVolume to 512 MiB', () => csi.controller.controllerExpandVolume({ volume_id: volumeId, capacity_range: { required_bytes: 512 * MiB }, volume_capability: EXT4 }));
      assert.equal(expanded.node_expansion_required, true);
      await timed('NodeExpandVolume (rescan, dm reload, resize2fs online)', () =>
        csi.node.nodeExpandVolume({ volume_id: volumeId, volume_path: first.target, staging_target_path: first.staging, capacity_range: { required_bytes: 512 * MiB }, volume_capability: EXT4 }),
      );
      const fsBytes = Number(await sh('df', ['--output=size', '-B1', first.target]).then((o) => o.split('\n')[1]));
      ctx.log(`filesystem size after expand: ${fsBytes} bytes`);
      assert.ok(fsBytes > 400 * MiB, `the filesystem grew online (${fsBytes} bytes)`);

      const snap = await timed('CreateSnapshot', () => csi.controller.createSnapshot({ name: 'demo-snap-1', source_volume_id: volumeId }));
      assert.equal(snap.snapshot?.ready_to_use, true);
      const restored = await timed('CreateVolume from the snapshot', () =>
        csi.controller.createVolume({
          name: 'demo-pvc-restored',
          capacity_range: { required_bytes: 512 * MiB },
          volume_capabilities: [EXT4],
          volume_content_source: { snapshot: { snapshot_id: snap.snapshot?.snapshot_id ?? '' } },
        }),
      );
      const restoredId = restored.volume?.volume_id ?? '';
      const second = await attach(restoredId, 'restored');
      const read = (await sh('sha256sum', [`${second.target}/data`])).split(' ')[0];
      ctx.log(`sha256 restored: ${read}`);
      assert.equal(read, written, 'the restored volume holds exactly the data written before the snapshot');
      ctx.log(`verified: checksum of the restored volume equals the original (${read})`);

      await detach(restoredId, 'restored', second);
      await detach(volumeId, 'original', first);
      await timed('DeleteVolume restored', () => csi.controller.deleteVolume({ volume_id: restoredId }));
      await timed('DeleteSnapshot', () => csi.controller.deleteSnapshot({ snapshot_id: snap.snapshot?.snapshot_id ?? '' }));
      await timed('DeleteVolume original', () => csi.controller.deleteVolume({ volume_id: volumeId }));
      const left = await sh('lvs', ['--noheadings', '-o', 'lv_name', 'vbs-demo']);
      assert.deepEqual(left.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== 'pool'), [], 'no volume LV is left');
      const sessions = await execa('iscsiadm', ['-m', 'session'], { reject: false });
      assert.ok(!sessions.stdout.includes('vbs-demo'), `no iSCSI session is left: ${sessions.stdout}`);
      ctx.log(`total ${steps.reduce((s, x) => s + x.ms, 0)} ms over ${steps.length} steps`);
    } catch (err: unknown) {
      ctx.log(`driver output:\n${output.join('').slice(-20_000)}`);
      throw err;
    } finally {
      identity.close();
      csi.close();
      driver.kill('SIGTERM');
      await driver;
      await vg.destroy(ctx.log);
    }
  },
};
