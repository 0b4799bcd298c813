import type { Scenario } from './Scenario.ts';
import { kernelStackScenario } from './kernelStack.scenario.ts';
import { mirrorKernelScenario } from './mirrorKernel.scenario.ts';

/**
 * Measurements of the kernel beneath the product, run on demand: `npm run e2e:measure`
 * (VBS_E2E_REGISTRY=measure). mirrorKernel is where docs/replication-kernel.md's figures come from
 * (session timeouts, stalls, resync bytes). `npm test` proves the same behaviour through the product
 * in the replication scenario, so these stay out of its time budget. The kernel stack check comes first.
 */
export const scenarios: readonly Scenario[] = [kernelStackScenario, mirrorKernelScenario];
