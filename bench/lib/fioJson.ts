/**
 * Pure: the figures we keep from one fio job's `--output-format=json` report. fio may print
 * warnings before the JSON document ("fio: file hash not empty..."), so parsing starts at the
 * first "{" of a line.
 */
export interface FioFigures {
  readonly readIops: number;
  readonly writeIops: number;
  /** MiB per second (fio's bw_bytes / 2^20). */
  readonly readMiBps: number;
  readonly writeMiBps: number;
  /** Mean completion latency in microseconds, 0 when no I/O of that direction ran. */
  readonly readMeanLatencyUs: number;
  readonly writeMeanLatencyUs: number;
}

export function parseFioJson(output: string): FioFigures {
  const start = output.search(/^\{/m);
  if (start < 0) throw new Error(`fio printed no JSON report: ${output.slice(0, 200)}`);
  let report: unknown;
  try {
    report = JSON.parse(output.slice(start));
  } catch (err: unknown) {
    throw new Error(`fio's JSON report does not parse (${err instanceof Error ? err.message : String(err)})`);
  }
  const jobs = isObject(report) ? report['jobs'] : undefined;
  if (!Array.isArray(jobs) || jobs.length !== 1) throw new Error(`expected one fio job in the report (use --group_reporting), got ${Array.isArray(jobs) ? jobs.length : 'none'}`);
  const job: unknown = jobs[0];
  if (!isObject(job)) throw new Error('the fio job is not an object');
  if (typeof job['error'] === 'number' && job['error'] !== 0) throw new Error(`fio reported error ${job['error']} for job ${String(job['jobname'])}`);
  const read = direction(job, 'read');
  const write = direction(job, 'write');
  return {
    readIops: read.iops,
    writeIops: write.iops,
    readMiBps: read.bwBytes / 2 ** 20,
    writeMiBps: write.bwBytes / 2 ** 20,
    readMeanLatencyUs: read.clatMeanNs / 1000,
    writeMeanLatencyUs: write.clatMeanNs / 1000,
  };
}

function direction(job: Record<string, unknown>, key: 'read' | 'write'): { iops: number; bwBytes: number; clatMeanNs: number } {
  const d = job[key];
  if (!isObject(d)) throw new Error(`the fio job has no ${key} section`);
  const number = (value: unknown, what: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`the fio job's ${key}.${what} is not a number`);
    return value;
  };
  const clat = d['clat_ns'];
  return {
    iops: number(d['iops'], 'iops'),
    bwBytes: number(d['bw_bytes'], 'bw_bytes'),
    clatMeanNs: isObject(clat) ? number(clat['mean'], 'clat_ns.mean') : 0,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
