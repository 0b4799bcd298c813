/**
 * API calls from the guest cross slirp's guestfwd to an API server on a host that CI shares with the
 * emulated guest itself: under load a connection can time out, or the server answer 429 or a 5xx
 * ("Handler timeout"). Those say nothing about the driver, so the cluster scenarios retry them instead of
 * failing; every other answer (404, 409, 422, ...) reaches the scenario as it came.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { kubeStatusOf } from '../../src/kube/kubeClient.ts';

/** undici's codes for a request that never reached the server: safe to send again, even a create. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Codes for a connection lost with the request perhaps delivered: a read may be sent again, a write not. */
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

function networkCode(err: unknown): string | undefined {
  // fetch wraps the socket error: TypeError("fetch failed") with the undici error as its cause.
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The request never reached the API server. */
export function wasNotSent(err: unknown): boolean {
  const code = networkCode(err);
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/** A failure that says "try again" rather than anything about the request. */
export function isTransient(err: unknown): boolean {
  const status = kubeStatusOf(err);
  if (status !== undefined) return RETRY_STATUSES.has(status);
  const code = networkCode(err);
  return code !== undefined && (NOT_SENT_CODES.has(code) || LOST_CODES.has(code));
}

/** Reads are safe to repeat; anything else only when the first attempt was never sent. */
export function mayRetry(method: string, err: unknown): boolean {
  return /^(read|list|get)/.test(method) ? isTransient(err) : wasNotSent(err);
}

export interface RetryOptions {
  /** how long one call may keep retrying */
  readonly withinMs: number;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** the pause before attempt n+1; by default n seconds, at most 5 */
  readonly pauseMs?: (attempt: number) => number;
}

/**
 * The API object with each method retried on the failures mayRetry allows, with a growing pause,
 * until `withinMs` has passed; then the last error is thrown.
 */
export function retryingApi<T extends object>(api: T, name: string, opts: RetryOptions): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return async (...args: unknown[]) => {
        const deadline = Date.now() + opts.withinMs;
        for (let attempt = 1; ; attempt++) {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } catch (err: unknown) {
            if (!mayRetry(prop, err) || Date.now() >= deadline) throw err;
            opts.log(`${name}.${prop}: ${describe(err)}; retrying (attempt ${attempt + 1})`);
            await delay(opts.pauseMs?.(attempt) ?? Math.min(1000 * attempt, 5000), undefined, opts.signal ? { signal: opts.signal } : {});
          }
        }
      };
    },
  });
}

export function describe(err: unknown): string {
  const status = kubeStatusOf(err);
  if (status !== undefined) return `HTTP ${status}`;
  const code = networkCode(err);
  return `${err instanceof Error ? err.message : String(err)}${code ? ` (${code})` : ''}`;
}
