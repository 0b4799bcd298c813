import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Named places where a test can make the process die as a power cut or an OOM kill would:
 * SIGKILL, no cleanup, no flushing. Off unless VBS_FAULT_POINT names the point, so production
 * never trips it. The fault suite uses it to prove that a retry after a crash at any step
 * converges with nothing left behind.
 *
 * VBS_FAULT_POINT holds one point or several, comma-separated. With VBS_FAULT_ONCE_DIR set, each
 * point fires once: a marker file named after the point is created (exclusively, before the
 * kill) and a later pass finds it and carries on. That is how the suite arms every point of a
 * role at once and lets a supervisor restart the process with the same environment, as
 * Kubernetes restarts a crashed container; the markers also prove which points fired.
 */
export function crashPoint(name: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!isArmed(name, env)) return;
  process.kill(process.pid, 'SIGKILL');
}

/** Pure but for the marker file: whether `name` should fire now (and, once-only, claims it). */
export function isArmed(name: string, env: NodeJS.ProcessEnv): boolean {
  const points = (env['VBS_FAULT_POINT'] ?? '').split(',').map((p) => p.trim());
  if (!points.includes(name)) return false;
  const onceDir = env['VBS_FAULT_ONCE_DIR'];
  if (onceDir === undefined || onceDir === '') return true;
  if (!FAULT_POINT_NAME.test(name)) throw new Error(`fault point name ${JSON.stringify(name)} cannot name a marker file`);
  try {
    writeFileSync(join(onceDir, name), `${new Date().toISOString()} pid ${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Point names are code constants like `node.stage.after-login`; this keeps them file-name safe. */
const FAULT_POINT_NAME = /^[A-Za-z][A-Za-z0-9.-]{0,99}$/;
