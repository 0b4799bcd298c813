import type { SecretKind } from './secretLedger.ts';

/** What a scenario is known to use: the secret kinds it must have recorded, and whether it starts driver processes. */
export interface SecretExpectation {
  readonly kinds: readonly SecretKind[];
  readonly driverProcesses: boolean;
}

export interface CoverageInput {
  /** The scenario doing the scan (left out of every rule). */
  readonly self: string;
  /** The scenarios that ran in this suite run (their logs are there), in order. */
  readonly ran: readonly string[];
  readonly ledger: readonly { readonly kind: SecretKind; readonly scenario: string }[];
  /** Non-empty process log files per scenario name. */
  readonly processLogs: ReadonlyMap<string, number>;
  readonly expectations: ReadonlyMap<string, SecretExpectation>;
}

export interface Coverage {
  /** Why a clean scan would prove nothing: each one fails the scan. */
  readonly problems: readonly string[];
  /** What the scan does not cover, for the log. */
  readonly notes: readonly string[];
}

/**
 * Pure: is the scan of this run meaningful? A scan with nothing to look for, or nowhere to look,
 * passes vacuously, so:
 *  - every scenario that ran and is known to use a kind of secret must have recorded at least
 *    one of that kind (else its recording calls were lost, and its secrets go unchecked);
 *  - every scenario that ran and is known to start driver processes must have left at least one
 *    non-empty process log (else their output was not persisted);
 *  - the ledger may be empty only when no scenario that uses secrets ran; when nothing at all ran
 *    before the scan (VBS_E2E_ONLY picked only it) that is said, and the scan passes: there was
 *    nothing to leak.
 * Scenarios without an expectation (the bed's own checks, or one added later) are listed in the notes.
 */
export function checkCoverage(input: CoverageInput): Coverage {
  const problems: string[] = [];
  const notes: string[] = [];
  const others = input.ran.filter((name) => name !== input.self);
  if (others.length === 0) {
    notes.push(input.ledger.length === 0 ? 'no other scenario ran in this run and the ledger is empty: there was nothing to leak' : 'no other scenario ran in this run');
  }
  for (const name of others) {
    const expected = input.expectations.get(name);
    const recorded = new Set(input.ledger.filter((e) => e.scenario === name).map((e) => e.kind));
    if (!expected) {
      notes.push(`"${name}" has no expectation; it recorded ${recorded.size === 0 ? 'no secret' : [...recorded].join(', ')}`);
      continue;
    }
    const missing = expected.kinds.filter((k) => !recorded.has(k));
    if (missing.length > 0) problems.push(`"${name}" ran but the ledger holds no ${missing.join(', ')} from it: its secrets would go unchecked`);
    if (expected.driverProcesses && (input.processLogs.get(name) ?? 0) === 0) problems.push(`"${name}" starts driver processes but left no process log: their output would go unchecked`);
  }
  if (input.ledger.length === 0 && others.length > 0 && problems.length === 0) {
    notes.push(`the ledger is empty; none of the ${others.length} scenario(s) that ran is known to use a secret`);
  }
  return { problems, notes };
}
