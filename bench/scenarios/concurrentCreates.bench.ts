import { FsConfigFs, LioTarget, buildUnitSerial } from '../../src/lio/index.ts';
import { retryCsi } from '../../e2e/support/controllerBed.ts';
import { StorageInspection } from '../../e2e/support/storageInspection.ts';
import { createStepClock } from '../../e2e/support/stepClock.ts';
import type { Scenario } from '../../e2e/scenarios/Scenario.ts';
import { checkSpread, formatSpread } from '../lib/spreadCheck.ts';
import { BLOCK_RWO, MiB } from '../support/allInOneDriver.ts';
import { measureMs, recordComparison } from '../support/measure.ts';
import { withThreeAgentCluster } from '../support/threeAgentCluster.ts';
import type { BenchStorageNode } from '../support/threeAgentCluster.ts';

const VOLUMES = 100;
const SIZE_MIB = 16;
const POOL_MIB = 256;
/** 3 × 256 MiB × 3 = 2304 MiB promisable for 1600 MiB: they fit, but only spread (one node takes at most 48, two at most 96). */
const OVERPROVISION_RATIO = 3;
const IPS = ['127.0.0.7', '127.0.0.8', '127.0.0.9'] as const;
const RETRY_FOR_MS = 15 * 60_000;

export const CONCURRENT_CREATES_BENCH = 'bench: 100 concurrent CreateVolume calls over 3 agents vs lvcreate -T + LIO export by hand, serially per node';

/**
 * Issue 7: 100 CreateVolume calls (16 MiB thin, block) sent at once to the controller over three
 * agents (each a 256 MiB thin pool at over-provisioning ratio 3, so the 1600 MiB fit only
 * spread), retried on ABORTED / UNAVAILABLE as a CO would; wall time until all are answered.
 * Then `lvm lvs` by hand: exactly one LV per name, and no node's thin LVs past pool × ratio.
 * The baseline, in the same run once the driver's processes are stopped and its volumes removed:
 * on each node serially the share the driver placed there, `lvcreate -T` + the same LIO export
 * through configfs as volumeLatency's raw path, the three nodes in parallel; its wall time.
 * One sample each (n=1).
 */
