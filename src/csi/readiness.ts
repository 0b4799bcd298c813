/**
 * A dependency the plugin needs before it can serve: iscsid for the node, configfs and the
 * target modules for the agent. `check` resolves to a sentence describing what is missing,
 * or undefined when the dependency is ready.
 */
export interface ReadinessCheck {
  readonly name: string;
  check(signal: AbortSignal): Promise<string | undefined>;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** One entry per failed check: "<name>: <what is missing>". */
  readonly problems: readonly string[];
}

/** Runs every check concurrently, each bounded by timeoutMs; a check that throws or hangs counts as not ready. */
export async function runReadinessChecks(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const problem = await Promise.race([
          c.check(signal),
          new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve(`no answer within ${timeoutMs} ms`), { once: true })),
        ]);
        return problem === undefined ? undefined : `${c.name}: ${problem}`;
      } catch (err: unknown) {
        return `${c.name}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }),
  );
  const problems = results.filter((p): p is string => p !== undefined);
  return { ready: problems.length === 0, problems };
}
