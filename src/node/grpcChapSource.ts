import { credentials, status } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { connectAgentWire } from '../agentApi/client.ts';
import { credentialsFromWire } from '../agentApi/wire.ts';
import type { ChapCredentials } from '../chap/index.ts';
import { UnavailableError } from '../errors.ts';
import { domainErrorClassFor, GrpcStatusError, isServiceError } from '../grpc/toGrpcStatus.ts';
import { describeIdentity, identityOfPeerCertificate, identityUri } from '../tls/identity.ts';
import type { TlsMaterial } from '../tls/index.ts';
import type { ChapRequest, ChapSource } from './chapSource.ts';

/** A stage waits this long for the agent; kubelet retries NodeStage after UNAVAILABLE. */
const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * ChapSource over gRPC: AgentCredentials.GetChapCredentials on the volume's agent, with this
 * node's client certificate (urn:vbs-csi:node:<iqn>). The agent's certificate must carry
 * urn:vbs-csi:agent:<the storage node in the volume id>, checked instead of the host name: the
 * address comes from publish_context, and only the identity says it is the agent that owns the
 * volume (a certificate of another agent, a node or the controller is refused before any secret
 * is sent). One short-lived channel per call: stages are rare and each may go to another agent.
 * The call itself is agentApi's client (the contract's one owner), at the message level so the
 * agent's refusals keep their codes for relayed().
 */
export class GrpcChapSource implements ChapSource {
  readonly #tls: () => Promise<TlsMaterial>;
  readonly #timeoutMs: number;

  /** `tls`: fixed material, or the current one at each call (NodeTls: reloaded when its files change). */
  constructor(opts: { readonly tls: TlsMaterial | (() => Promise<TlsMaterial>); readonly timeoutMs?: number }) {
    const tls = opts.tls;
    this.#tls = typeof tls === 'function' ? tls : async () => tls;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async fetch(req: ChapRequest, signal?: AbortSignal): Promise<{ readonly chap: ChapCredentials; readonly targetIqn: string }> {
    const creds = agentChannelCredentials(await this.#tls(), req.storageNode, req.agentAddress);
    const agent = connectAgentWire(req.agentAddress, creds, this.#timeoutMs);
    try {
      const answer = await agent.getChapCredentials(req.volumeId, req.initiatorIqn, signal);
      if (!answer.chap || answer.chap.username === '' || answer.chap.password === '' || !answer.target?.iqn) {
        throw new UnavailableError(`the agent of ${req.storageNode} answered without CHAP credentials or target for ${req.volumeId}; retry`);
      }
      const { chap, target } = credentialsFromWire(answer);
      return { chap, targetIqn: target.iqn };
    } catch (err: unknown) {
      throw relayed(err, req);
    } finally {
      agent.close();
    }
  }
}

/**
 * Client credentials for one storage node's agent: this node's certificate, and the server's
 * identity checked for urn:vbs-csi:agent:<storageNode> instead of the host name (the address
 * comes from publish_context; only the identity says it is the agent that owns the volume).
 */
export function agentChannelCredentials(tls: TlsMaterial, storageNode: string, agentAddress: string): ChannelCredentials {
  const expected = identityUri({ kind: 'agent', storageNode });
  return credentials.createSsl(Buffer.from(tls.caPem), Buffer.from(tls.keyPem), Buffer.from(tls.certPem), {
    checkServerIdentity: (_host, cert) => {
      const id = identityOfPeerCertificate(cert);
      if (id?.kind === 'agent' && id.storageNode === storageNode) return undefined;
      return new Error(`the server at ${agentAddress} is ${describeIdentity(id)}, not ${expected}`);
    },
  });
}

/** The agent's refusal as the error NodeStage answers with; anything about the link is UNAVAILABLE (kubelet retries). */
function relayed(err: unknown, req: ChapRequest): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  const from = `the agent of ${req.storageNode} (${req.agentAddress})`;
  switch (err.code) {
    case status.PERMISSION_DENIED:
    case status.UNAUTHENTICATED:
      return new GrpcStatusError(err.code, `${from} refused to give this node the CHAP credentials of ${req.volumeId}: ${err.details}. Give the node plugin a certificate from the cluster CA with urn:vbs-csi:node:${req.initiatorIqn} (vbs-csi certs --node)`);
    case status.INVALID_ARGUMENT:
    case status.NOT_FOUND:
    case status.FAILED_PRECONDITION: {
      const ErrorClass = domainErrorClassFor(err.code);
      return ErrorClass ? new ErrorClass(`${from}: ${err.details}`) : new UnavailableError(`${from}: ${err.details}`);
    }
    default:
      return new UnavailableError(`cannot get the CHAP credentials of ${req.volumeId} from ${from}: ${status[err.code] ?? err.code} ${err.details}; retry once the agent is reachable with a certificate naming ${identityUri({ kind: 'agent', storageNode: req.storageNode })}`);
  }
}
