import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { callsInFlight } from './adaptUnary.ts';
import { grpcAddress } from './endpoint.ts';
import type { Endpoint } from './endpoint.ts';

/** How long no call may be in flight before idle connections are cut at shutdown. */
const SETTLE_MS = 250;

export interface RunningServer {
  readonly server: Server;
  /** The bound address; for tcp port 0 it carries the chosen port. */
  readonly address: string;
  /** Stops accepting calls, lets in-flight calls finish (up to graceMs), then removes the socket. */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Binds a configured grpc-js server to an endpoint. A socket left by a previous run would make
 * bind fail with EADDRINUSE, so a stale socket file is removed first (only a socket: never a
 * regular file someone pointed us at by mistake).
 */
export async function serve(opts: {
  server: Server;
  endpoint: Endpoint;
  log: Logger;
  credentials?: ServerCredentials;
}): Promise<RunningServer> {
  const { server, endpoint, log } = opts;
  if (endpoint.kind === 'unix') {
    await mkdir(dirname(endpoint.path), { recursive: true });
    const existing = await stat(endpoint.path).catch(() => undefined);
    if (existing?.isSocket()) await rm(endpoint.path);
    else if (existing) throw new Error(`${endpoint.path} exists and is not a socket; refusing to replace it`);
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(grpcAddress(endpoint), opts.credentials ?? ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  const address = endpoint.kind === 'unix' ? grpcAddress(endpoint) : `${endpoint.host}:${port}`;
  log.info({ address }, 'serving');
  let stopping: Promise<void> | undefined;
  return {
    server,
    address,
    shutdown(graceMs: number) {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          const deadline = Date.now() + graceMs;
          // tryShutdown refuses new calls but also waits for every client connection to close, and
          // a controller keeps its channel open: once no call is in flight, idle connections are
          // cut (forceShutdown); at the grace deadline, busy ones too. A call leaves the count when
          // its handler settles, a moment before grpc-js has flushed the answer to the socket, so
          // the count must stay at zero for SETTLE_MS: cutting at once turned that last answer
          // into CANCELLED on a loaded machine.
          let idleSince: number | undefined;
          const poll = setInterval(() => {
            const busy = callsInFlight();
            const now = Date.now();
            if (busy > 0 && now < deadline) {
              idleSince = undefined;
              return;
            }
            if (busy === 0 && now < deadline) {
              idleSince ??= now;
              if (now - idleSince < SETTLE_MS) return;
            }
            if (busy > 0) log.warn({ graceMs, busy }, 'in-flight calls did not finish in time; forcing shutdown');
            clearInterval(poll);
            server.forceShutdown();
            resolve();
          }, 50);
          server.tryShutdown(() => {
            clearInterval(poll);
            resolve();
          });
        });
        if (endpoint.kind === 'unix') await rm(endpoint.path, { force: true });
        log.info({ address }, 'stopped');
      })();
      return stopping;
    },
  };
}
