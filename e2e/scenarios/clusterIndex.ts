import type { Scenario } from './Scenario.ts';
import { kernelStackScenario } from './kernelStack.scenario.ts';
import { kubernetesClusterScenario } from './kubernetesCluster.scenario.ts';

/**
 * The real-cluster scenarios alone (issue 17), for working on them: `npm run e2e:cluster`
 * (VBS_E2E_REGISTRY=cluster) boots the VM for these without the rest of the suite. `npm test` runs them
 * from ./index.ts with everything else. The kernel stack check comes first, as there.
 */
export const scenarios: readonly Scenario[] = [kernelStackScenario, kubernetesClusterScenario];
