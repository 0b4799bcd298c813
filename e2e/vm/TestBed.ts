import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { GO_TOOLS_FILE_NAME, RESULTS_FILE_NAME, isScenarioResult, parseResultsFile } from '../resultsFile.ts';
import type { FatalLine, ResultsFileLine, ScenarioResultLine, StartedLine } from '../resultsFile.ts';
import { FIRST_INIT_MARKER, bootVm } from './bootVm.ts';
import { buildInitramfs } from './initramfs.ts';
import type { Initramfs } from './initramfs.ts';
import { findGuestKernel } from './kernel.ts';
import type { GuestKernel } from './kernel.ts';
import { SOFT_LOCKUP_PANIC } from './lockupReboot.ts';
import { pollUntil } from './poll.ts';
import { QEMU_BINARY, describeQemuExit } from './qemu.ts';
import type { GuestForward, QemuProcess } from './qemu.ts';
import { CLUSTER_FILE_NAME } from '../cluster/clusterInfo.ts';
import type { ClusterInfo } from '../cluster/clusterInfo.ts';
import type { E2eSettings } from './settings.ts';

/** From qemu's start to the runner's first line; boots took 9-38 s to "kernel stack up" on a shared 2-core host (docs/test-bed.md). */
const BOOT_TIMEOUT_MS = 600_000;
const CONSOLE_TAIL_LINES = 150;
/**
 * The kernel's own alarm lines. With softlockup_panic (qemu.ts) a lockup's "BUG:" line is followed by
 * the panic and the stuck CPU's stack, which 80 lines cover.
 */
const KERNEL_TROUBLE = /BUG: |Oops: |Kernel panic - not syncing/;
const KERNEL_TROUBLE_LINES = 80;
const RUN_DIRS_KEPT = 10;
const POWEROFF_WAIT_MS = 20_000;
export const STALE_AFTER_MS = 2 * 60 * 60 * 1000;
const KERNEL_STACK_MARKER = /^vbs-e2e: stage kernel stack up/;

export interface TestBedOptions {
  readonly projectRoot: string;
  readonly settings: E2eSettings;
  /** Absolute (Date.now()) deadline for the whole run. */
  readonly deadlineMs: number;
  /** A project-relative module whose `scenarios` the guest runs instead of e2e's (bench/scenarios/index.ts). */
  readonly registry?: string;
  /** name → path of the Go tools the host built for the selected scenarios (scripts/build-go-tools.ts) */
  readonly goTools?: Readonly<Record<string, string>>;
  /** Guest addresses forwarded to host ports (e2e/vm/qemu.ts); none: no network device. */
  readonly guestForwards?: readonly GuestForward[];
  /** The host's cluster for the cluster scenarios, written as cluster.json for the guest (e2e/cluster/clusterInfo.ts). */
  readonly cluster?: ClusterInfo;
}

export interface BootReport {
  readonly accel: 'tcg' | 'kvm';
  readonly kvmFallbackReason: string | undefined;
  readonly initramfs: Initramfs;
  readonly kernelVersion: string;
  /** qemu start → init.sh's first marker. */
  readonly toInitMs: number | undefined;
  /** qemu start → boot.sh's "kernel stack up" (udev, modules, iscsid ready). */
  readonly toKernelStackMs: number | undefined;
  /** qemu start → the runner's first line in the results file. */
  readonly toRunnerMs: number;
}

/**
 * One VM booted for all scenarios, and the host's view of its results file. The run directory
 * (.e2e-work/run-<timestamp>/) keeps console.log and results.jsonl after the run.
 */
export class TestBed {
  readonly runDir: string;
  readonly qemu: QemuProcess;
  readonly boot: BootReport;

  private constructor(runDir: string, qemu: QemuProcess, boot: BootReport) {
    this.runDir = runDir;
    this.qemu = qemu;
    this.boot = boot;
  }

