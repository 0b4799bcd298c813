/**
 * Named places where a test can make the process die as a power cut or an OOM kill would:
 * SIGKILL, no cleanup, no flushing. Off unless VBS_FAULT_POINT names the point, so production
 * never trips it. The fault suite uses it to prove that a retry after a crash at any step
 * converges with nothing left behind.
 */
export function crashPoint(name: string): void {
  if (process.env['VBS_FAULT_POINT'] === name) process.kill(process.pid, 'SIGKILL');
}
