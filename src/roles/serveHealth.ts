import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface RunningHealthServer {
  /** host:port actually bound (port 0 picks one). */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * GET /livez: 200 while the process answers (its event loop runs), whatever its dependencies.
 * This is the pods' liveness probe; readiness is CSI Probe (through the livenessprobe sidecar),
 * which is not ready while iscsi_tcp or the target modules are missing. Kept apart so a worker
 * without a kernel module is not ready instead of crash-looping (kubelet restarts on liveness only).
 */
export async function serveHealth(opts: { readonly host: string; readonly port: number; readonly log: Logger }): Promise<RunningHealthServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname;
    if (path !== '/livez') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: liveness is at /livez\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : 'ok\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.log.error({ err }, 'health server error'));
  const { port } = server.address() as AddressInfo;
  const address = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  opts.log.info({ address, path: '/livez' }, 'serving liveness');
  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