  /**
   * 1. checks that qemu, busybox and the guest kernel are installed;
   * 2. builds or reuses the initramfs in .e2e-work/;
   * 3. creates the run directory (the guest's writable "out" share) and writes the scenario filter;
   * 4. boots the VM and waits until the guest runner writes its first line (or fails).
   * On failure qemu is stopped and the error carries the console's tail.
   */
  static async start(opts: TestBedOptions): Promise<TestBed> {
    const kernel = await checkPrerequisites();
    const workRoot = path.join(opts.projectRoot, '.e2e-work');
    const initramfs = await buildInitramfs(kernel, workRoot);
    const runDir = createRunDir(workRoot);
    if (opts.settings.only !== undefined) writeFileSync(path.join(runDir, 'only.txt'), opts.settings.only);
    if (opts.registry !== undefined) writeFileSync(path.join(runDir, 'registry.txt'), opts.registry);
    if (opts.cluster !== undefined) writeFileSync(path.join(runDir, CLUSTER_FILE_NAME), `${JSON.stringify(opts.cluster)}\n`);
    if (opts.goTools !== undefined) writeFileSync(path.join(runDir, GO_TOOLS_FILE_NAME), `${JSON.stringify(opts.goTools)}\n`);

    const { qemu, kvmFallbackReason } = await bootVm({
      config: { kernelImagePath: kernel.imagePath, initramfsPath: initramfs.path, projectRoot: opts.projectRoot, outDir: runDir, ...(opts.guestForwards ? { guestForwards: opts.guestForwards } : {}) },
      requestedAccel: opts.settings.accel,
      runDir,
      deadlineMs: opts.deadlineMs,
      ...(opts.settings.isConsoleEchoed ? { echo: (text: string) => process.stderr.write(text) } : {}),
    });
    try {
      await pollUntil(
        () => {
          const lines = readResults(runDir);
          const fatal = lines.find((line): line is FatalLine => 'fatal' in line);
          if (fatal) throw new Error(`the guest failed before running scenarios: ${fatal.fatal}`);
          if (lines.length > 0) return true;
          if (qemu.exit) throw new Error(`${describeQemuExit(qemu.exit)} before the scenario runner started`);
          return undefined;
        },
        {
          deadlineMs: Math.min(Date.now() + BOOT_TIMEOUT_MS, opts.deadlineMs),
          what: `the guest to boot and start the scenario runner (boot limit ${BOOT_TIMEOUT_MS / 1000} s, run limit VBS_E2E_TIMEOUT_S=${opts.settings.totalTimeoutMs / 1000})`,
        },
      );
    } catch (err: unknown) {
      await qemu.stop();
      throw new Error(describeFailure(qemu, runDir, err instanceof Error ? err.message : String(err)));
    }
    const boot: BootReport = {
      accel: qemu.accel,
      kvmFallbackReason,
      initramfs,
      kernelVersion: kernel.version,
      toInitMs: qemu.console.find(FIRST_INIT_MARKER)?.atMs,
      toKernelStackMs: qemu.console.find(KERNEL_STACK_MARKER)?.atMs,
      toRunnerMs: qemu.console.elapsedMs(),
    };
    return new TestBed(runDir, qemu, boot);
  }

  /**
   * Waits for the named scenario's verdict. Fails early when the guest reported a fatal error,
   * finished without this scenario, or qemu is gone.
   */
  async waitForResult(name: string, deadlineMs: number): Promise<ScenarioResultLine> {
    return pollUntil(
      () => {
        const lines = readResults(this.runDir);
        const result = lines.filter(isScenarioResult).find((line) => line.name === name);
        if (result) return result;
        const fatal = lines.find((line): line is FatalLine => 'fatal' in line);
        if (fatal) throw new Error(`the guest reported a fatal error: ${fatal.fatal}`);
        if (lines.some((line) => 'done' in line)) throw new Error('the guest runner finished without running this scenario');
        // Read once more after qemu is gone: the last line may have landed just before it exited.
        if (this.qemu.exit) {
          const late = readResults(this.runDir).filter(isScenarioResult).find((line) => line.name === name);
          if (late) return late;
          this.throwIfQemuExited(`before this scenario's result (${this.startedScenario() ?? 'no scenario started'})`);
        }
        return undefined;
      },
      { deadlineMs, what: `the result of "${name}"`, intervalMs: 500 },
    );
  }

  readResults(): ResultsFileLine[] {
    return readResults(this.runDir);
  }

  /** The guest kernel's soft lockup report, if the console has one (e2e/vm/lockupReboot.ts). */
  kernelLockupLine(): string | undefined {
    return this.qemu.console.find(SOFT_LOCKUP_PANIC)?.text;
  }

  /** A failure message with everything needed to debug from CI output alone. */
  describeFailure(summary: string, result?: ScenarioResultLine): string {
    return describeFailure(this.qemu, this.runDir, summary, result);
  }

