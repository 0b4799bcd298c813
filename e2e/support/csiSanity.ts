/**
 * Pure helpers for running csi-sanity (github.com/kubernetes-csi/csi-test, built by
 * scripts/build-go-tools.ts) and judging its ginkgo JSON report (`--ginkgo.json-report`), for
 * e2e/scenarios/csiSanity.scenario.ts. What is skipped, and why, is docs/conformance.md.
 */

export type SanityAccessType = 'mount' | 'block';

export interface SanityRunOptions {
  /** unix:///path of the driver's CSI socket (Identity, Controller and Node on one endpoint) */
  readonly endpoint: string;
  readonly accessType: SanityAccessType;
  /** created by csi-sanity before each spec and removed after it, so it must not exist; its parent must */
  readonly mountDir: string;
  readonly stagingDir: string;
  readonly volumeSizeBytes: number;
  readonly expandSizeBytes: number;
  readonly jsonReportPath: string;
  /** ginkgo's own suite deadline; the caller's process deadline should be a little longer */
  readonly suiteTimeoutS: number;
}

/** csi-sanity's command line (flag names as `csi-sanity --help` of v5.6.0 prints them). */
export function csiSanityArgs(o: SanityRunOptions): string[] {
  for (const [name, bytes] of [['volumeSizeBytes', o.volumeSizeBytes], ['expandSizeBytes', o.expandSizeBytes]] as const) {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`${name} must be a positive whole number of bytes, got ${bytes}`);
  }
  if (o.expandSizeBytes <= o.volumeSizeBytes) throw new Error(`expandSizeBytes (${o.expandSizeBytes}) must exceed volumeSizeBytes (${o.volumeSizeBytes})`);
  if (!o.endpoint.startsWith('unix:///')) throw new Error(`endpoint must be unix:///<absolute path>, got ${o.endpoint}`);
  if (!Number.isInteger(o.suiteTimeoutS) || o.suiteTimeoutS <= 0) throw new Error(`suiteTimeoutS must be a positive whole number, got ${o.suiteTimeoutS}`);
  return [
    `--csi.endpoint=${o.endpoint}`,
    `--csi.testvolumeaccesstype=${o.accessType}`,
    `--csi.mountdir=${o.mountDir}`,
    `--csi.stagingdir=${o.stagingDir}`,
    `--csi.testvolumesize=${o.volumeSizeBytes}`,
    `--csi.testvolumeexpandsize=${o.expandSizeBytes}`,
    // Runs the attach-limit spec; it skips itself while NodeGetInfo reports no max_volumes_per_node.
    '--csi.testnodevolumeattachlimit',
    `--ginkgo.json-report=${o.jsonReportPath}`,
    `--ginkgo.timeout=${o.suiteTimeoutS}s`,
    // A spec stuck for a minute prints where it is, so a hang shows in the log before the deadline.
    '--ginkgo.poll-progress-after=60s',
    '--ginkgo.no-color',
  ];
}

export interface SpecOutcome {
  /** containers and leaf text joined, as ginkgo prints them */
  readonly name: string;
  readonly state: string;
  /** the failure or skip message, first line */
  readonly message: string | undefined;
}

export interface SanitySummary {
  readonly suiteSucceeded: boolean;
  /** ginkgo's order seed (`--ginkgo.seed` repeats the order), undefined when the report lacks it */
  readonly randomSeed: number | undefined;
  /** specs ginkgo meant to run (all but pending ones) */
  readonly specsThatWillRun: number;
  readonly passed: readonly SpecOutcome[];
  readonly failed: readonly SpecOutcome[];
  readonly skipped: readonly SpecOutcome[];
  readonly pending: readonly SpecOutcome[];
}

const FAILED_STATES = new Set(['failed', 'panicked', 'aborted', 'interrupted', 'timedout']);

interface GinkgoSpecReport {
  readonly ContainerHierarchyTexts?: readonly string[] | null;
  readonly LeafNodeType?: string;
  readonly LeafNodeText?: string;
  readonly State?: string;
  readonly Failure?: { readonly Message?: string } | null;
}

