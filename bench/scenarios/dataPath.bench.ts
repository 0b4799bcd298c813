import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { createStepClock } from '../../e2e/support/stepClock.ts';
import type { Scenario } from '../../e2e/scenarios/Scenario.ts';
import { BLOCK_RWO, MiB, lvNameOf, withBenchDriver } from '../support/allInOneDriver.ts';
import { FIO_JOBS, runFio } from '../support/fio.ts';
import { recordComparison } from '../support/measure.ts';
import { applyTuning } from '../support/lioTuning.ts';
import { negotiatedParams, rawLogin, rawLogout, rawLunOf } from '../support/rawInitiator.ts';

const SIZE_MIB = 256;
/** Rounds run the four paths in the order driver, raw, tuned, local, then reversed, so a drifting host weighs on all alike. */
const ROUNDS = 2;
const NODE_DM_NAME = /^vbs-[0-9a-f]{20}$/;

type Path = 'driver' | 'raw' | 'tuned' | 'local';

export const DATA_PATH_BENCH = 'bench: fio through the driver\'s staged dm device vs the same LUN logged in by hand vs the local LV';

/**
 * Issue 7's data-path bench. One 256 MiB thin volume, created, published and staged (raw block)
 * by the driver, written through once so no read hits an unprovisioned thin block. fio (libaio,
 * O_DIRECT, iodepth 16) runs 4k randread, 4k randwrite, 1M sequential read and write on:
 *  - driver: the node plugin's /dev/mapper/vbs-… device (dm linear over the iSCSI disk);
 *  - raw: the same LUN after NodeUnstage, logged in by hand with the same CHAP credentials and
 *    iscsid.conf's defaults, on the by-path disk (goal: driver ≥ 0.95 of it);
 *  - tuned: as raw, but logged in after the target's data segment and burst lengths were raised
 *    and write cache emulation tried (bench/support/lioTuning.ts), restored after logout: the
 *    before/after of issue 7's LIO and session tuning, on the same LUN in the same run;
 *  - local: the same LV on the storage side, /dev/<vg>/<lv>, no iSCSI at all.
 * Under software emulation iSCSI on loopback is CPU-bound (docs/test-bed.md: about 0.14-0.22 of local), so
 * the local ratios say little about real hardware; driver vs raw is the figure that isolates us.
 */
