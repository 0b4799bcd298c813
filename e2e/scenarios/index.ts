import type { Scenario } from './Scenario.ts';
import { kernelStackScenario } from './kernelStack.scenario.ts';
import { identityScenario } from './identity.scenario.ts';
import { nodeModulesScenario } from './nodeModules.scenario.ts';
import { lioIscsiScenario } from './lioIscsi.scenario.ts';
import { dataPathScenario } from './dataPath.scenario.ts';
import { lvmScenario } from './lvm.scenario.ts';
import { agentVolumesScenario } from './agentVolumes.scenario.ts';
import { agentStatusScenario } from './agentStatus.scenario.ts';
import { agentStuckUnexportScenario } from './agentStuckUnexport.scenario.ts';
import { agentProcessesScenario } from './agentProcesses.scenario.ts';
import { nodePluginScenario } from './nodePlugin.scenario.ts';
import { demoScenario } from './demo.scenario.ts';
import { kubernetesSequenceScenario } from './kubernetesSequence.scenario.ts';
import { kubernetesSequenceBlockRwxScenario } from './kubernetesSequenceBlockRwx.scenario.ts';
import { kubernetesSequenceAgentRestartScenario } from './kubernetesSequenceAgentRestart.scenario.ts';
import { controllerLoadPlacementScenario } from './controllerLoadPlacement.scenario.ts';
import { controllerBurstScenario } from './controllerBurst.scenario.ts';
import { controllerRestartScenario } from './controllerRestart.scenario.ts';
import { faultSuiteScenario } from './faultSuite.scenario.ts';
import { secretsScanScenario } from './secretsScan.scenario.ts';
import { csiSanityScenario } from './csiSanity.scenario.ts';
import { kubernetesClusterScenario } from './kubernetesCluster.scenario.ts';

/**
 * Every test-bed scenario, in the order the guest runs them. The guest runner and the host test
 * (e2e/vm.e2e.test.ts) both read this list. To add one: write `<name>.scenario.ts` exporting a
 * `Scenario`, and append it here. Keep kernelStackScenario first: it checks the bed itself.
 */
export const scenarios: readonly Scenario[] = [
  kernelStackScenario,
  identityScenario,
  nodeModulesScenario,
  lioIscsiScenario,
  dataPathScenario,
  lvmScenario,
  agentStatusScenario,
  agentVolumesScenario,
  agentStuckUnexportScenario,
  agentProcessesScenario,
  nodePluginScenario,
  demoScenario,
  kubernetesSequenceScenario,
  kubernetesSequenceBlockRwxScenario,
  kubernetesSequenceAgentRestartScenario,
  controllerLoadPlacementScenario,
  controllerBurstScenario,
  controllerRestartScenario,
  faultSuiteScenario,
  csiSanityScenario,
  // Late: it changes the guest (cgroup2, a bridge, an rshared kubelet directory) more than the others,
  // and the host's control plane stops once it is done (e2e/vm.e2e.test.ts).
  kubernetesClusterScenario,
  secretsScanScenario, // keep last: it scans the logs of every scenario before it
];
