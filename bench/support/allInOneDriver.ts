import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import { connectIdentity } from '../../src/grpc/csiClients.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { makeClusterCertificates } from '../../e2e/support/clusterCertificates.ts';
import { startDriverProcess } from '../../e2e/support/driverProcess.ts';
import { createLoopVolumeGroup } from '../../e2e/support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../../e2e/support/loopVolumeGroup.ts';
import { pollUntil } from '../../e2e/vm/poll.ts';
import type { ScenarioContext } from '../../e2e/scenarios/Scenario.ts';
import type { StepClock } from '../../e2e/support/stepClock.ts';

export const MiB = 1024 * 1024;
/**
 * Every bench IQN starts so: the driver's `<root>-<tag>:…`, raw exports made by hand
 * `<root>-<tag>-raw:…`. A bench cleans up only its own tag's IQNs: a scenario the runner left
 * behind at its deadline still runs its teardown while the next bench works.
 */
export const BENCH_IQN_ROOT = 'iqn.2026-11.io.vbs-bench';
const NODE_DM_NAME = /^vbs-[0-9a-f]{20}$/;
const READY_DEADLINE_MS = 180_000;

/** The driver under test and the raw tools beside it, on one loop-file VG. */
export interface BenchDriver {
  readonly csi: CsiApi;
  /** The node plugin's CSI node id (the guest's initiator name). */
  readonly nodeId: string;
  readonly vg: LoopVolumeGroup;
  /** The agent's portal; raw exports use it too. */
  readonly portalIp: string;
  readonly iqnPrefix: string;
  readonly runner: CommandRunner;
  /** IQN prefix for exports made by hand (the agent's reconcile leaves them alone). */
  readonly rawIqnPrefix: string;
  /**
   * Stops the driver (SIGTERM), closes the clients, then removes whatever a failed run left
   * (mounts under the work dir, bench dm devices, this bench's sessions, node records and LIO
   * exports) and the VG; logs the driver's last lines when `failed`. Past the scenario's deadline
   * (ctx.signal aborted) only the driver is stopped: the runner has moved on to the next bench,
   * whose devices and exports must not be touched.
   */
  stop(failed: boolean): Promise<void>;
  /** Everything the driver printed so far (JSON log lines); at debug level it has every command run. */
  output(): string;
}

/** Pino levels the driver accepts for --log-level / VBS_LOG_LEVEL. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * The bench driver's log level: info, unless VBS_BENCH_LOG_LEVEL says otherwise, or (the guest
 * runs with a clean environment, so that variable does not reach it) the first line of
 * `<project>/.e2e-work/bench-log-level` on the host, which the guest sees through its shared root.
 * Debug logs every command with its duration, for a breakdown (bench/support/execBreakdown.ts);
 * it costs CPU the baseline does not pay, so measured figures are taken at info.
 */
export function benchLogLevel(projectRoot: string, env: NodeJS.ProcessEnv = process.env): (typeof LOG_LEVELS)[number] {
  let wanted = env['VBS_BENCH_LOG_LEVEL'];
  if (wanted === undefined || wanted === '') {
    try {
      wanted = readFileSync(join(projectRoot, '.e2e-work', 'bench-log-level'), 'utf8').split('\n')[0]?.trim();
    } catch {
      wanted = undefined;
    }
  }
  return LOG_LEVELS.find((level) => level === wanted) ?? 'info';
}

/**
 * The all-in-one driver (controller, agent and node plugin in one process, as `npm run demo`
 * runs it) on a fresh loop-file VG, with production defaults except the ones a bench needs:
 * log level info (debug logging costs CPU the baseline does not pay; see benchLogLevel). Resolves once a first
 * CreateVolume went through (the controller learns its agent at its first status poll); that
 * warm-up volume is deleted again.
 */
