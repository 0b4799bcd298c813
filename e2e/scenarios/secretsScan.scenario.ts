import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { argvSamplesPath, countIscsiadm, readArgvSamples } from '../support/argvSampler.ts';
import { checkCoverage } from '../support/secretCoverage.ts';
import type { SecretExpectation } from '../support/secretCoverage.ts';
import { ledgerPath, readLedger } from '../support/secretLedger.ts';
import type { LedgerEntry } from '../support/secretLedger.ts';
import { describeHit, scanForSecrets } from '../support/secretScan.ts';
import { listSuiteLogs, workRootOf } from '../support/suiteLogs.ts';
import { agentProcessesScenario } from './agentProcesses.scenario.ts';
import { agentVolumesScenario } from './agentVolumes.scenario.ts';
import { controllerBurstScenario } from './controllerBurst.scenario.ts';
import { controllerLoadPlacementScenario } from './controllerLoadPlacement.scenario.ts';
import { controllerRestartScenario } from './controllerRestart.scenario.ts';
import { dataPathScenario } from './dataPath.scenario.ts';
import { faultSuiteScenario } from './faultSuite.scenario.ts';
import { demoScenario } from './demo.scenario.ts';
import { identityScenario } from './identity.scenario.ts';
import { kubernetesClusterScenario } from './kubernetesCluster.scenario.ts';
import { kubernetesSequenceScenario } from './kubernetesSequence.scenario.ts';
import { kubernetesSequenceAgentRestartScenario } from './kubernetesSequenceAgentRestart.scenario.ts';
import { kubernetesSequenceBlockRwxScenario } from './kubernetesSequenceBlockRwx.scenario.ts';
import { lioIscsiScenario } from './lioIscsi.scenario.ts';
import { mirrorKernelScenario } from './mirrorKernel.scenario.ts';
import { replicationScenario } from './replication.scenario.ts';
import { nodePluginScenario } from './nodePlugin.scenario.ts';
import type { Scenario } from './Scenario.ts';

const ALL: SecretExpectation = { kinds: ['chap-key', 'chap-secret', 'tls-private-key'], driverProcesses: true };
const KEYS_ONLY: SecretExpectation = { kinds: ['chap-key', 'tls-private-key'], driverProcesses: true };

/**
 * What each scenario uses, so that a scan cannot pass because a scenario's recording got lost:
 * the kinds of secret it must have put in the ledger, and whether it starts driver processes
 * (whose logs must then be in the log dir). A scenario missing here is only noted in the log.
 */
const EXPECTATIONS = new Map<string, SecretExpectation>(
  ([
    [identityScenario, KEYS_ONLY],
    [lioIscsiScenario, { kinds: ['chap-secret'], driverProcesses: false }],
    [mirrorKernelScenario, { kinds: ['chap-secret'], driverProcesses: false }],
    [dataPathScenario, { kinds: ['chap-secret'], driverProcesses: false }],
    [agentVolumesScenario, { kinds: ['chap-key', 'chap-secret'], driverProcesses: false }],
    [agentProcessesScenario, ALL],
    [nodePluginScenario, { kinds: ['chap-key', 'chap-secret'], driverProcesses: false }],
    [demoScenario, ALL],
    [kubernetesSequenceScenario, ALL],
    [kubernetesSequenceBlockRwxScenario, ALL],
    [kubernetesSequenceAgentRestartScenario, ALL],
    [controllerLoadPlacementScenario, KEYS_ONLY],
    [controllerBurstScenario, KEYS_ONLY],
    [controllerRestartScenario, KEYS_ONLY],
    [replicationScenario, ALL],
    [faultSuiteScenario, ALL],
    [kubernetesClusterScenario, ALL],
  ] as const satisfies readonly (readonly [Scenario, SecretExpectation])[]).map(([s, e]) => [s.name, e]),
);

export const SECRETS_SCAN_SCENARIO_NAME = 'secrets scan: no CHAP key, CHAP password or TLS private key the suite used appears in any log it wrote or any command line it ran';