export const concurrentCreatesBench: Scenario = {
  name: CONCURRENT_CREATES_BENCH,
  timeoutMs: 25 * 60_000,
  async run(ctx) {
    const clock = createStepClock(ctx);
    await withThreeAgentCluster(ctx, clock, { tag: 'cc', ips: IPS, poolMiB: POOL_MIB, overprovisionRatio: OVERPROVISION_RATIO }, async (cluster) => {
      const lio = new LioTarget({ configFs: new FsConfigFs() });
      const inspect = new StorageInspection(cluster.runner, ctx.signal);
      const sh = (args: readonly string[]) => cluster.runner.run({ file: 'lvm', args, timeoutMs: 300_000 }, ctx.signal);
      const names = Array.from({ length: VOLUMES }, (_, i) => `bench-cc-${String(i).padStart(3, '0')}`);

      const raw = {
        async create(node: BenchStorageNode, name: string): Promise<void> {
          await sh(['lvcreate', '-y', '-T', `${node.vg}/${node.thinPoolName}`, '-V', `${SIZE_MIB}M`, '-n', name]);
          await lio.exportVolume({
            backstoreName: name,
            devicePath: `/dev/${node.vg}/${name}`,
            serial: buildUnitSerial(name),
            targetIqn: `${cluster.rawIqnPrefix}:${name}`,
            portal: { ip: node.ip, port: 3260 },
            thin: true,
            acls: [],
          });
        },
        async delete(node: BenchStorageNode, name: string): Promise<void> {
          await lio.unexportVolume(`${cluster.rawIqnPrefix}:${name}`, name);
          await sh(['lvremove', '-y', `${node.vg}/${name}`]);
        },
      };
      // Untimed: the first lvcreate and export on each node pays for lvm's and configfs's first-call
      // costs. One name per node: LIO's backstore names are the kernel's, not a node's.
      await clock.timed('raw warm-up, one volume per node', () => Promise.all(cluster.nodes.map(async (n) => {
        await raw.create(n, `bench-cc-warm-up-${n.name}`);
        await raw.delete(n, `bench-cc-warm-up-${n.name}`);
      })));

      const retries = new Map<number, number>();
      let answered = 0;
      const driverMs = await clock.timed(`${VOLUMES} CreateVolume calls at once`, () =>
        measureMs(() =>
          Promise.all(
            names.map(async (name) => {
              await retryCsi(
                () => cluster.controller.createVolume({ name, capacity_range: { required_bytes: SIZE_MIB * MiB }, volume_capabilities: [BLOCK_RWO], parameters: {} }),
                { deadlineMs: Date.now() + RETRY_FOR_MS, signal: ctx.signal, onRetry: (code) => retries.set(code, (retries.get(code) ?? 0) + 1) },
              );
              if (++answered % 20 === 0) clock.note(`${answered}/${VOLUMES} CreateVolume calls answered`);
            }),
          ),
        ),
      );
      const retryCount = [...retries.values()].reduce((a, b) => a + b, 0);
      const retryText = retryCount === 0 ? 'no retries' : `${retryCount} retries (${[...retries].map(([code, n]) => `code ${code}: ${n}`).join(', ')})`;
      clock.note(`driver: ${VOLUMES} volumes in ${driverMs} ms, ${retryText}`);

      const lvs = await inspect.lvs(cluster.nodes.map((n) => n.vg));
      const limitBytes = Math.floor(POOL_MIB * MiB * OVERPROVISION_RATIO);
      const spread = checkSpread(
        cluster.nodes.map((n) => ({ name: n.name, vg: n.vg, limitBytes })),
        lvs.map((lv) => ({ vg: lv.vg, sizeBytes: lv.sizeBytes, csiName: lv.tags['name'] })),
        names,
      );
      clock.note(`lvm lvs by hand: ${lvs.length} LVs; per node: ${formatSpread(spread.perNode)}`);
      if (spread.problems.length > 0) throw new Error(`the driver's volumes are not one per name within every node's limit: ${spread.problems.join('; ')}`);

      // The baseline runs on the same VGs, emptied, with the driver's processes stopped.
      await clock.timed('stop the agents and the controller, remove their exports and LVs by hand', async () => {
        await cluster.stopProcesses(false);
        await cluster.removeExports();
        await Promise.all(cluster.nodes.map(async (n) => {
          const mine = lvs.filter((lv) => lv.vg === n.vg).map((lv) => `${n.vg}/${lv.name}`);
          if (mine.length > 0) await sh(['lvremove', '-y', ...mine]);
        }));
      });

      const shares = cluster.nodes.map((n, i) => ({ node: n, count: spread.perNode[i]?.count ?? 0 }));
      let next = 0;
      const plan = shares.map((s) => ({ node: s.node, names: names.slice(next, (next += s.count)) }));
      const rawMs = await clock.timed(`by hand: ${shares.map((s) => `${s.count} on ${s.node.name}`).join(', ')}, serially per node, nodes in parallel`, () =>
        measureMs(() => Promise.all(plan.map(async (p) => {
          for (const name of p.names) await raw.create(p.node, name);
        }))),
      );
      clock.note(`raw: ${VOLUMES} volumes in ${rawMs} ms; ratio ${(driverMs / rawMs).toFixed(2)}`);

      recordComparison(ctx, {
        measure: `${VOLUMES} concurrent CreateVolume ${SIZE_MIB} MiB thin over 3 agents, wall time`,
        unit: 'ms',
        subject: { name: 'driver (controller + 3 agents, CSI calls at once)', samples: [driverMs] },
        baseline: { name: 'lvcreate -T + LIO export by hand, serially per node, nodes in parallel', samples: [rawMs] },
        target: { kind: 'max', bound: 1.3 },
        note: `n=1. Driver: ${retryText}; per node ${formatSpread(spread.perNode)} (limit = ${POOL_MIB} MiB pool x ratio ${OVERPROVISION_RATIO}). By hand: the same count per node, after the driver's processes were stopped and its volumes removed.`,
      });
    });
  },
};
