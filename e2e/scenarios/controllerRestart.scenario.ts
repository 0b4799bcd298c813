import assert from 'node:assert/strict';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { pollUntil } from '../vm/poll.ts';
import { ControllerBed, MiB, grpcCodeOf, retryCsi } from '../support/controllerBed.ts';
import type { Scenario } from './Scenario.ts';

const BLOCK: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BURST = 20;

/**
 * The controller dies (SIGKILL) while a burst of 20 creates is in flight at the agents; a new
 * controller starts, and the CO retries every name (on ABORTED and UNAVAILABLE, as the
 * external-provisioner does). The agents' LV tags are the only record, so the end state must
 * be exactly 20 volumes, one LV per name across both VGs, each with its LIO target and no
 * target without an LV; then all 20 are deleted and nothing is left.
 */
export const controllerRestartScenario: Scenario = {
  name: 'controller restart mid-burst: retried creates converge on exactly one volume per name, no orphan LV or target',
  timeoutMs: 1_800_000,
  async run(ctx) {
    await ControllerBed.run(ctx, { tag: 'restart', poolMiB: [256, 256], overprovisionRatio: 5, nodePlugin: false }, async (bed) => {
      const names = Array.from({ length: BURST }, (_, i) => `pvc-restart-${String(i).padStart(2, '0')}`);
      const request = (name: string) => ({ name, capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [BLOCK], parameters: {} });

      // The burst, then SIGKILL as soon as the first LV exists: the rest are in flight.
      const first = bed.csi;
      let settled = 0;
      const outcomes = names.map((name) =>
        first.controller.createVolume(request(name)).then(
          (r) => ({ name, ok: true as const, id: r.volume?.volume_id ?? '' }),
          (err: unknown) => ({ name, ok: false as const, code: grpcCodeOf(err), message: (err as Error).message }),
        ).finally(() => settled++),
      );
      const lvsAtKill = await bed.step('burst sent; wait for the first LV', () =>
        pollUntil(
          async () => {
            if (settled === BURST) {
              const failed = (await Promise.all(outcomes)).flatMap((o) => (o.ok ? [] : [`${o.name}: ${o.message}`]));
              throw new Error(`every create of the burst ended before an LV appeared, so nothing was in flight to kill:\n  ${failed.join('\n  ')}`);
            }
            const n = (await bed.lvs()).filter((lv) => lv.tags['kind'] === 'volume').length;
            return n > 0 ? n : undefined;
          },
          { deadlineMs: Date.now() + 300_000, intervalMs: 200, what: 'the first LV of the burst', signal: ctx.signal },
        ),
      );
      await bed.step('SIGKILL the controller', () => bed.killController());
      const before = await Promise.all(outcomes);
      const succeeded = before.filter((o) => o.ok).length;
      ctx.log(`at the kill: ${lvsAtKill} LV(s) seen; the first controller answered ${succeeded} create(s), the others failed with codes ${[...new Set(before.filter((o) => !o.ok).map((o) => (o.ok ? '' : o.code)))].join(',')}`);
      assert.ok(succeeded < BURST, 'the controller died with creates still in flight');

      // A new controller; the CO retries every name until it gets an answer.
      await bed.step('a new controller sees both agents', () => bed.startController());
      const retries = new Map<number, number>();
      const retried = await bed.step(`retry all ${BURST} creates (ABORTED/UNAVAILABLE retried)`, () =>
        Promise.all(
          names.map((name) =>
            retryCsi(() => bed.csi.controller.createVolume(request(name)), {
              deadlineMs: Date.now() + 300_000,
              signal: ctx.signal,
              onRetry: (code) => retries.set(code, (retries.get(code) ?? 0) + 1),
            }),
          ),
        ),
      );
      ctx.log(`retries: ${[...retries].map(([code, n]) => `${code === grpcStatus.ABORTED ? 'ABORTED' : 'UNAVAILABLE'} ×${n}`).join(', ') || 'none'}`);
      const ids = retried.map((r) => r.volume?.volume_id ?? '');
      assert.equal(new Set(ids).size, BURST, 'twenty distinct volume ids');
      for (const o of before) {
        if (o.ok) assert.equal(ids[names.indexOf(o.name)], o.id, `${o.name}: the retry returns the volume the first controller created`);
      }

      // What lvm and LIO say: exactly one LV per name, a target for each, no other target.
      const lvs = (await bed.lvs()).filter((lv) => lv.tags['kind'] === 'volume');
      assert.deepEqual(lvs.map((lv) => lv.tags['name']).sort(), [...names].sort(), 'exactly one LV per name across both VGs');
      const expectedTargets = lvs.map((lv) => `${bed.nodes.find((n) => n.vg === lv.vg)!.iqnPrefix}:${lv.name}`).sort();
      assert.deepEqual(await bed.inspect.lioTargets(bed.iqnPrefixes), expectedTargets, 'one LIO target per LV and no orphan target');
      for (const id of ids) {
        const lv = lvs.find((x) => x.name === id.split('/')[1]);
        assert.equal(lv?.vg, bed.node(id.split('/')[0]!).vg, `${id} names the storage node whose VG holds it`);
      }
      ctx.log(`per VG: ${bed.nodes.map((n) => `${n.name} ${lvs.filter((lv) => lv.vg === n.vg).length}`).join(', ')}`);
      const listed = await bed.csi.controller.listVolumes({ max_entries: 0, starting_token: '' });
      assert.deepEqual(listed.entries.map((e) => e.volume?.volume_id).sort(), [...ids].sort(), 'ListVolumes shows the same twenty');

      await bed.step(`delete all ${BURST}`, () => Promise.all(ids.map((id) => retryCsi(() => bed.csi.controller.deleteVolume({ volume_id: id }), { deadlineMs: Date.now() + 300_000, signal: ctx.signal }))));
      assert.deepEqual(await bed.leftovers(), { lvs: [], targets: [], sessions: [] }, 'no LV, LIO target or session is left');
    });
  },
};
