/**
 * The real-kernel test bed: boots ONE qemu VM (Debian's kernel, the host's root shared read-only
 * with a throw-away overlay) that runs every scenario in e2e/scenarios/index.ts, and reports each
 * scenario as its own test. Run with `npm run e2e`; prerequisites with `npm run e2e:setup`.
 *
 * Environment: VBS_E2E_ONLY (substring of scenario names), VBS_E2E_TIMEOUT_S (whole run,
 * default 4500), VBS_E2E_ACCEL=kvm (opt-in, probed, falls back to TCG), VBS_E2E_CONSOLE=1 (echo
 * the guest console to stderr).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildGoTools } from '../scripts/build-go-tools.ts';
import { scenarios as defaultScenarios } from './scenarios/index.ts';
import { scenarios as clusterScenarios } from './scenarios/clusterIndex.ts';
import { scenarios as measurementScenarios } from './scenarios/measurementIndex.ts';
import { selectScenarios } from './scenarios/selectScenarios.ts';
import { startHostCluster } from './cluster/hostCluster.ts';
import type { HostCluster } from './cluster/hostCluster.ts';
import { onlyFilterFor, whyNoReboot } from './vm/lockupReboot.ts';
import { TestBed } from './vm/TestBed.ts';
import { parseE2eSettings } from './vm/settings.ts';

/** Added to a scenario's own deadline: the guest enforces that one, this covers writing the verdict. */
const RESULT_SLACK_MS = 60_000;
const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
/** A cold image build took 2 min 17 s here (docs/containers.md); mmdebstrap's downloads may be slower elsewhere. */
const IMAGE_BUILD_TIMEOUT_MS = 900_000;

const settings = parseE2eSettings(process.env);
const runDeadlineMs = Date.now() + settings.totalTimeoutMs;
const REGISTRIES = {
  default: { scenarios: defaultScenarios, module: undefined },
  cluster: { scenarios: clusterScenarios, module: 'e2e/scenarios/clusterIndex.ts' },
  measure: { scenarios: measurementScenarios, module: 'e2e/scenarios/measurementIndex.ts' },
} as const;
const { scenarios, module: registryModule } = REGISTRIES[settings.registry];
/** The guest loads the same registry (e2e/guest/runScenarios.ts reads registry.txt). */
const registry = registryModule === undefined ? {} : { registry: registryModule };
const selected = selectScenarios(scenarios, settings.only);

