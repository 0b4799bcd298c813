import type { Scenario } from './Scenario.ts';
import { kernelStackScenario } from './kernelStack.scenario.ts';
import { mirrorKernelScenario } from './mirrorKernel.scenario.ts';
import { replicationScenario } from './replication.scenario.ts';

/**
 * Replication's scenarios, run on demand: `npm run e2e:measure` (VBS_E2E_REGISTRY=measure), about
 * 14 min. mirrorKernel is where docs/replication-kernel.md's figures come from (session timeouts,
 * stalls, resync bytes); replication proves the product's replicated volumes and arms their crash
 * points (docs/replication.md). Out of `npm test` for now: with them the clean-clone run took 85 of
 * CI's 90 min on 2026-12-08 (README, test costs). The kernel stack check comes first.
 */
export const scenarios: readonly Scenario[] = [kernelStackScenario, mirrorKernelScenario, replicationScenario];
