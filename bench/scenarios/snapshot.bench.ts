import { createStepClock } from '../../e2e/support/stepClock.ts';
import type { Scenario } from '../../e2e/scenarios/Scenario.ts';
import { BLOCK_RWO, MiB, lvNameOf, withBenchDriver } from '../support/allInOneDriver.ts';
import { inAlternatingOrder, measureMs, recordComparison } from '../support/measure.ts';

const ROUNDS = 5;
/** Issue 7 asks for 1 GiB vs 4 GiB; the guest's loop files live in RAM (tmpfs in a 3 GiB VM), so a quarter of that. */
const SMALL_MIB = 256;
const LARGE_MIB = 1024;

export const SNAPSHOT_BENCH = 'bench: CreateSnapshot time after writing 256 MiB vs 1 GiB, driver and lvcreate -s by hand';

/**
 * Issue 7: a thin snapshot must cost the same whatever the volume holds. A volume of 256 MiB,
 * then one of 1 GiB, each written through completely (dd, O_DIRECT, on the LV itself: the thin
 * pool's mapping is what could make a snapshot slower, not the path the data came by), then
 * snapshotted ROUNDS times through CSI CreateSnapshot and as many times by hand with
 * `lvcreate -s`, alternately; each snapshot is deleted (untimed) before the next.
 * The small volume is deleted before the large one is written, so the pool never holds both.
 */
export const snapshotBench: Scenario = {
  name: SNAPSHOT_BENCH,
  timeoutMs: 12 * 60_000,
  async run(ctx) {
    const clock = createStepClock(ctx);
    await withBenchDriver(ctx, clock, { tag: 'snap', portalIp: '127.0.0.9', fileMiB: 1400, poolMiB: 1280 }, async (driver) => {
      const { csi } = driver;
      const vgName = driver.vg.vgName;
      const sh = (file: string, args: readonly string[]) => driver.runner.run({ file, args, timeoutMs: 600_000 }, ctx.signal);
      const measureAfter = async (sizeMiB: number): Promise<{ driver: number[]; raw: number[] }> => {
        const created = await csi.controller.createVolume({ name: `bench-snap-${sizeMiB}`, capacity_range: { required_bytes: sizeMiB * MiB }, volume_capabilities: [BLOCK_RWO] });
        const volumeId = created.volume?.volume_id ?? '';
        const lv = lvNameOf(volumeId);
        await clock.timed(`write ${sizeMiB} MiB to ${vgName}/${lv}`, () => sh('dd', ['if=/dev/zero', `of=/dev/${vgName}/${lv}`, 'bs=4M', `count=${sizeMiB / 4}`, 'oflag=direct', 'status=none']));
        const out = { driver: [] as number[], raw: [] as number[] };
        for (let i = 0; i < ROUNDS; i++) {
          const viaDriver = async () => {
            let snapshotId = '';
            out.driver.push(await measureMs(async () => {
              const res = await csi.controller.createSnapshot({ name: `bench-snap-${sizeMiB}-${i}`, source_volume_id: volumeId });
              snapshotId = res.snapshot?.snapshot_id ?? '';
            }));
            await csi.controller.deleteSnapshot({ snapshot_id: snapshotId });
          };
          const byHand = async () => {
            const name = `bench-raw-snap-${sizeMiB}-${i}`;
            out.raw.push(await measureMs(() => sh('lvm', ['lvcreate', '-y', '-s', '-n', name, `${vgName}/${lv}`])));
            await sh('lvm', ['lvremove', '-y', `${vgName}/${name}`]);
          };
          await inAlternatingOrder(i, viaDriver, byHand);
          clock.note(`after ${sizeMiB} MiB, round ${i + 1}/${ROUNDS}: driver ${out.driver.at(-1)} ms, lvcreate -s ${out.raw.at(-1)} ms`);
        }
        await csi.controller.deleteVolume({ volume_id: volumeId });
        return out;
      };
      const small = await clock.timed(`snapshots after ${SMALL_MIB} MiB`, () => measureAfter(SMALL_MIB));
      const large = await clock.timed(`snapshots after ${LARGE_MIB} MiB`, () => measureAfter(LARGE_MIB));
      const scaled = `scaled down from issue 7's 1 GiB vs 4 GiB: the guest's loop-file VGs live in RAM (tmpfs of a 3 GiB VM)`;
      recordComparison(ctx, {
        measure: 'CreateSnapshot, written 1 GiB vs 256 MiB',
        unit: 'ms',
        subject: { name: `driver after ${LARGE_MIB} MiB`, samples: large.driver },
        baseline: { name: `driver after ${SMALL_MIB} MiB`, samples: small.driver },
        target: { kind: 'max', bound: 1.1 },
        note: scaled,
      });
      recordComparison(ctx, {
        measure: 'lvcreate -s, written 1 GiB vs 256 MiB',
        unit: 'ms',
        subject: { name: `raw after ${LARGE_MIB} MiB`, samples: large.raw },
        baseline: { name: `raw after ${SMALL_MIB} MiB`, samples: small.raw },
        note: scaled,
      });
      recordComparison(ctx, {
        measure: `CreateSnapshot after ${LARGE_MIB} MiB`,
        unit: 'ms',
        subject: { name: 'driver (CSI, all-in-one)', samples: large.driver },
        baseline: { name: 'lvcreate -s by hand', samples: large.raw },
      });
    });
  },
};
