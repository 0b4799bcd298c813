import assert from 'node:assert/strict';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { ControllerBed, MiB, grpcCodeOf, retryCsi } from '../support/controllerBed.ts';
import type { Scenario } from './Scenario.ts';

const BLOCK: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const POOL_MIB = 100;
const RATIO = 5;
const VOLUME_MIB = 48;
const BURST = 20;

/**
 * A burst of 20 concurrent CreateVolume calls that fits the cluster only when it is spread
 * exactly: each pool (100 MiB at ratio 5) may promise 500 MiB, i.e. 10 volumes of 48 MiB, and
 * 20 × 48 = 960 MiB. So neither node can hold the burst, both together can: every call must
 * succeed, each node gets 10, and lvs shows no pool promising more than size × ratio. One more
 * volume then really does not fit anywhere: RESOURCE_EXHAUSTED.
 */
export const controllerBurstScenario: Scenario = {
  name: 'controller burst: 20 concurrent CreateVolume calls spread over both storage nodes with no overfill',
  timeoutMs: 1_800_000,
  async run(ctx) {
    await ControllerBed.run(ctx, { tag: 'burst', poolMiB: [POOL_MIB, POOL_MIB], overprovisionRatio: RATIO, nodePlugin: false }, async (bed) => {
      const { controller } = bed.csi;
      const names = Array.from({ length: BURST }, (_, i) => `pvc-burst-${String(i).padStart(2, '0')}`);
      // As a CO does, ABORTED and UNAVAILABLE are retried: under TCG a queue of ten lvcreates on
      // one VG outlasts the controller's 60 s call deadline to its agent (the create goes on there
      // and the retry finds it by name). Any other failure, RESOURCE_EXHAUSTED above all, is final.
      const retries: string[] = [];
      const results = await bed.step(`${BURST} concurrent CreateVolume of ${VOLUME_MIB} MiB (CO-style retries)`, () =>
        Promise.allSettled(
          names.map((name) =>
            retryCsi(() => controller.createVolume({ name, capacity_range: { required_bytes: VOLUME_MIB * MiB }, volume_capabilities: [BLOCK], parameters: {} }), {
              deadlineMs: Date.now() + 600_000,
              signal: ctx.signal,
              onRetry: (code, err) => retries.push(`${name}: ${code === grpcStatus.ABORTED ? 'ABORTED' : 'UNAVAILABLE'} (${err.message.slice(0, 120)})`),
            }),
          ),
        ),
      );
      for (const line of bed.placementLines()) ctx.log(`placement ${line}`);
      ctx.log(`retries: ${retries.length === 0 ? 'none' : `${retries.length}\n  ${retries.join('\n  ')}`}`);
      const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: code ${grpcCodeOf(r.reason)} ${(r.reason as Error).message}`] : []));
      assert.deepEqual(failures, [], 'the burst fits both nodes together, so every create succeeds');
      const ids = results.map((r) => (r.status === 'fulfilled' ? r.value.volume?.volume_id ?? '' : ''));
      const perNode = new Map<string, number>();
      for (const id of ids) perNode.set(id.split('/')[0]!, (perNode.get(id.split('/')[0]!) ?? 0) + 1);
      ctx.log(`volumes per node: ${JSON.stringify(Object.fromEntries(perNode))}`);
      assert.equal(new Set(ids).size, BURST, 'twenty distinct volumes');

      // What lvm says: one LV per name, both VGs used, no pool past size × ratio.
      const lvs = (await bed.lvs()).filter((lv) => lv.tags['kind'] === 'volume');
      assert.deepEqual(lvs.map((lv) => lv.tags['name']).sort(), [...names].sort(), 'exactly one LV per name');
      for (const n of bed.nodes) {
        const mine = lvs.filter((lv) => lv.vg === n.vg);
        const provisioned = mine.reduce((sum, lv) => sum + lv.sizeBytes, 0);
        ctx.log(`${n.name}: ${mine.length} volumes, ${provisioned / MiB} MiB provisioned of ${POOL_MIB * RATIO} MiB allowed`);
        assert.ok(mine.length > 0, `${n.name} is used`);
        assert.ok(provisioned <= POOL_MIB * RATIO * MiB, `${n.name} is not overfilled: ${provisioned / MiB} MiB > ${POOL_MIB * RATIO} MiB`);
        assert.equal(mine.length, perNode.get(n.name), `the volume ids agree with lvs on ${n.name}`);
      }

      // Now the total really does not fit: 20 MiB is left on each node.
      await assert.rejects(
        controller.createVolume({ name: 'pvc-burst-extra', capacity_range: { required_bytes: VOLUME_MIB * MiB }, volume_capabilities: [BLOCK], parameters: {} }),
        (err: unknown) => grpcCodeOf(err) === grpcStatus.RESOURCE_EXHAUSTED,
        'a volume no node has room for is RESOURCE_EXHAUSTED',
      );
      const cap = await controller.getCapacity({ parameters: {} });
      assert.equal(cap.available_capacity, 2 * (POOL_MIB * RATIO - 10 * VOLUME_MIB) * MiB, 'GetCapacity: what is left on both nodes');

      // Twenty deletes queue on two VGs too: retried on UNAVAILABLE like the creates.
      await bed.step(`${BURST} concurrent DeleteVolume (CO-style retries)`, () =>
        Promise.all(ids.map((id) => retryCsi(() => controller.deleteVolume({ volume_id: id }), { deadlineMs: Date.now() + 600_000, signal: ctx.signal }))),
      );
      assert.deepEqual(await bed.leftovers(), { lvs: [], targets: [], sessions: [] }, 'no LV, LIO target or session is left');
    });
  },
};