/**
 * Runs last. Every secret the suite made or was handed is in the run's ledger (CHAP keys, the
 * CHAP passwords of every publish_context, export and ACL the scenarios saw or chose, TLS private
 * keys; e2e/support/secretLedger.ts), and every log is in the suite's log dir (each scenario's log,
 * every driver process's stdout and stderr, CLI runs; e2e/support/suiteLogs.ts). This scans each
 * log for each secret in every form it could leak in (raw, hex, base64, PEM body lines, the DER,
 * JSON-escaped; e2e/support/secretScan.ts) and fails listing each hit by file, line and secret
 * label, never the secret. It also scans every command line the run's argv sampler saw
 * (e2e/support/argvSampler.ts polls /proc/<pid>/cmdline for the whole run) and requires it to have
 * seen iscsiadm runs whenever a scenario that logs in ran.
 *
 * It cannot pass vacuously (e2e/support/secretCoverage.ts): each scenario that ran must have
 * recorded at least one secret of each kind it is known to use (EXPECTATIONS) and, if it starts
 * driver processes, left their logs. An empty ledger fails whenever a scenario that uses secrets
 * ran; when nothing at all ran before it (VBS_E2E_ONLY picked only this scenario) it says so in
 * its log and passes, since nothing could have leaked.
 */
export const secretsScanScenario: Scenario = {
  name: SECRETS_SCAN_SCENARIO_NAME,
  timeoutMs: 240_000,
  async run(ctx) {
    const root = workRootOf(ctx.workDir);
    const ledger = readLedger(ledgerPath(root));
    const logs = listSuiteLogs(root);
    const ran = logs.scenarios.map((s) => s.name);
    const scenarioOf = new Map(logs.scenarios.map((s) => [s.scenarioDir, s.name]));
    const processLogs = new Map<string, number>();
    // Every command line seen during the run (/proc/*/cmdline, readable by any user of a host):
    // `iscsiadm -v <password>` would leak there without touching any log.
    const argvFile = argvSamplesPath(root);
    const samples = readArgvSamples(argvFile);
    const iscsiadmRuns = countIscsiadm(samples);
    const argvText = { file: `${argvFile} (/proc/*/cmdline samples)`, content: Buffer.from(samples.map((x) => x.argv.join(' ')).join('\n')) };
    const files = [...[...logs.scenarios, ...logs.processes].map((f) => ({ file: f.path, content: readFileSync(f.path) })), argvText];
    const sizes = new Map(files.map((f) => [f.file, f.content.length]));
    for (const p of logs.processes) {
      const owner = scenarioOf.get(p.scenarioDir);
      if (owner !== undefined && (sizes.get(p.path) ?? 0) > 0) processLogs.set(owner, (processLogs.get(owner) ?? 0) + 1);
    }
    ctx.log(`ledger: ${describeLedger(ledger)}`);
    ctx.log(`logs: ${logs.scenarios.length} scenario log(s), ${logs.processes.length} process log(s)`);
    ctx.log(`argv: ${samples.length} command line(s) sampled, ${iscsiadmRuns} of them iscsiadm`);
    for (const name of ran) ctx.log(`  ran: ${name} (${processLogs.get(name) ?? 0} process log(s))`);

    const coverage = checkCoverage({ self: SECRETS_SCAN_SCENARIO_NAME, ran, ledger, processLogs, expectations: EXPECTATIONS });
    for (const note of coverage.notes) ctx.log(`note: ${note}`);

    const started = performance.now();
    const report = scanForSecrets(uniqueSecrets(ledger), files);
    ctx.log(`scanned ${report.files} file(s), ${report.bytes} bytes, for ${report.secrets} secret(s) in ${Math.round(performance.now() - started)} ms: ${report.hits.length} hit(s)`);

    // A scan of argv that saw no iscsiadm proves nothing about CHAP passwords on command lines.
    const loggedIn = ran.filter((name) => EXPECTATIONS.get(name)?.kinds.includes('chap-secret'));
    const argvProblems = loggedIn.length > 0 && iscsiadmRuns === 0 ? [`the argv sampler saw no iscsiadm run although ${loggedIn.join(', ')} logged in`] : [];
    const failures = [
      ...coverage.problems.map((p) => `not covered: ${p}`),
      ...argvProblems.map((p) => `not covered: ${p}`),
      ...report.unscannable.map((u) => `too short to scan: ${u.kind} "${u.label}" (${u.preview})`),
      ...report.hits.map((h) => `LEAK ${describeHit(h)}`),
    ];
    for (const f of failures) ctx.log(f);
    assert.equal(failures.length, 0, `${failures.length} problem(s):\n${failures.join('\n')}`);
  },
};

/** One entry per secret (the same key or password may be recorded by several scenarios). */
function uniqueSecrets(ledger: readonly LedgerEntry[]): LedgerEntry[] {
  const seen = new Set<string>();
  return ledger.filter((e) => {
    const key = `${e.kind}\0${typeof e.value === 'string' ? `s:${e.value}` : `b:${e.value.toString('base64')}`}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describeLedger(ledger: readonly LedgerEntry[]): string {
  if (ledger.length === 0) return 'empty';
  const counts = new Map<string, number>();
  for (const e of ledger) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ');
}
