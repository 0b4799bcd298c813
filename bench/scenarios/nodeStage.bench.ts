import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { createStepClock } from '../../e2e/support/stepClock.ts';
import type { Scenario } from '../../e2e/scenarios/Scenario.ts';
import { EXT4_RWO, MiB, withBenchDriver } from '../support/allInOneDriver.ts';
import { formatExecTally, tallyExecLines } from '../support/execBreakdown.ts';
import { inAlternatingOrder, measureMs, recordComparison } from '../support/measure.ts';
import { rawLogin, rawLogout, rawLunOf } from '../support/rawInitiator.ts';

/** Measured rounds; one more, untimed, goes first. */
const ROUNDS = 6;
const SIZE_MIB = 128;
/** The driver's own mkfs arguments for a fresh volume (src/mount/Mounter.ts), so both sides format alike. */
const MKFS_EXT4 = ['-F', '-m0', '-E', 'nodiscard,lazy_itable_init=1,lazy_journal_init=1'];

export const NODE_STAGE_BENCH = 'bench: NodeStage + NodePublish (ext4) through the driver vs iscsiadm login + mkfs.ext4 + mount by hand';

/**
 * Issue 7: attaching a fresh ext4 volume on the node. Every volume is created and published by
 * the driver beforehand (untimed); then, alternately, the driver's NodeStageVolume +
 * NodePublishVolume on one volume and, on another, what an administrator does by hand with the
 * same CHAP credentials: node record, login, wait for the by-path link, mkfs.ext4 with the
 * driver's options, mount. The driver also checks the LUN serial, builds its dm device, probes
 * for a filesystem, sets session timeouts and writes a stage record: that is what the ratio prices.
 */
export const nodeStageBench: Scenario = {
  name: NODE_STAGE_BENCH,
  // 626 s to the record in the first VM run (2026-11-23); the rest is teardown.
  timeoutMs: 15 * 60_000,
  async run(ctx) {
    const clock = createStepClock(ctx);
    await withBenchDriver(ctx, clock, { tag: 'stage', portalIp: '127.0.0.7', fileMiB: 1280, poolMiB: 1024 }, async (driver) => {
      const { csi, nodeId } = driver;
      const iscsiadm = new Iscsiadm({ runner: driver.runner, timeoutsMs: { login: 60_000 } });
      const sh = (file: string, args: readonly string[]) => driver.runner.run({ file, args, timeoutMs: 120_000 }, ctx.signal);
      const volumes = await clock.timed(`create and publish ${2 * (ROUNDS + 1)} volumes of ${SIZE_MIB} MiB (untimed setup)`, async () => {
        const out: { id: string; publishContext: Record<string, string> }[] = [];
        for (let i = 0; i < 2 * (ROUNDS + 1); i++) {
          const created = await csi.controller.createVolume({ name: `bench-stage-${i}`, capacity_range: { required_bytes: SIZE_MIB * MiB }, volume_capabilities: [EXT4_RWO] });
          const id = created.volume?.volume_id ?? '';
          const pub = await csi.controller.controllerPublishVolume({ volume_id: id, node_id: nodeId, volume_capability: EXT4_RWO, readonly: false });
          out.push({ id, publishContext: pub.publish_context });
        }
        return out;
      });

      const samples = { driver: [] as number[], raw: [] as number[] };
      for (let round = 0; round <= ROUNDS; round++) {
        ctx.signal.throwIfAborted();
        const viaDriver = volumes[2 * round];
        const byHand = volumes[2 * round + 1];
        if (!viaDriver || !byHand) throw new Error('fewer volumes than rounds');
        const dir = join(ctx.workDir, `round-${round}`);
        const staging = join(dir, 'staging');
        const target = join(dir, 'pod', 'mount');
        const rawMount = join(dir, 'raw-mount');
        for (const d of [staging, target, rawMount]) await mkdir(d, { recursive: true });
        const lun = await rawLunOf(byHand.publishContext, nodeId);

        let driverLog = '';
        const driverAttach = async () => {
          const from = driver.output().length;
          const ms = await measureMs(async () => {
            await csi.node.nodeStageVolume({ volume_id: viaDriver.id, staging_target_path: staging, volume_capability: EXT4_RWO, publish_context: viaDriver.publishContext });
            await csi.node.nodePublishVolume({ volume_id: viaDriver.id, staging_target_path: staging, target_path: target, volume_capability: EXT4_RWO, readonly: false });
          });
          driverLog = driver.output().slice(from);
          return ms;
        };
        const rawAttach = () =>
          measureMs(async () => {
            const device = await rawLogin(iscsiadm, lun, ctx.signal);
            await sh('mkfs.ext4', [...MKFS_EXT4, device]);
            await sh('mount', ['-t', 'ext4', device, rawMount]);
          });
        let driverMs = 0;
        let rawMs = 0;
        await inAlternatingOrder(
          round,
          async () => void (driverMs = await driverAttach()),
          async () => void (rawMs = await rawAttach()),
        );
        clock.note(`round ${round}${round === 0 ? ' (warm-up, not counted)' : ''}: driver ${driverMs} ms, raw ${rawMs} ms`);
        // At debug level (benchLogLevel) the node plugin logs each command it ran, with its time.
        const tally = tallyExecLines(driverLog, 'node');
        if (tally.length > 0) ctx.log(`round ${round}: the node plugin's commands during NodeStage + NodePublish\n${formatExecTally(tally)}`);
        if (round > 0) {
          samples.driver.push(driverMs);
          samples.raw.push(rawMs);
        }
        await csi.node.nodeUnpublishVolume({ volume_id: viaDriver.id, target_path: target });
        await csi.node.nodeUnstageVolume({ volume_id: viaDriver.id, staging_target_path: staging });
        await sh('umount', [rawMount]);
        await rawLogout(iscsiadm, lun, ctx.signal);
      }
      recordComparison(ctx, {
        measure: `NodeStage + NodePublish, fresh ${SIZE_MIB} MiB ext4`,
        unit: 'ms',
        subject: { name: 'driver (CSI, all-in-one)', samples: samples.driver },
        baseline: { name: 'iscsiadm login + by-path wait + mkfs.ext4 + mount', samples: samples.raw },
        target: { kind: 'max', bound: 1.15 },
      });
      // No ControllerUnpublish + DeleteVolume of the 14 volumes here: under software emulation that
      // took 343 s in the first VM run and pushed the scenario past its deadline. The driver's
      // stop removes their exports and the VG by hand; the latency bench times DeleteVolume.
    });
  },
};