export const dataPathBench: Scenario = {
  name: DATA_PATH_BENCH,
  // 4 paths x 4 jobs x 2 rounds of 12 s fio each, and TCG's fio start-up, logins and stages.
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const clock = createStepClock(ctx);
    await withBenchDriver(ctx, clock, { tag: 'fio', portalIp: '127.0.0.8', fileMiB: 1280, poolMiB: 1024 }, async (driver) => {
      const { csi, nodeId } = driver;
      const iscsiadm = new Iscsiadm({ runner: driver.runner, timeoutsMs: { login: 60_000 } });
      const sh = (file: string, args: readonly string[]) => driver.runner.run({ file, args, timeoutMs: 300_000 }, ctx.signal);
      const staging = join(ctx.workDir, 'staging');
      const target = join(ctx.workDir, 'publish', 'pod-uid');
      await mkdir(staging, { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      const created = await csi.controller.createVolume({ name: 'bench-fio', capacity_range: { required_bytes: SIZE_MIB * MiB }, volume_capabilities: [BLOCK_RWO] });
      const volumeId = created.volume?.volume_id ?? '';
      const localDevice = `/dev/${driver.vg.vgName}/${lvNameOf(volumeId)}`;
      const pub = await csi.controller.controllerPublishVolume({ volume_id: volumeId, node_id: nodeId, volume_capability: BLOCK_RWO, readonly: false });
      const lun = await rawLunOf(pub.publish_context, nodeId);
      await clock.timed(`write all ${SIZE_MIB} MiB once on the LV (thin blocks provisioned before any read)`, () =>
        sh('dd', ['if=/dev/zero', `of=${localDevice}`, 'bs=1M', `count=${SIZE_MIB}`, 'oflag=direct', 'status=none']),
      );

      const results: Record<Path, Record<string, number[]>> = { driver: {}, raw: {}, tuned: {}, local: {} };
      const configFs = new FsConfigFs();
      const backstore = (await new LioTarget({ configFs }).listExports()).find((e) => e.targetIqn === lun.target.targetIqn)?.luns[0]?.backstore;
      if (!backstore) throw new Error(`no LIO backstore behind ${lun.target.targetIqn}`);
      const runJobs = async (path: Path, device: string) => {
        for (const job of FIO_JOBS) {
          const figures = await clock.timed(`${path}: fio ${job.label} on ${device}`, () => runFio(driver.runner, device, job, ctx.signal));
          const value = figures[job.figure];
          (results[path][job.label] ??= []).push(value);
          clock.note(`${path}: ${job.label} = ${value.toFixed(1)} ${job.figure.endsWith('Iops') ? 'IOPS' : 'MiB/s'}`);
        }
      };
      const onPath: Record<Path, () => Promise<void>> = {
        async driver() {
          await csi.node.nodeStageVolume({ volume_id: volumeId, staging_target_path: staging, volume_capability: BLOCK_RWO, publish_context: pub.publish_context });
          await csi.node.nodePublishVolume({ volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: BLOCK_RWO, readonly: false });
          const dm = (await sh('dmsetup', ['ls'])).stdout.split('\n').map((l) => l.split('\t')[0]?.trim() ?? '').filter((n) => NODE_DM_NAME.test(n));
          if (dm.length !== 1) throw new Error(`expected the node plugin's one dm device, found ${JSON.stringify(dm)}`);
          await runJobs('driver', `/dev/mapper/${dm[0]}`);
          await csi.node.nodeUnpublishVolume({ volume_id: volumeId, target_path: target });
          await csi.node.nodeUnstageVolume({ volume_id: volumeId, staging_target_path: staging });
        },
        async raw() {
          const device = await rawLogin(iscsiadm, lun, ctx.signal);
          clock.note(`raw: negotiated ${await negotiatedParams(lun.target.targetIqn)}`);
          await runJobs('raw', device);
          await rawLogout(iscsiadm, lun, ctx.signal);
        },
        async tuned() {
          // A kernel that refuses a parameter costs the tuned figures only, not the whole bench.
          const tuning = await applyTuning(configFs, lun.target.targetIqn, backstore).catch((err: unknown) => {
            clock.note(`tuned: skipped, the target could not be tuned: ${err instanceof Error ? err.message : String(err)}`);
            return undefined;
          });
          if (!tuning) return;
          try {
            const wce = tuning.writeCache;
            clock.note(`tuned: TPG params were ${JSON.stringify(tuning.before)}; emulate_write_cache ${wce.before} -> ${wce.enabled ? '1' : `unchanged (${wce.refusal ?? 'the kernel kept it'})`}`);
            const device = await rawLogin(iscsiadm, lun, ctx.signal);
            clock.note(`tuned: negotiated ${await negotiatedParams(lun.target.targetIqn)}`);
            await runJobs('tuned', device);
            await rawLogout(iscsiadm, lun, ctx.signal);
          } finally {
            await tuning.restore();
          }
        },
        async local() {
          await runJobs('local', localDevice);
        },
      };
      for (let round = 0; round < ROUNDS; round++) {
        ctx.signal.throwIfAborted();
        const order: Path[] = round % 2 === 0 ? ['driver', 'raw', 'tuned', 'local'] : ['local', 'tuned', 'raw', 'driver'];
        for (const path of order) await clock.timed(`round ${round + 1}: ${path}`, onPath[path]);
      }

      for (const job of FIO_JOBS) {
        const unit = job.figure.endsWith('Iops') ? 'IOPS' : 'MiB/s';
        const series = (path: Path, name: string) => ({ name, samples: results[path][job.label] ?? [] });
        const driverSeries = series('driver', 'driver dm device');
        recordComparison(ctx, { measure: `fio ${job.label} QD16`, unit, subject: driverSeries, baseline: series('raw', 'same LUN, login by hand'), target: { kind: 'min', bound: 0.95 } });
        recordComparison(ctx, {
          measure: `fio ${job.label} QD16`,
          unit,
          subject: driverSeries,
          baseline: series('local', 'local LV'),
          target: { kind: 'min', bound: job.blockSize === '4k' ? 0.6 : 0.5 },
          note: 'iSCSI on loopback under software emulation (TCG) is CPU-bound: even a LUN logged in by hand reaches a fraction of the local LV, so this target can only be judged on real hardware',
        });
        recordComparison(ctx, { measure: `fio ${job.label} QD16`, unit, subject: series('raw', 'same LUN, login by hand'), baseline: series('local', 'local LV') });
        if ((results.tuned[job.label] ?? []).length > 0) recordComparison(ctx, {
          measure: `fio ${job.label} QD16, tuned/default`,
          unit,
          subject: series('tuned', 'same LUN, tuned target'),
          baseline: series('raw', 'same LUN, LIO defaults'),
          note: 'tuned: target MaxRecvDataSegmentLength 262144, FirstBurstLength 262144, MaxBurstLength 1048576 (LIO defaults 8192, 65536, 262144) and write cache emulation where the kernel allows it; same LUN, fresh login',
        });
      }
      await csi.controller.controllerUnpublishVolume({ volume_id: volumeId, node_id: nodeId });
      await csi.controller.deleteVolume({ volume_id: volumeId });
    });
  },
};
