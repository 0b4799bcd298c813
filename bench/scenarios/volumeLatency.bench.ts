import { FsConfigFs, LioTarget, buildUnitSerial } from '../../src/lio/index.ts';
import { createStepClock } from '../../e2e/support/stepClock.ts';
import type { Scenario } from '../../e2e/scenarios/Scenario.ts';
import { MiB, withBenchDriver, BLOCK_RWO } from '../support/allInOneDriver.ts';
import { inAlternatingOrder, measureMs, recordComparison } from '../support/measure.ts';

const ROUNDS = 15;
const SIZE_MIB = 32;
const PORTAL = { ip: '127.0.0.6', port: 3260 } as const;

export const VOLUME_LATENCY_BENCH = 'bench: CreateVolume and DeleteVolume latency, driver over CSI vs lvcreate + LIO export by hand';

/**
 * Issue 7, first item: CreateVolume and DeleteVolume of a 32 MiB thin volume through the
 * all-in-one driver (CSI → controller → agent over mutual TLS → lvcreate, LIO export) against
 * what the driver does, done by hand in this process: `lvcreate -T` and the same LIO export
 * (backstore, serial, target, TPG, LUN, portal; no ACL, which the driver adds only at
 * ControllerPublish) written to configfs through src/lio; `lvremove` after removing the export.
 * Driver and raw calls alternate, each round starting with the other, so host noise hits both.
 */
export const volumeLatencyBench: Scenario = {
  name: VOLUME_LATENCY_BENCH,
  timeoutMs: 12 * 60_000,
  async run(ctx) {
    const clock = createStepClock(ctx);
    await withBenchDriver(ctx, clock, { tag: 'lat', portalIp: PORTAL.ip, fileMiB: 1280, poolMiB: 1024 }, async (driver) => {
      const { vgName, thinPoolName } = driver.vg;
      const lio = new LioTarget({ configFs: new FsConfigFs() });
      const sh = (file: string, args: readonly string[]) => driver.runner.run({ file, args, timeoutMs: 120_000 }, ctx.signal);
      const rawName = (i: number) => `bench-raw-${i}`;
      const rawIqn = (i: number) => `${driver.rawIqnPrefix}:${rawName(i)}`;
      const raw = {
        async create(i: number): Promise<void> {
          await sh('lvm', ['lvcreate', '-y', '-T', `${vgName}/${thinPoolName}`, '-V', `${SIZE_MIB}M`, '-n', rawName(i)]);
          await lio.exportVolume({
            backstoreName: rawName(i),
            devicePath: `/dev/${vgName}/${rawName(i)}`,
            serial: buildUnitSerial(rawName(i)),
            targetIqn: rawIqn(i),
            portal: PORTAL,
            thin: true,
            acls: [],
          });
        },
        async delete(i: number): Promise<void> {
          await lio.unexportVolume(rawIqn(i), rawName(i));
          await sh('lvm', ['lvremove', '-y', `${vgName}/${rawName(i)}`]);
        },
      };
      const viaCsi = {
        async create(i: number): Promise<string> {
          const res = await driver.csi.controller.createVolume({ name: `bench-pvc-${i}`, capacity_range: { required_bytes: SIZE_MIB * MiB }, volume_capabilities: [BLOCK_RWO] });
          return res.volume?.volume_id ?? '';
        },
        async delete(id: string): Promise<void> {
          await driver.csi.controller.deleteVolume({ volume_id: id });
        },
      };

      // One untimed round each, so first-call costs (module loading, lvm's caches) are not measured.
      await raw.create(ROUNDS);
      await raw.delete(ROUNDS);

      const created = { driver: [] as number[], raw: [] as number[] };
      const deleted = { driver: [] as number[], raw: [] as number[] };
      const ids: string[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        await inAlternatingOrder(
          i,
          async () => {
            let id = '';
            created.driver.push(await measureMs(async () => (id = await viaCsi.create(i))));
            ids.push(id);
          },
          async () => void created.raw.push(await measureMs(() => raw.create(i))),
        );
        clock.note(`create round ${i + 1}/${ROUNDS}: driver ${created.driver.at(-1)} ms, raw ${created.raw.at(-1)} ms`);
      }
      for (let i = 0; i < ROUNDS; i++) {
        await inAlternatingOrder(
          i,
          async () => void deleted.driver.push(await measureMs(() => viaCsi.delete(ids[i] ?? ''))),
          async () => void deleted.raw.push(await measureMs(() => raw.delete(i))),
        );
        clock.note(`delete round ${i + 1}/${ROUNDS}: driver ${deleted.driver.at(-1)} ms, raw ${deleted.raw.at(-1)} ms`);
      }
      const measured = [
        { call: 'CreateVolume', samples: created, baseline: 'lvcreate -T + LIO configfs export' },
        { call: 'DeleteVolume', samples: deleted, baseline: 'LIO unexport + lvremove' },
      ];
      for (const m of measured) {
        recordComparison(ctx, {
          measure: `${m.call} ${SIZE_MIB} MiB thin`,
          unit: 'ms',
          subject: { name: 'driver (CSI, all-in-one)', samples: m.samples.driver },
          baseline: { name: m.baseline, samples: m.samples.raw },
          target: { kind: 'max', bound: 1.1 },
        });
      }
    });
  },
};
