import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { stripSecrets } from '../log/stripSecrets.ts';
import { identityOfPeerCertificate } from '../tls/identity.ts';
import type { CallerIdentity } from '../tls/identity.ts';
import { toGrpcStatus } from './toGrpcStatus.ts';

/** What every handler receives besides its request. */
export interface CallContext {
  readonly requestId: string;
  readonly log: Logger;
  /** Aborted when the client cancels or its deadline passes; pass it on to long steps. */
  readonly signal: AbortSignal;
  /**
   * Who is calling, from the client certificate the TLS handshake verified (src/tls/identity.ts);
   * undefined without TLS or without one of our identities. Read on demand: most calls never ask.
   */
  readonly caller: () => CallerIdentity | undefined;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;

/** Told how every call ended (method, gRPC code name such as OK or NOT_FOUND, seconds): src/metrics counts them. */
export interface CallObserver {
  observe(method: string, code: string, seconds: number): void;
}

export interface UnaryOptions {
  /** Without one, calls are only logged. */
  readonly calls?: CallObserver | undefined;
}

let inFlight = 0;

/** Calls being handled right now, across every server in the process (graceful shutdown waits for 0). */
export function callsInFlight(): number {
  return inFlight;
}

/**
 * Adapts an async handler to grpc-js: a request id and child logger per call, an AbortSignal
 * tied to the call, one log line per call (method, code, ms), and every throw mapped by
 * toGrpcStatus. Requests are logged only after stripSecrets. The call observer, if any, hears
 * the same method and code as the log line, before the answer is sent.
 */
export function adaptUnary<Req, Res>(method: string, log: Logger, handler: UnaryHandler<Req, Res>, opts: UnaryOptions = {}): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const requestId = randomUUID().slice(0, 8);
    const callLog = log.child({ reqId: requestId, method });
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort(new Error('call cancelled by the client')));
    const started = performance.now();
    const observe = (code: string) => {
      try {
        opts.calls?.observe(method, code, (performance.now() - started) / 1000);
      } catch (err: unknown) {
        callLog.warn({ err }, 'could not record the call in the metrics'); // never at the cost of the answer
      }
    };
    callLog.debug({ request: stripSecrets(call.request) }, 'request');
    inFlight++;
    handler(call.request, { requestId, log: callLog, signal: abort.signal, caller: () => callerOf(call) })
      .finally(() => inFlight--)
      .then(
      (response) => {
        callLog.info({ code: 'OK', ms: Math.round(performance.now() - started) }, 'call done');
        callLog.debug({ response: stripSecrets(response) }, 'response');
        observe('OK');
        callback(null, response);
      },
      (err: unknown) => {
        const st = toGrpcStatus(err, requestId);
        const ms = Math.round(performance.now() - started);
        if (st.code === status.INTERNAL) callLog.error({ err, ms }, 'call failed');
        else callLog.info({ code: status[st.code], details: st.details, ms }, 'call done');
        observe(status[st.code]);
        callback({ code: st.code, details: st.details });
      },
    );
  };
}

/** adaptUnary with a service's logger and options bound: `const unary = unaryAdapter(log, { calls })`. */
export function unaryAdapter(log: Logger, opts: UnaryOptions = {}) {
  return <Req, Res>(method: string, handler: UnaryHandler<Req, Res>): handleUnaryCall<Req, Res> => adaptUnary(method, log, handler, opts);
}

/** The verified client certificate's identity; a call without TLS (unix socket, tests) has none. */
function callerOf(call: ServerUnaryCall<unknown, unknown>): CallerIdentity | undefined {
  const auth = typeof call.getAuthContext === 'function' ? call.getAuthContext() : undefined;
  return identityOfPeerCertificate(auth?.sslPeerCertificate);
}
