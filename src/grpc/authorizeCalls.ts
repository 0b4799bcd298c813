import { ServerInterceptingCall, status } from '@grpc/grpc-js';
import type { ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { describeIdentity, identityOfPeerCertificate } from '../tls/identity.ts';
import type { CallerIdentity } from '../tls/identity.ts';

/** What an authorization policy answers for one call (src/agent/callerPolicy.ts is the agent's). */
export type AuthorizationDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED'; readonly reason: string };

/**
 * A grpc-js server interceptor that asks `decide` about every call before any handler sees it:
 * the one enforcement point, so no service added to the server can skip it. The identity comes
 * from the TLS peer certificate grpc-js verified against the CA. A refused call ends with
 * UNAUTHENTICATED or PERMISSION_DENIED and one warning naming the identity, the method and the
 * peer address (a certificate's URI is not a secret; no key material is anywhere near here).
 * `onRefused` hears each refusal (the call metrics count it: no handler, so adaptUnary never sees it).
 */
export function authorizeCalls(
  decide: (path: string, identity: CallerIdentity | undefined) => AuthorizationDecision,
  log: Logger,
  onRefused?: (path: string, code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED') => void,
): ServerInterceptor {
  return (methodDescriptor, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const identity = identityOfPeerCertificate(call.getAuthContext()?.sslPeerCertificate);
            const decision = decide(methodDescriptor.path, identity);
            if (decision.allowed) {
              mdNext(metadata);
              return;
            }
            log.warn(
              { method: methodDescriptor.path, identity: describeIdentity(identity), peer: call.getPeer(), code: decision.code },
              'refused a call: the caller may not call this method',
            );
            try {
              onRefused?.(methodDescriptor.path, decision.code);
            } catch (err: unknown) {
              log.warn({ err }, 'could not record the refused call in the metrics'); // never at the cost of the answer
            }
            call.sendStatus({ code: status[decision.code], details: decision.reason });
          },
        });
      },
    });
}