export async function startBenchDriver(
  ctx: ScenarioContext,
  spec: { readonly tag: string; readonly portalIp: string; readonly fileMiB: number; readonly poolMiB: number },
): Promise<BenchDriver> {
  const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
  const vgName = `vbs-bench-${spec.tag}`;
  const iqnPrefix = `${BENCH_IQN_ROOT}-${spec.tag}`;
  const vg = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName, fileMiB: spec.fileMiB, poolMiB: spec.poolMiB, signal: ctx.signal });
  const certs = await makeClusterCertificates(join(ctx.workDir, 'tls'), [{ name: 'bench', ip: spec.portalIp }]);
  const agentFiles = certs.agents.get('bench');
  if (!agentFiles) throw new Error('no agent certificate was issued');
  const chapKey = join(ctx.workDir, 'chap.key');
  await writeFile(chapKey, randomBytes(32), { mode: 0o600 });
  const socket = join(ctx.workDir, 'csi.sock');
  const driver = startDriverProcess({
    ctx,
    role: 'all-in-one',
    name: 'all-in-one',
    env: { VBS_LOG_LEVEL: benchLogLevel(ctx.projectRoot) },
    args: [
      '--endpoint', `unix://${socket}`, '--node-id', 'bench', '--storage-node-name', 'bench', '--vg', vgName,
      '--portal', spec.portalIp, '--agent-listen', `tcp://${spec.portalIp}:9500`, '--iqn-prefix', iqnPrefix,
      '--tls-ca', certs.caPath, '--tls-cert', agentFiles.cert, '--tls-key', agentFiles.key,
      '--client-tls-cert', certs.client.cert, '--client-tls-key', certs.client.key,
      '--chap-key-file', chapKey, '--state-dir', join(ctx.workDir, 'node-state'),
    ],
  });
  const identity = connectIdentity(`unix://${socket}`, 10_000);
  const csi = connectCsi(`unix://${socket}`, 300_000);
  const stop = async (failed: boolean): Promise<void> => {
    identity.close();
    csi.close();
    driver.kill('SIGTERM');
    await driver.exited;
    if (failed) ctx.log(`--- all-in-one driver (last lines) ---\n${driver.output().split('\n').slice(-60).join('\n')}`);
    if (ctx.signal.aborted) {
      ctx.log(`past the deadline: the driver is stopped; its VG ${vgName}, sessions and exports stay, so the bench running now is not disturbed`);
      return;
    }
    await removeLeftovers(ctx, runner, iqnPrefix);
    await vg.destroy(ctx.log);
    // The guest's /tmp is RAM: drop the loop file so the next bench has the room.
    await rm(join(ctx.workDir, `${vgName}.img`), { force: true });
  };
  try {
    await pollUntil(
      async () => {
        if (driver.hasExited()) throw new Error('the all-in-one driver exited before it was ready');
        if (!existsSync(socket)) return undefined;
        return (await identity.probe().catch(() => undefined))?.ready?.value ? true : undefined;
      },
      { deadlineMs: Date.now() + READY_DEADLINE_MS, intervalMs: 500, what: 'the all-in-one driver to be ready', signal: ctx.signal },
    );
    const { node_id: nodeId } = await csi.node.nodeGetInfo({});
    const warmUp = await pollUntil(
      () =>
        csi.controller
          .createVolume({ name: 'bench-warm-up', capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [BLOCK_RWO] })
          .catch((err: { code?: number }) => {
            if (err.code === 14 || err.code === 8) return undefined; // UNAVAILABLE / RESOURCE_EXHAUSTED until the first status poll
            throw err;
          }),
      { deadlineMs: Date.now() + READY_DEADLINE_MS, intervalMs: 1000, what: 'a first CreateVolume to succeed', signal: ctx.signal },
    );
    await csi.controller.deleteVolume({ volume_id: warmUp.volume?.volume_id ?? '' });
    return { csi, nodeId, vg, portalIp: spec.portalIp, iqnPrefix, rawIqnPrefix: `${iqnPrefix}-raw`, runner, stop, output: () => driver.output() };
  } catch (err: unknown) {
    await stop(true);
    throw err;
  }
}

/**
 * Starts the bench driver (timed on `clock`), runs `body` with it, and always stops it; on
 * failure the driver's last output lines go to the log first.
 */
export async function withBenchDriver<T>(
  ctx: ScenarioContext,
  clock: StepClock,
  spec: Parameters<typeof startBenchDriver>[1],
  body: (driver: BenchDriver) => Promise<T>,
): Promise<T> {
  const driver = await clock.timed(`start the all-in-one driver on a ${spec.poolMiB} MiB thin pool`, () => startBenchDriver(ctx, spec));
  let failed = true;
  try {
    const result = await body(driver);
    failed = false;
    return result;
  } finally {
    await driver.stop(failed);
  }
}

/**
 * Best effort, in teardown order; each step logs what it could not do and goes on. Sessions and
 * exports are this bench's only (its driver's `<iqnPrefix>:…` and its raw `<iqnPrefix>-raw:…`).
 */
async function removeLeftovers(ctx: ScenarioContext, runner: CommandRunner, iqnPrefix: string): Promise<void> {
  const ours = (iqn: string) => iqn.startsWith(`${iqnPrefix}:`) || iqn.startsWith(`${iqnPrefix}-raw:`);
  const sh = (file: string, args: readonly string[]) => runner.run({ file, args, timeoutMs: 60_000, okExitCodes: [0, 21] }, ctx.signal);
  const note = (what: string) => (err: unknown) => ctx.log(`cleanup ${what}: ${err instanceof Error ? err.message : String(err)}`);
  const mounts = await sh('findmnt', ['-rn', '-o', 'TARGET']).catch(() => ({ stdout: '' }));
  for (const target of mounts.stdout.split('\n').filter((t) => t.startsWith(`${ctx.workDir}/`)).reverse()) await sh('umount', ['-l', target]).catch(note(`umount ${target}`));
  const dm = await sh('dmsetup', ['ls']).catch(() => ({ stdout: '' }));
  for (const name of dm.stdout.split('\n').map((l) => l.split('\t')[0]?.trim() ?? '')) if (NODE_DM_NAME.test(name)) await sh('dmsetup', ['remove', '--force', name]).catch(note(`dmsetup remove ${name}`));
  const iscsiadm = new Iscsiadm({ runner });
  for (const s of await iscsiadm.listSessions(ctx.signal).catch(() => [])) {
    if (!ours(s.targetIqn)) continue;
    await iscsiadm.logout({ targetIqn: s.targetIqn, portal: s.portal }, ctx.signal).catch(note(`logout ${s.targetIqn}`));
    await iscsiadm.deleteNodeRecord({ targetIqn: s.targetIqn, portal: s.portal }, ctx.signal).catch(note(`node record ${s.targetIqn}`));
  }
  const lio = new LioTarget({ configFs: new FsConfigFs() });
  for (const exp of await lio.listExports().catch(() => [])) {
    if (ours(exp.targetIqn)) await lio.unexportVolume(exp.targetIqn, exp.luns[0]?.backstore?.name ?? '').catch(note(`unexport ${exp.targetIqn}`));
  }
}

export const BLOCK_RWO = { access_mode: { mode: 'SINGLE_NODE_WRITER' as const }, block: {} };
export const EXT4_RWO = { access_mode: { mode: 'SINGLE_NODE_WRITER' as const }, mount: { fs_type: 'ext4', mount_flags: [] } };

/** The LV name inside a volume id `<storage node>/<LV name>`. */
export function lvNameOf(volumeId: string): string {
  const lv = volumeId.split('/')[1];
  if (lv === undefined || lv === '') throw new Error(`not a volume id: ${volumeId}`);
  return lv;
}
