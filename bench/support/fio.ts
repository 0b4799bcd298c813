import type { CommandRunner } from '../../src/exec/index.ts';
import { parseFioJson } from '../lib/fioJson.ts';
import type { FioFigures } from '../lib/fioJson.ts';

export interface FioJob {
  /** fio's --rw: randread, randwrite, read, write. */
  readonly rw: 'randread' | 'randwrite' | 'read' | 'write';
  readonly blockSize: '4k' | '1M';
  readonly runtimeS: number;
  readonly iodepth: number;
}

/** The four jobs of issue 7's data-path bench, in the order they run. */
export const FIO_JOBS: readonly (FioJob & { readonly label: string; readonly figure: 'readIops' | 'writeIops' | 'readMiBps' | 'writeMiBps' })[] = [
  { label: '4k randread', rw: 'randread', blockSize: '4k', runtimeS: 10, iodepth: 16, figure: 'readIops' },
  { label: '4k randwrite', rw: 'randwrite', blockSize: '4k', runtimeS: 10, iodepth: 16, figure: 'writeIops' },
  { label: '1M seq read', rw: 'read', blockSize: '1M', runtimeS: 10, iodepth: 16, figure: 'readMiBps' },
  { label: '1M seq write', rw: 'write', blockSize: '1M', runtimeS: 10, iodepth: 16, figure: 'writeMiBps' },
];

/** One time-based fio job on a whole block device: libaio, O_DIRECT, 2 s ramp not counted. */
export async function runFio(runner: CommandRunner, device: string, job: FioJob, signal: AbortSignal): Promise<FioFigures> {
  const result = await runner.run(
    {
      file: 'fio',
      args: [
        '--name=bench', `--filename=${device}`, `--rw=${job.rw}`, `--bs=${job.blockSize}`, `--iodepth=${job.iodepth}`,
        '--ioengine=libaio', '--direct=1', '--time_based', `--runtime=${job.runtimeS}`, '--ramp_time=2',
        '--group_reporting', '--output-format=json', '--randrepeat=0',
      ],
      timeoutMs: (job.runtimeS + 120) * 1000,
    },
    signal,
  );
  return parseFioJson(result.stdout);
}
