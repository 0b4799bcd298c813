import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface RunningMetricsServer {
  /** host:port actually bound (port 0 picks one). */
  readonly address: string;
  readonly port: number;
  /** Stops listening and cuts open keep-alive connections (Prometheus keeps one). */
  close(): Promise<void>;
}

/**
 * Serves the registry in Prometheus' text format at GET /metrics over plain HTTP (node:http);
 * every other path is 404 and other methods on /metrics are 405. Scraping is read-only and
 * carries no secret, so there is no TLS or auth here: expose the port to the cluster only.
 */
export async function serveMetrics(opts: { readonly registry: Registry; readonly host: string; readonly port: number; readonly log: Logger }): Promise<RunningMetricsServer> {
  const { registry, log } = opts;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'metrics server error'));
  const { port } = server.address() as AddressInfo;
  const address = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  log.info({ address, path: '/metrics' }, 'serving metrics');
  let closing: Promise<void> | undefined;
  return {
    address,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
