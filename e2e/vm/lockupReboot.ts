/**
 * When the test bed boots a fresh VM after the guest kernel locked up (docs/test-bed.md): only for a
 * soft lockup the kernel itself reported (its panic ends qemu, e2e/vm/qemu.ts), only once per run, and
 * only with time left for the boot and the scenario. A product failure never matches, and a scenario
 * that locks the kernel up again fails: the reboot covers an emulator that hung once, not a driver.
 */
export const SOFT_LOCKUP_PANIC = /Kernel panic - not syncing: softlockup: hung tasks|BUG: soft lockup - CPU#\d+ stuck/;

export interface RebootQuestion {
  /** The console's soft lockup line, if it has one. */
  readonly lockupLine: string | undefined;
  readonly qemuHasExited: boolean;
  readonly rebootsSoFar: number;
  readonly msLeftInRun: number;
  /** A boot to "scenarios started" plus the scenario's own deadline. */
  readonly msNeeded: number;
}

export const MAX_LOCKUP_REBOOTS = 1;

/** Pure: undefined when the bed may boot again, else why not (for the failure message). */
export function whyNoReboot(q: RebootQuestion): string | undefined {
  if (q.lockupLine === undefined) return 'the guest kernel did not report a soft lockup';
  if (!q.qemuHasExited) return 'qemu is still running';
  if (q.rebootsSoFar >= MAX_LOCKUP_REBOOTS) return `the bed already booted again ${q.rebootsSoFar} time(s) after a lockup in this run`;
  if (q.msLeftInRun < q.msNeeded) return `only ${Math.round(q.msLeftInRun / 1000)} s left in the run, ${Math.round(q.msNeeded / 1000)} s needed`;
  return undefined;
}

/** The `only` filter that selects exactly `names` (the guest matches substrings joined by "|"). */
export function onlyFilterFor(names: readonly string[], allNames: readonly string[]): string {
  for (const name of names) {
    if (name.includes('|')) throw new Error(`scenario name ${JSON.stringify(name)} contains "|", which the filter uses to join names`);
    const alsoMatched = allNames.filter((other) => other !== name && other.includes(name) && !names.includes(other));
    if (alsoMatched.length > 0) throw new Error(`scenario name ${JSON.stringify(name)} is part of ${JSON.stringify(alsoMatched)}: a filter by name would run those too`);
  }
  return names.join('|');
}
