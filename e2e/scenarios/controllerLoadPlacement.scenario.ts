import assert from 'node:assert/strict';
import { execa } from 'execa';
import { LATENCY_SATURATION_MS, LOAD_TOLERANCE } from '../../src/placement/policy.ts';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { pollUntil } from '../vm/poll.ts';
import { ControllerBed, MiB } from '../support/controllerBed.ts';
import type { Scenario } from './Scenario.ts';

const BLOCK: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

/**
 * Load-aware placement on the real kernel: store-a has twice store-b's pool, so while both are
 * idle a new volume goes to store-a (most free space). Then fio reads store-a's disk (its PV, a
 * loop device, read-only so the VG is untouched) until store-a's load score is clearly out of
 * store-b's tolerance band: every new volume now lands on store-b, although store-a still has more
 * room. Under TCG a loop device over a file mostly answers from the page cache, so fio keeps it
 * only about a quarter busy (0.24 in a run of 2026-11-23); the test asks for LOADED_UTILIZATION and
 * a score gap of three tolerance bands, which is what makes the policy choose, not for a busy disk.
 */
const LOADED_UTILIZATION = 0.15;
export const controllerLoadPlacementScenario: Scenario = {
  name: 'controller placement: with fio loading one storage node\'s disk, new volumes land on the other',
  timeoutMs: 1_800_000,
  async run(ctx) {
    await ControllerBed.run(ctx, { tag: 'load', poolMiB: [512, 256], overprovisionRatio: 5, nodePlugin: false }, async (bed) => {
      const { controller } = bed.csi;
      const [a, b] = bed.nodes;
      const score = (load: { utilization: number; average_latency_ms: number } | null | undefined) =>
        (load?.utilization ?? 0) + Math.min(1, (load?.average_latency_ms ?? 0) / LATENCY_SATURATION_MS);
      const loads = async () => {
        const [sa, sb] = await Promise.all([bed.agentStatus(a.name), bed.agentStatus(b.name)]);
        return { a: sa.io_load, b: sb.io_load, scoreA: score(sa.io_load), scoreB: score(sb.io_load) };
      };
      const describe = (l: Awaited<ReturnType<typeof loads>>) =>
        `${a.name} util ${l.a?.utilization.toFixed(3)} lat ${l.a?.average_latency_ms.toFixed(2)} ms; ${b.name} util ${l.b?.utilization.toFixed(3)} lat ${l.b?.average_latency_ms.toFixed(2)} ms`;
      const create = async (name: string) =>
        (await bed.step(`CreateVolume ${name}`, () => controller.createVolume({ name, capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [BLOCK], parameters: {} }))).volume!;
      const created: string[] = [];

      // Idle: both scores inside the tolerance band, so free space decides: store-a.
      const idle = await bed.step('both nodes idle (load scores within the tolerance band)', () =>
        pollUntil(
          async () => {
            const l = await loads();
            return l.scoreA < 0.1 && l.scoreB < 0.1 && Math.abs(l.scoreA - l.scoreB) < LOAD_TOLERANCE ? l : undefined;
          },
          { deadlineMs: Date.now() + 180_000, intervalMs: 1000, what: 'both storage nodes to be idle', signal: ctx.signal },
        ),
      );
      ctx.log(`idle: ${describe(idle)}`);
      const control = await create('pvc-load-idle');
      created.push(control.volume_id);
      assert.ok(control.volume_id.startsWith(`${a.name}/`), `idle nodes: the one with more room (${a.name}) wins, got ${control.volume_id}`);

      // Load store-a's PV with fio until its smoothed utilization is clearly high.
      const fio = execa('fio', [
        '--name=load-a', `--filename=${bed.loopDevice(a.name)}`, '--readonly', '--rw=randread', '--direct=1', '--ioengine=libaio',
        '--iodepth=16', '--bs=4k', '--time_based', '--runtime=900', '--numjobs=1',
      ], { reject: false, all: true });
      try {
        const loaded = await bed.step(`fio on ${a.name}'s PV until its utilization is >= ${LOADED_UTILIZATION} and its score 3 bands above ${b.name}'s`, () =>
          pollUntil(
            async () => {
              if (fio.exitCode !== undefined && fio.exitCode !== null) throw new Error(`fio exited early with ${fio.exitCode}`);
              const l = await loads();
              ctx.log(`  ${describe(l)}`);
              return (l.a?.utilization ?? 0) >= LOADED_UTILIZATION && l.scoreA - l.scoreB > 3 * LOAD_TOLERANCE ? l : undefined;
            },
            { deadlineMs: Date.now() + 240_000, intervalMs: 3000, what: `${a.name}'s load score to rise 3 tolerance bands above ${b.name}'s under fio`, signal: ctx.signal },
          ),
        );
        ctx.log(`loaded: ${describe(loaded)}`);
        const freeA = (await bed.agentStatus(a.name)).thin_pool?.allocatable_bytes ?? 0;
        const freeB = (await bed.agentStatus(b.name)).thin_pool?.allocatable_bytes ?? 0;
        assert.ok(freeA > freeB, `${a.name} still has more room (${freeA} > ${freeB}): only the load can send volumes to ${b.name}`);

        for (let i = 1; i <= 4; i++) {
          const v = await create(`pvc-load-${i}`);
          created.push(v.volume_id);
          assert.ok(v.volume_id.startsWith(`${b.name}/`), `under load on ${a.name}, pvc-load-${i} lands on ${b.name}, got ${v.volume_id}`);
        }
        const after = await loads();
        ctx.log(`after the creates: ${describe(after)}`);
        assert.ok(after.scoreA - after.scoreB > LOAD_TOLERANCE, `the load on ${a.name} held while the volumes were placed: ${describe(after)}`);
      } finally {
        fio.kill('SIGTERM');
        const r = await fio;
        ctx.log(`fio stopped (exit ${r.exitCode ?? r.signal}): ${(r.all ?? '').split('\n').filter((l) => /read:|IOPS|lat \(/.test(l)).slice(0, 3).join(' | ')}`);
      }
      for (const line of bed.placementLines()) ctx.log(`placement ${line}`);

      for (const id of created) await controller.deleteVolume({ volume_id: id });
      assert.deepEqual(await bed.leftovers(), { lvs: [], targets: [], sessions: [] }, 'no LV, LIO target or session is left');
    });
  },
};
