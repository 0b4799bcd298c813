import type { Logger } from 'pino';
import { servePlainHttpPath } from '../metrics/servePlainHttpPath.ts';
import type { RunningHttpServer } from '../metrics/servePlainHttpPath.ts';

export type RunningHealthServer = RunningHttpServer;

/**
 * GET /livez: 200 while the process answers (its event loop runs), whatever its dependencies.
 * This is the pods' liveness probe; readiness is CSI Probe (through the livenessprobe sidecar),
 * which is not ready while iscsi_tcp or the target modules are missing. Kept apart so a worker
 * without a kernel module is not ready instead of crash-looping (kubelet restarts on liveness only).
 */
export async function serveHealth(opts: { readonly host: string; readonly port: number; readonly log: Logger }): Promise<RunningHealthServer> {
  return servePlainHttpPath({
    ...opts,
    path: '/livez',
    what: 'liveness',
    answer: (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : 'ok\n');
    },
  });
}
