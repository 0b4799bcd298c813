/**
 * Memory of the controller and node roles with 0 and with N (default 1000) volumes known
 * (issue 7). Host-side, no VM, no kernel storage: each role runs as its own process
 * (node_modules/.bin/node src/main.ts <role>), and its VmRSS is sampled from /proc while a CO-like
 * workload runs, then its VmHWM read. Both conditions run in the same invocation, alternating
 * which goes first, `--repeat` times each.
 *
 *   npm run bench:memory -- [--volumes N] [--repeat N] [--rounds N] [--burst N] [--out FILE]
 *
 * - controller: three real storage agents in this process (AgentVolumes + NodeStatusReporter over
 *   the in-memory LVM and simulated LIO configfs, behind the real agent gRPC service with mutual
 *   TLS) hold the volumes, some snapshots and ACLs, all made before the controller starts;
 * - node: its --state-dir holds a stage record per volume, written by the node's StageRecordStore.
 * The table is printed; the JSON (figures, every run, call outcomes, machine) goes to
 * bench/results/ (git-ignored).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { makeClusterCertificates } from '../../e2e/support/clusterCertificates.ts';
import { prepareStagedVolumes } from './nodeWorkload.ts';
import { formatMemoryTable, memoryRows } from './report.ts';
import type { RoleRun } from './report.ts';
import { runController, runNode } from './roleRuns.ts';
import type { RunSettings } from './roleRuns.ts';
import { BENCH_WORKER_IQN, startSimulatedAgents } from './simulatedAgents.ts';

const AGENTS = ['store-a', 'store-b', 'store-c'];
const SNAPSHOT_EVERY = 10;
const PUBLISH_EVERY = 4;

const { values } = parseArgs({
  options: { volumes: { type: 'string' }, repeat: { type: 'string' }, rounds: { type: 'string' }, burst: { type: 'string' }, out: { type: 'string' } },
});
const count = (name: string, text: string | undefined, fallback: number, min: number): number => {
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`--${name} must be a whole number >= ${min}, got ${text}\n`);
    process.exit(2);
  }
  return n;
};
const many = count('volumes', values.volumes, 1000, 1);
const repeat = count('repeat', values.repeat, 3, 1);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const workDir = await mkdtemp(join(tmpdir(), 'vbs-bench-memory-'));
const settings: RunSettings = {
  projectRoot,
  workDir,
  rounds: count('rounds', values.rounds, 2, 1),
  burst: count('burst', values.burst, 100, 0),
  pageSize: 100,
  concurrency: 16,
  sampleIntervalMs: 20,
};

const cleanup: (() => Promise<void>)[] = [async () => rm(workDir, { recursive: true, force: true })];
try {
  const started = Date.now();
  process.stderr.write(`preparing: ${AGENTS.length} agents with ${many} volumes (a snapshot every ${SNAPSHOT_EVERY}, published every ${PUBLISH_EVERY}), ${many} stage records...\n`);
  const certs = await makeClusterCertificates(join(workDir, 'certs'), AGENTS.map((name) => ({ name, ip: '127.0.0.1' })), [BENCH_WORKER_IQN]);
  const agentsWith = async (volumes: number) => {
    const agents = await startSimulatedAgents({ names: AGENTS, volumes, snapshotEvery: SNAPSHOT_EVERY, publishEvery: PUBLISH_EVERY, certs });
    cleanup.unshift(() => agents.close());
    return agents;
  };
  const empty = await agentsWith(0);
  const full = await agentsWith(many);
  const staged = async (dir: string, writeRecords: boolean) => {
    const stateDir = join(workDir, dir, 'state');
    return { stateDir, volumes: await prepareStagedVolumes({ volumeIds: full.volumeIds, root: join(workDir, dir, 'kubelet'), stateDir, initiatorName: BENCH_WORKER_IQN, writeRecords }) };
  };
  const nodeFew = await staged('node-0', false);
  const nodeMany = await staged(`node-${many}`, true);
  process.stderr.write(`prepared in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  const runs: RoleRun[] = [];
  for (let repetition = 0; repetition < repeat; repetition++) {
    const order = repetition % 2 === 0 ? [0, many] : [many, 0];
    for (const volumes of order) {
      process.stderr.write(`repetition ${repetition + 1}/${repeat}: controller with ${volumes} volumes\n`);
      runs.push(await runController(settings, { volumes, repetition }, volumes === 0 ? empty : full, certs, full.volumeIds));
    }
    for (const volumes of order) {
      process.stderr.write(`repetition ${repetition + 1}/${repeat}: node with ${volumes} stage records\n`);
      const node = volumes === 0 ? nodeFew : nodeMany;
      runs.push(await runNode(settings, { volumes, repetition }, node.stateDir, node.volumes, certs));
    }
  }

  const rows = memoryRows(runs, 0, many);
  const machine = {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memTotalMiB: Math.round(totalmem() / 1024 ** 2),
    kernel: release(),
    nodeVersion: (await execa(join(projectRoot, 'node_modules/.bin/node'), ['--version'])).stdout.trim(),
  };
  const date = new Date().toISOString();
  const notes = [
    `controller, each round: ListVolumes and ListSnapshots paged to the end (max_entries ${settings.pageSize}), ControllerGetVolume for each of the ${many} volume ids ` +
      `(${settings.concurrency} in flight; NOT_FOUND with 0 volumes), GetCapacity, ${settings.burst} concurrent CreateVolume then DeleteVolume of each. ` +
      `With ${many}: ${full.snapshotIds.length} snapshots, every ${PUBLISH_EVERY}th volume published. The agents run in the harness process and are not measured.`,
    `node, each round: NodeGetInfo, NodeGetCapabilities, then per volume (${settings.concurrency} in flight) NodeGetCapabilities, NodeGetVolumeStats (stage record, ` +
      `then statfs of the staging directory) and NodeGetVolumeHealth (stage record, then iscsiadm, dmsetup and findmnt on this host). With 0 volumes the same ` +
      `ids and paths have no record: NOT_FOUND after the record lookup.`,
    'node: the role never reads its stage records at start (createNodeService only creates --state-dir; StageRecordStore has no listing); ' +
      'each call reads the one record it needs, by volume id. Records on disk cost it nothing until asked for.',
    'both: --log-level info (one JSON line per call, to a pipe the harness drains), no --metrics-address; VmHWM counts from process start, startup included.',
  ];
  const title = `memory of the controller and node roles, 0 vs ${many} volumes: ${repeat} repetition(s) of ${settings.rounds} round(s); median (min-max) MiB`;
  const calls = (role: string, volumes: number) => runs.find((r) => r.role === role && r.volumes === volumes && r.repetition === 0)?.calls;
  const callLines = ['controller', 'node'].flatMap((role) => [0, many].map((v) => `  ${role}, ${v} volumes, repetition 1: ${JSON.stringify(calls(role, v))}`));
  const machineLine = `machine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memTotalMiB} MiB, Linux ${machine.kernel}, Node ${machine.nodeVersion}, ${date}`;
  process.stdout.write(`${[title, machineLine, '', formatMemoryTable(rows, 0, many), '', ...notes.map((n) => `- ${n}`), '', 'call outcomes:', ...callLines].join('\n')}\n`);

  const out = values.out ?? join(projectRoot, 'bench', 'results', `memory-${date.replace(/[:.]/g, '-')}.json`);
  await mkdir(join(out, '..'), { recursive: true });
  const settingsJson = { volumes: many, repeat, ...settings, projectRoot: undefined, workDir: undefined, agents: AGENTS.length, snapshotEvery: SNAPSHOT_EVERY, publishEvery: PUBLISH_EVERY };
  await writeFile(out, `${JSON.stringify({ benchmark: 'role-memory', date, machine, settings: settingsJson, conditions: { few: 0, many }, rows, notes, runs }, null, 2)}\n`);
  process.stdout.write(`\nJSON: ${out}\n`);
} finally {
  for (const step of cleanup) await step().catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
}
