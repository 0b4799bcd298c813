/**
 * The contract every test-bed scenario follows. Scenarios run inside the guest VM (real kernel,
 * lvm2, open-iscsi, udev), one after another, each with its own deadline; the host reports each
 * as its own test. Register new ones in ./index.ts.
 */
import type { ClusterInfo } from '../cluster/clusterInfo.ts';

export interface ScenarioContext {
  readonly projectRoot: string;
  /** a fresh directory for this scenario's files (loop images, sockets) */
  readonly workDir: string;
  readonly signal: AbortSignal; // aborted at the scenario's deadline
  /** name → binary path of the Go tools (scripts/build-go-tools.ts) the selected scenarios asked for */
  readonly goTools: Readonly<Record<string, string>>;
  /** The host's control plane and the node's images, when a selected scenario asked for them (needsCluster). */
  readonly cluster: ClusterInfo | undefined;
  log(message: string): void; // goes into the scenario's log, shown on failure
}

export interface Scenario {
  readonly name: string; // a sentence, shown as the test name
  readonly timeoutMs: number;
  /** Runs the OCI image of `npm run image`: the host builds it (or finds it up to date) before the VM boots. */
  readonly needsImage?: boolean;
  /** Go tools it runs (names in scripts/build-go-tools.ts): the host builds them (or finds them built) before the VM boots. */
  readonly goTools?: readonly string[];
  /**
   * Runs against a real Kubernetes cluster: the host starts its control plane and prepares the node's
   * images before the VM boots, and gives the VM a network to reach them (docs/kubernetes-test-bed.md).
   */
  readonly needsCluster?: boolean;
  run(ctx: ScenarioContext): Promise<void>; // throw (e.g. assert) to fail
}
