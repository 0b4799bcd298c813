/**
 * The contract every test-bed scenario follows. Scenarios run inside the guest VM (real kernel,
 * lvm2, open-iscsi, udev), one after another, each with its own deadline; the host reports each
 * as its own test. Register new ones in ./index.ts.
 */
export interface ScenarioContext {
  readonly projectRoot: string;
  /** a fresh directory for this scenario's files (loop images, sockets) */
  readonly workDir: string;
  readonly signal: AbortSignal; // aborted at the scenario's deadline
  /** name → binary path of the Go tools (scripts/build-go-tools.ts) the selected scenarios asked for */
  readonly goTools: Readonly<Record<string, string>>;
  log(message: string): void; // goes into the scenario's log, shown on failure
}

export interface Scenario {
  readonly name: string; // a sentence, shown as the test name
  readonly timeoutMs: number;
  /** Runs the OCI image of `npm run image`: the host builds it (or finds it up to date) before the VM boots. */
  readonly needsImage?: boolean;
  /** Go tools it runs (names in scripts/build-go-tools.ts): the host builds them (or finds them built) before the VM boots. */
  readonly goTools?: readonly string[];
  run(ctx: ScenarioContext): Promise<void>; // throw (e.g. assert) to fail
}
