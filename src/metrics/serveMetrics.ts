import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { servePlainHttpPath } from './servePlainHttpPath.ts';
import type { RunningHttpServer } from './servePlainHttpPath.ts';

export type RunningMetricsServer = RunningHttpServer;

/**
 * Serves the registry in Prometheus' text format at GET /metrics over plain HTTP; every other
 * path is 404 and other methods on /metrics are 405. Scraping is read-only and carries no
 * secret, so there is no TLS or auth here: expose the port to the cluster only.
 */
export async function serveMetrics(opts: { readonly registry: Registry; readonly host: string; readonly port: number; readonly log: Logger }): Promise<RunningMetricsServer> {
  const { registry, log } = opts;
  return servePlainHttpPath({
    host: opts.host,
    port: opts.port,
    log,
    path: '/metrics',
    what: 'metrics',
    answer: (req, res) => {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          log.error({ err }, 'could not collect the metrics');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('could not collect the metrics; see the driver log\n');
        },
      );
    },
  });
}
