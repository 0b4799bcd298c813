/** The memory figures of one process, from /proc/<pid>/status (Linux reports them in KiB). */
export interface ProcMemory {
  /** Resident set size now. */
  readonly vmRssKiB: number;
  /** The "high water mark": the largest resident set size since the process started. */
  readonly vmHwmKiB: number;
}

const KIB_FIELD = /^(\d+)\s+kB$/;

/**
 * Pure: VmRSS and VmHWM of a /proc/<pid>/status text. Throws when one is missing or
 * not "<number> kB": a kernel thread has no Vm* lines, and a zombie's are gone.
 */
export function parseProcStatus(text: string): ProcMemory {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { vmRssKiB: kibField(fields, 'VmRSS'), vmHwmKiB: kibField(fields, 'VmHWM') };
}

function kibField(fields: ReadonlyMap<string, string>, key: string): number {
  const value = fields.get(key);
  const m = value === undefined ? null : KIB_FIELD.exec(value);
  if (!m) throw new Error(`/proc status text has no ${key} in kB (got ${JSON.stringify(value)})`);
  return Number(m[1]);
}

/** KiB to MiB, for the report. */
export function kibToMiB(kib: number): number {
  return kib / 1024;
}