describe('real-kernel test bed (qemu)', () => {
  let bed: TestBed | undefined;
  let goTools: ReturnType<typeof buildGoTools> | undefined;
  let cluster: HostCluster | undefined;
  let clusterFailed = false;
  /** What every boot of this run gets: the Go tools, and the cluster with its network. */
  const bedExtras = () => ({ ...registry, ...(goTools ? { goTools } : {}), ...(cluster ? { cluster: cluster.info, guestForwards: cluster.forwards } : {}) });

  before(async () => {
    if (selected.some((s) => s.needsImage)) {
      // A clean clone has no image: build it (cold about 2.5 min, unchanged about 1 s), progress shown.
      console.log('vbs-e2e: npm run image (scripts/build-image.sh) for the cluster scenarios');
      execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts/build-image.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: IMAGE_BUILD_TIMEOUT_MS });
    }
    // Go tools the selected scenarios run (csi-sanity): built here on a machine that skipped `npm run setup`
    // (cold about a minute), found in the cache otherwise (no network, under a second).
    const goToolNames = [...new Set(selected.flatMap((s) => s.goTools ?? []))];
    goTools = goToolNames.length > 0 ? buildGoTools(goToolNames, (line) => console.log(`vbs-e2e: ${line}`)) : undefined;
    // The cluster scenarios' control plane runs here, natively; the guest joins it as the node (docs/kubernetes-test-bed.md).
    if (selected.some((s) => s.needsCluster)) cluster = await startHostCluster(PROJECT_ROOT, (line) => console.log(`vbs-e2e: ${line}`));
    bed = await TestBed.start({ projectRoot: PROJECT_ROOT, settings, deadlineMs: runDeadlineMs, ...bedExtras() });
    reportBoot(bed);
  }, { timeout: settings.totalTimeoutMs + RESULT_SLACK_MS }); // our own deadline fires first, with the console

  after(async () => {
    await bed?.stop();
    await stopCluster();
  });

  /** The control plane stops after the last scenario that needs it: the rest of the run gets the host's CPU back. */
  async function stopCluster(): Promise<void> {
    const running = cluster;
    cluster = undefined;
    await running?.stop(clusterFailed);
  }
  const lastClusterScenario = selected.findLastIndex((s) => s.needsCluster);

  function reportBoot(started: TestBed): void {
    const { boot } = started;
    const seconds = (ms: number | undefined): string => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`);
    console.log(
      `vbs-e2e: VM up (${boot.accel}, kernel ${boot.kernelVersion}, initramfs ${boot.initramfs.isFresh ? 'built' : 'reused'}): ` +
        `init after ${seconds(boot.toInitMs)}, kernel stack up after ${seconds(boot.toKernelStackMs)}, ` +
        `scenarios started after ${seconds(boot.toRunnerMs)}`,
    );
    if (boot.kvmFallbackReason !== undefined) console.log(`vbs-e2e: KVM not used: ${boot.kvmFallbackReason}`);
    console.log(`vbs-e2e: run directory ${started.runDir}`);
  }

  /**
   * After a guest kernel soft lockup, once per run, a fresh VM runs this scenario and the ones after
   * it (e2e/vm/lockupReboot.ts says when, docs/test-bed.md why); the lockup is printed either way.
   */
  async function rebootAfterLockup(failed: TestBed, scenarioIndex: number, scenarioTimeoutMs: number, failure: string): Promise<TestBed | undefined> {
    const why = whyNoReboot({
      lockupLine: failed.kernelLockupLine(),
      qemuHasExited: failed.qemu.exit !== undefined,
      rebootsSoFar: lockupReboots,
      msLeftInRun: runDeadlineMs - Date.now(),
      msNeeded: 3 * failed.boot.toRunnerMs + scenarioTimeoutMs,
    });
    if (why !== undefined) return undefined;
    lockupReboots++;
    console.log(`vbs-e2e: THE GUEST KERNEL LOCKED UP; booting a fresh VM for this scenario and the ones after it (reboot ${lockupReboots} of at most 1 per run)\n${failure}`);
    await failed.stop();
    const rest = selected.slice(scenarioIndex).map((s) => s.name);
    const only = onlyFilterFor(rest, scenarios.map((s) => s.name));
    const fresh = await TestBed.start({ projectRoot: PROJECT_ROOT, settings: { ...settings, only }, deadlineMs: runDeadlineMs, ...bedExtras() });
    reportBoot(fresh);
    return fresh;
  }
  let lockupReboots = 0;

  if (selected.length === 0) {
    test(`VBS_E2E_ONLY=${JSON.stringify(settings.only)} selects at least one scenario`, () => {
      assert.fail(`no scenario name contains ${JSON.stringify(settings.only)}; names: ${scenarios.map((s) => s.name).join(' | ')}`);
    });
  }

  for (const [index, scenario] of selected.entries()) {
    // Room for one boot after a lockup (rebootAfterLockup) besides the scenario's own deadline.
    test(scenario.name, { timeout: 2 * (scenario.timeoutMs + 2 * RESULT_SLACK_MS) }, async () => {
      assert.ok(bed, 'the test bed did not start');
      try {
        let result;
        for (;;) {
          const deadlineMs = Math.min(Date.now() + scenario.timeoutMs + RESULT_SLACK_MS, runDeadlineMs);
          try {
            result = await bed.waitForResult(scenario.name, deadlineMs);
            break;
          } catch (err: unknown) {
            const failure = bed.describeFailure(err instanceof Error ? err.message : String(err));
            const fresh = await rebootAfterLockup(bed, index, scenario.timeoutMs, failure);
            if (fresh === undefined) assert.fail(failure);
            bed = fresh;
          }
        }
        if (!result.ok) {
          // The control plane's side of a cluster scenario's failure: its components' logs.
          if (scenario.needsCluster) clusterFailed = true;
          const controlPlane = scenario.needsCluster && cluster ? `\n--- control plane (host) ---\n${cluster.controlPlane.logs()}` : '';
          assert.fail(bed.describeFailure(`scenario failed in the guest after ${result.durationMs} ms`, result) + controlPlane);
        }
      } finally {
        if (index === lastClusterScenario) await stopCluster();
      }
    });
  }
});
