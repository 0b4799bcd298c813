import { CommandFailedError } from '../exec/index.ts';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, ResourceExhaustedError } from '../errors.ts';

/**
 * The one place that reads lvm's failures. lvm exits 5 (ECMD_FAILED) for almost everything, so
 * the exit code alone says nothing; like topolvm's lvm_error.go we match exit code plus message,
 * and anything unrecognised stays a CommandFailedError (INTERNAL). The messages are lvm 2.03's
 * (lvm(8) DIAGNOSTICS warns they can change between releases; the unit tests pin them and the
 * e2e scenario checks them against the real binary).
 */
const RULES: ReadonlyArray<{ readonly pattern: RegExp; readonly make: (message: string) => Error }> = [
  // A missing VG or thin pool is a broken storage node, not a missing volume: mapping it to
  // NotFoundError would let DeleteVolume report success for a volume whose PV is merely absent.
  { pattern: /Volume group "[^"]*" not found|Pool \S+ not found in Volume group/, make: (m) => new FailedPreconditionError(m) },
  {
    pattern: /Failed to find logical volume|Logical volume \S+ not found in volume group|Snapshot origin LV \S+ not found in Volume group/,
    make: (m) => new NotFoundError(m),
  },
  { pattern: /already exists in volume group/, make: (m) => new AlreadyExistsError(m) },
  {
    pattern: /insufficient free space|insufficient suitable allocatable extents|free space in thin pool \S+ reached threshold/i,
    make: (m) => new ResourceExhaustedError(m),
  },
  { pattern: /Logical volume \S+ in use|contains a filesystem in use/, make: (m) => new FailedPreconditionError(m) },
];

/**
 * Turns a failed lvm command into a domain error when its message says what happened
 * (messages as captured in test/fixtures/lvm/lvm-failures.json):
 * - `Volume group "vg" not found`, `Pool p not found in Volume group vg.`  → FailedPreconditionError
 * - `Failed to find logical volume "vg/lv"` (lvs, lvremove, lvchange),
 *   `Logical volume lv not found in volume group vg.` (lvextend),
 *   `Snapshot origin LV lv not found in Volume group vg.` (lvcreate -s)     → NotFoundError
 * - `Logical Volume "lv" already exists in volume group "vg"`              → AlreadyExistsError
 * - `... has insufficient free space ...`,
 *   `Cannot create new thin volume, free space in thin pool vg/p reached threshold.` → ResourceExhaustedError
 * - `Logical volume vg/lv in use.`                                          → FailedPreconditionError
 * Only error lines count: lvm prints WARNING lines (a full pool, over-provisioning) on commands
 * that then fail for another reason. Anything else, timeouts included, is returned unchanged.
 * `what` names the operation for the message, e.g. "create thin volume vg/lv".
 */
export function classifyLvmError(err: unknown, what: string): unknown {
  if (!(err instanceof CommandFailedError) || err.exitCode === undefined || err.exitCode === 0) return err;
  const errorLines = summarize(err.stderr);
  for (const rule of RULES) {
    if (rule.pattern.test(errorLines)) {
      const made = rule.make(`${what}: ${errorLines}`);
      made.cause = err;
      return made;
    }
  }
  return err;
}

/** lvm's stderr without warnings and fd-leak notices, joined on one line. */
function summarize(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('File descriptor') && !line.startsWith('WARNING'))
    .join(' | ');
}