  /**
   * Ends the VM. After the runner's "done" line the guest powers itself off (init.sh), so give it
   * a moment to do that cleanly; otherwise, or if it does not, kill qemu.
   */
  async stop(): Promise<void> {
    if (this.qemu.exit === undefined && readResults(this.runDir).some((line) => 'done' in line)) {
      await pollUntil(() => (this.qemu.exit ? true : undefined), {
        deadlineMs: Date.now() + POWEROFF_WAIT_MS,
        what: 'the guest to power off',
      }).catch(() => undefined);
    }
    await this.qemu.stop();
  }

  private throwIfQemuExited(when: string): void {
    if (this.qemu.exit) throw new Error(`${describeQemuExit(this.qemu.exit)} ${when}`);
  }

  private startedScenario(): string | undefined {
    const started = readResults(this.runDir).filter((line): line is StartedLine => 'started' in line);
    return started.at(-1)?.started;
  }
}

/** Fails fast, naming what is missing and how to get it. */
async function checkPrerequisites(): Promise<GuestKernel> {
  const problems: string[] = [];
  const qemu = await execa(QEMU_BINARY, ['--version'], { reject: false, timeout: 30_000, stdin: 'ignore' });
  if (qemu.exitCode !== 0) problems.push(`${QEMU_BINARY} does not run (${qemu.originalMessage ?? `exit ${qemu.exitCode}`})`);
  if (!existsSync('/bin/busybox')) problems.push('/bin/busybox (busybox-static) is missing');
  const kernel = findGuestKernel();
  if (kernel === undefined) problems.push('no /boot/vmlinuz-<ver> with /lib/modules/<ver>/kernel (linux-image-amd64)');
  if (problems.length > 0 || kernel === undefined) {
    throw new Error(`the test bed cannot start:\n  - ${problems.join('\n  - ')}\nrun \`npm run e2e:setup\` as root (Debian 12) first`);
  }
  return kernel;
}

/**
 * A fresh run-<timestamp> directory. Old ones are pruned to the newest RUN_DIRS_KEPT, but never
 * one touched in the last STALE_AFTER_MS: several people (and CI) may run the bed at once from
 * the same checkout, and a live run's directory is its VM's results share.
 */
function createRunDir(workRoot: string): string {
  mkdirSync(workRoot, { recursive: true });
  const oldRuns = readdirSync(workRoot).filter((name) => name.startsWith('run-')).sort();
  for (const old of oldRuns.slice(0, Math.max(0, oldRuns.length - (RUN_DIRS_KEPT - 1)))) {
    const oldDir = path.join(workRoot, old);
    if (isStale(oldDir)) rmSync(oldDir, { recursive: true, force: true });
  }
  const runDir = path.join(workRoot, `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runDir);
  return runDir;
}

function isStale(dir: string): boolean {
  const newestMs = Math.max(
    ...[dir, ...readdirSync(dir).map((name) => path.join(dir, name))].map((p) => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? 0),
  );
  return Date.now() - newestMs > STALE_AFTER_MS;
}

function readResults(runDir: string): ResultsFileLine[] {
  const resultsPath = path.join(runDir, RESULTS_FILE_NAME);
  if (!existsSync(resultsPath)) return [];
  return parseResultsFile(readFileSync(resultsPath, 'utf8'));
}

function describeFailure(qemu: QemuProcess, runDir: string, summary: string, result?: ScenarioResultLine): string {
  const sections = [summary];
  if (result?.error !== undefined) sections.push(`--- scenario error ---\n${result.error}`);
  if (result !== undefined) sections.push(`--- scenario log (${result.log.length} lines) ---\n${result.log.join('\n')}`);
  sections.push(
    `--- last ${CONSOLE_TAIL_LINES} lines of the guest console (full log: ${qemu.console.filePath}) ---\n` +
      qemu.console.tail(CONSOLE_TAIL_LINES).join('\n'),
  );
  // A guest kernel that locked up or oopsed explains every failure after it; its traces are not in the tail.
  const kernelTrouble = qemu.console.linesFrom(KERNEL_TROUBLE, KERNEL_TROUBLE_LINES);
  if (kernelTrouble.length > 0) sections.push(`--- the guest kernel's first lockup, oops or panic (${KERNEL_TROUBLE_LINES} lines at most) ---\n${kernelTrouble.join('\n')}`);
  sections.push(`--- run directory: ${runDir} ---`);
  // CI shows only the end of a failure's output: say again, last, what failed.
  if (result?.error !== undefined) sections.push(`--- scenario error (again) ---\n${result.error.split('\n').slice(0, 20).join('\n')}`);
  return sections.join('\n');
}
