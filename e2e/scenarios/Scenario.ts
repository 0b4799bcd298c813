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
  log(message: string): void; // goes into the scenario's log, shown on failure
}

export interface Scenario {
  readonly name: string; // a sentence, shown as the test name
  readonly timeoutMs: number;
  /** Runs the OCI image of `npm run image`: the host builds it (or finds it up to date) before the VM boots. */
  readonly needsImage?: boolean;
  run(ctx: ScenarioContext): Promise<void>; // throw (e.g. assert) to fail
}
