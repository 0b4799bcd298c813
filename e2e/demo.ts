/**
 * `npm run demo`: boots the test-bed VM (this machine's kernel has no LIO, dm-thin or iSCSI
 * initiator), runs only the demo scenario in it and prints its step-by-step log with timings.
 * Exit code 0 when the restored volume's checksum matched, 1 otherwise.
 */
import path from 'node:path';
import { DEMO_SCENARIO_NAME } from './scenarios/demo.scenario.ts';
import { TestBed } from './vm/TestBed.ts';
import { parseE2eSettings } from './vm/settings.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
const settings = { ...parseE2eSettings(process.env), only: DEMO_SCENARIO_NAME };
const deadlineMs = Date.now() + 15 * 60_000;

console.log('vbs-csi demo: booting the test-bed VM (qemu, software emulation; about a minute)...');
const bed = await TestBed.start({ projectRoot: PROJECT_ROOT, settings, deadlineMs });
console.log(`vbs-csi demo: VM up (${bed.boot.accel}, kernel ${bed.boot.kernelVersion}); running the demo`);
let code = 1;
try {
  const result = await bed.waitForResult(DEMO_SCENARIO_NAME, deadlineMs);
  for (const line of result.log) console.log(line);
  if (result.ok) {
    console.log(`vbs-csi demo: OK in ${(result.durationMs / 1000).toFixed(1)} s`);
    code = 0;
  } else {
    console.log(bed.describeFailure(`the demo failed after ${result.durationMs} ms`, result));
  }
} catch (err: unknown) {
  console.log(bed.describeFailure(err instanceof Error ? err.message : String(err)));
} finally {
  await bed.stop();
}
process.exit(code);
