/**
 * The driver logs every command it runs at debug level as `{"msg":"exec","cmd":[file, ...args],
 * "exitCode":…,"ms":…}` (src/exec/ExecaRunner.ts). Under software emulation each process spawn
 * costs 0.3-1.5 s, so where a CSI call spends its time is mostly which commands it runs: these
 * pure helpers turn a slice of the driver's output into a per-command tally for the bench log.
 */

export interface ExecTally {
  /** e.g. "iscsiadm -m node -o update", "dmsetup create", "mount --bind". */
  readonly command: string;
  readonly count: number;
  readonly totalMs: number;
}

/** A short name for a command line: the program and the arguments that say what it does, never values (secrets). */
export function buildCommandKey(cmd: readonly string[]): string {
  const [file = '?', ...args] = cmd;
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  switch (file) {
    case 'iscsiadm': {
      const mode = flag('-m') ?? '?';
      const op = flag('-o');
      const action = args.find((a) => a === '--login' || a === '--logout' || a === '--rescan' || a === '-S' || a === '-P');
      return ['iscsiadm', '-m', mode, ...(op !== undefined ? ['-o', op] : []), ...(action !== undefined ? [action] : [])].join(' ');
    }
    case 'dmsetup':
    case 'udevadm':
      return `${file} ${args[0] ?? ''}`.trim();
    case 'mount':
      if (args.includes('--bind')) return 'mount --bind';
      if (args.some((a) => a.startsWith('remount'))) return 'mount -o remount';
      return 'mount';
    default:
      return file;
  }
}

/**
 * Tallies the `exec` lines of `component` (the node plugin logs with component "node") in a
 * stretch of JSON log lines, in order of first appearance. Lines that are not JSON are skipped.
 */
export function tallyExecLines(logText: string, component?: string): ExecTally[] {
  const tallies = new Map<string, { count: number; totalMs: number }>();
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry !== 'object' || entry === null) continue;
    const record = entry as Record<string, unknown>;
    if (record['msg'] !== 'exec' || !Array.isArray(record['cmd'])) continue;
    if (component !== undefined && record['component'] !== component) continue;
    const key = buildCommandKey(record['cmd'].map(String));
    const ms = typeof record['ms'] === 'number' ? record['ms'] : 0;
    const tally = tallies.get(key) ?? { count: 0, totalMs: 0 };
    tally.count += 1;
    tally.totalMs += ms;
    tallies.set(key, tally);
  }
  return [...tallies].map(([command, t]) => ({ command, count: t.count, totalMs: t.totalMs }));
}

/** One line per command ("3 x iscsiadm -m node -o update: 2210 ms"), then the totals. */
export function formatExecTally(tallies: readonly ExecTally[]): string {
  const count = tallies.reduce((sum, t) => sum + t.count, 0);
  const totalMs = tallies.reduce((sum, t) => sum + t.totalMs, 0);
  return [...tallies.map((t) => `  ${t.count} x ${t.command}: ${t.totalMs} ms`), `  = ${count} commands, ${totalMs} ms`].join('\n');
}
