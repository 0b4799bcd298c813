import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface RunningHttpServer {
  /** host:port actually bound (port 0 picks one). */
  readonly address: string;
  readonly port: number;
  /** Stops listening and cuts open keep-alive connections (Prometheus and kubelet keep one). */
  close(): Promise<void>;
}

export interface PlainHttpPathOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /** The one path served, e.g. /metrics or /livez. */
  readonly path: string;
  /** What the path serves, for the 404 text and the logs ("metrics", "liveness"). */
  readonly what: string;
  /** Answers a GET or HEAD of the path. */
  readonly answer: (req: IncomingMessage, res: ServerResponse) => void;
  /** Further paths served the same way (the health server's /readyz beside /livez). */
  readonly morePaths?: Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => void>>;
}

/**
 * One read-only path over plain HTTP (node:http): the path answers GET and HEAD, other methods
 * on it are 405, every other path 404. Used for Prometheus scrapes and kubelet's liveness probe,
 * which carry no secret, so there is no TLS or auth: expose the port to the cluster only.
 */
export async function servePlainHttpPath(opts: PlainHttpPathOptions): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const answer = path === opts.path ? opts.answer : opts.morePaths && Object.hasOwn(opts.morePaths, path) ? opts.morePaths[path] : undefined;
    if (!answer) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${opts.what} is at ${opts.path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    answer(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.log.error({ err }, `${opts.what} server error`));
  const { port } = server.address() as AddressInfo;
  const address = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  opts.log.info({ address, path: opts.path }, `serving ${opts.what}`);
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
