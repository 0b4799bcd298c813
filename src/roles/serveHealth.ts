import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ReadinessReport } from '../csi/readiness.ts';
import { servePlainHttpPath } from '../metrics/servePlainHttpPath.ts';
import type { RunningHttpServer } from '../metrics/servePlainHttpPath.ts';

export interface RunningHealthServer extends RunningHttpServer {
  /** From now on GET /readyz answers from this reporter (the one CSI Probe uses); until then 503. */
  setReadiness(report: () => Promise<ReadinessReport>): void;
}

/**
 * GET /livez: 200 while the process answers (its event loop runs), whatever its dependencies.
 * This is the pods' liveness probe. Kept apart from readiness so a worker without a kernel module
 * is not ready instead of crash-looping (kubelet restarts on liveness only).
 *
 * GET /readyz: the same readiness as CSI Probe, over plain HTTP: 200 when ready, 503 with the
 * problems while not (or while the role is still starting). The chart probes it when the
 * livenessprobe sidecar, which turns Probe into HTTP, is not deployed (docs/health.md).
 */
export async function serveHealth(opts: { readonly host: string; readonly port: number; readonly log: Logger }): Promise<RunningHealthServer> {
  let report: (() => Promise<ReadinessReport>) | undefined;
  const text = (res: ServerResponse, code: number, body: string, head: boolean) =>
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(head ? undefined : body);
  const server = await servePlainHttpPath({
    ...opts,
    path: '/livez',
    what: 'liveness',
    answer: (req, res) => text(res, 200, 'ok\n', req.method === 'HEAD'),
    morePaths: {
      '/readyz': (req, res) => {
        const head = req.method === 'HEAD';
        if (!report) {
          text(res, 503, 'not ready: starting\n', head);
          return;
        }
        report().then(
          (r) => (r.ready ? text(res, 200, 'ok\n', head) : text(res, 503, `not ready: ${r.problems.join('; ')}\n`, head)),
          (err: unknown) => text(res, 503, `not ready: ${err instanceof Error ? err.message : String(err)}\n`, head),
        );
      },
    },
  });
  return {
    ...server,
    setReadiness(r) {
      report = r;
    },
  };
}
