import type { Logger } from 'pino';
import { status } from '@grpc/grpc-js';
import type { AgentCredentialsHandlers } from '../../generated/vbs/agent/v1/AgentCredentials.ts';
import { unaryAdapter } from '../../grpc/adaptUnary.ts';
import type { CallObserver } from '../../grpc/adaptUnary.ts';
import { GrpcStatusError } from '../../grpc/toGrpcStatus.ts';
import { describeIdentity } from '../../tls/identity.ts';
import type { CallerIdentity } from '../../tls/identity.ts';
import type { AgentCredentialsPort } from '../types.ts';
import { requireField, targetToWire } from './toWire.ts';

/**
 * The AgentCredentials gRPC service: CHAP secrets for node plugins, so they never travel through
 * the CO (docs/security.md). Field checks first, then the caller: only the node identity of the
 * initiator asked about (`urn:vbs-csi:node:<iqn>` in its verified client certificate) gets an
 * answer, so a worker can learn the secrets of its own initiator and no other. Whether the volume
 * is published to that initiator is the domain's check (AgentVolumes.chapCredentials).
 */
export function createAgentCredentialsHandlers(credentials: AgentCredentialsPort, log: Logger, calls?: CallObserver): AgentCredentialsHandlers {
  const unary = unaryAdapter(log, { calls });
  return {
    GetChapCredentials: unary('agent.GetChapCredentials', async (req, { signal, caller }) => {
      const volumeId = requireField(req.volume_id, 'volume_id');
      const initiatorIqn = requireField(req.initiator_iqn, 'initiator_iqn');
      authorizeNode(caller(), initiatorIqn);
      const { target, chap } = await credentials.chapCredentials({ volumeId, initiatorIqn }, signal);
      return {
        target: targetToWire(target),
        chap: { username: chap.username, password: chap.password, mutual_username: chap.mutual?.username ?? '', mutual_password: chap.mutual?.password ?? '' },
      };
    }),
  };
}

/** The caller must be the node plugin of exactly this initiator (IQNs compare in lowercase, as LIO does). */
export function authorizeNode(caller: CallerIdentity | undefined, initiatorIqn: string): void {
  if (caller === undefined) {
    throw new GrpcStatusError(
      status.UNAUTHENTICATED,
      'CHAP credentials are served only to a node plugin with a client certificate carrying urn:vbs-csi:node:<its initiator name> (vbs-csi certs --node)');
  }
  if (caller.kind !== 'node' || caller.initiatorIqn.toLowerCase() !== initiatorIqn.toLowerCase()) {
    throw new GrpcStatusError(
      status.PERMISSION_DENIED,
      `${describeIdentity(caller)} may not read the CHAP credentials of initiator ${initiatorIqn}: only that initiator's node plugin may (its certificate must name urn:vbs-csi:node:${initiatorIqn.toLowerCase()})`,
    );
  }
}