interface GinkgoSuiteReport {
  readonly SuiteSucceeded?: boolean;
  readonly PreRunStats?: { readonly SpecsThatWillRun?: number };
  readonly SuiteConfig?: { readonly RandomSeed?: number };
  readonly SpecReports?: readonly GinkgoSpecReport[] | null;
}

/**
 * A ginkgo JSON report (an array of suite reports; csi-sanity writes one suite) → outcomes by state.
 * Only `It` nodes are specs; a suite-level node (BeforeSuite, ReportAfterSuite, ...) that failed counts
 * as a failed spec named by its type, since it fails the run just the same.
 */
export function summarizeGinkgoReport(report: unknown): SanitySummary {
  if (!Array.isArray(report) || report.length !== 1) throw new Error(`a ginkgo JSON report holds one suite here, got ${Array.isArray(report) ? `${report.length} suites` : typeof report}`);
  const suite = report[0] as GinkgoSuiteReport;
  const specsThatWillRun = suite.PreRunStats?.SpecsThatWillRun;
  if (!Array.isArray(suite.SpecReports) || typeof specsThatWillRun !== 'number') throw new Error('not a ginkgo suite report: no SpecReports or PreRunStats.SpecsThatWillRun');
  const passed: SpecOutcome[] = [];
  const failed: SpecOutcome[] = [];
  const skipped: SpecOutcome[] = [];
  const pending: SpecOutcome[] = [];
  for (const spec of suite.SpecReports) {
    const isSpec = spec.LeafNodeType === 'It';
    const name = isSpec ? [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText ?? ''].join(' ') : `[${spec.LeafNodeType ?? 'unknown node'}]`;
    const state = spec.State ?? 'unknown';
    const message = spec.Failure?.Message?.split('\n')[0];
    const outcome: SpecOutcome = { name, state, message };
    if (FAILED_STATES.has(state) || state === 'unknown') failed.push(outcome);
    else if (!isSpec) continue;
    else if (state === 'passed') passed.push(outcome);
    else if (state === 'skipped') skipped.push(outcome);
    else if (state === 'pending') pending.push(outcome);
    else failed.push(outcome);
  }
  return { suiteSucceeded: suite.SuiteSucceeded === true, randomSeed: suite.SuiteConfig?.RandomSeed, specsThatWillRun, passed, failed, skipped, pending };
}

/** A spec the driver honestly cannot run, matched by its full name; docs/conformance.md lists the same. */
export interface ExpectedSkip {
  readonly spec: RegExp;
  readonly reason: string;
}

/**
 * Why a run is not a pass, empty when it is: a failed spec, a suite ginkgo failed, a spec that neither
 * passed nor was an expected skip (so one that stopped running shows), an expected skip that ran (so
 * the list and docs/conformance.md stay true), or fewer passes than the specs ginkgo meant to run
 * minus the expected skips.
 */
export function sanityProblems(summary: SanitySummary, expectedSkips: readonly ExpectedSkip[]): string[] {
  const problems: string[] = [];
  for (const spec of summary.failed) problems.push(`failed (${spec.state}): ${spec.name}${spec.message ? `: ${spec.message}` : ''}`);
  for (const spec of summary.skipped) {
    if (!expectedSkips.some((e) => e.spec.test(spec.name))) problems.push(`skipped, and not an expected skip: ${spec.name}${spec.message ? ` (${spec.message})` : ''}`);
  }
  for (const expected of expectedSkips) {
    const ran = summary.passed.find((s) => expected.spec.test(s.name));
    if (ran) problems.push(`expected to be skipped (${expected.reason}) but passed: ${ran.name}; update the list and docs/conformance.md`);
  }
  const skippedAsExpected = summary.skipped.filter((s) => expectedSkips.some((e) => e.spec.test(s.name))).length;
  const mustPass = summary.specsThatWillRun - skippedAsExpected;
  if (summary.passed.length < mustPass) problems.push(`${summary.passed.length} specs passed, expected at least ${mustPass} (${summary.specsThatWillRun} to run, ${skippedAsExpected} skipped as expected)`);
  if (summary.passed.length === 0) problems.push('no spec passed');
  if (!summary.suiteSucceeded && problems.length === 0) problems.push('ginkgo reports the suite failed, though no spec did');
  return problems;
}
