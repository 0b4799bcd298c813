import type { Logger } from 'pino';
import type { AgentCredentialsHandlers } from '../../generated/vbs/agent/v1/AgentCredentials.ts';
import type { AgentCredentialsPort } from '../../agentApi/types.ts';
import { credentialsToWire, mirrorRecordResponseToWire, requireField, setMirrorRecordRequestFromWire, setMirrorRecordResultToWire } from '../../agentApi/wire.ts';
import { unaryAdapter } from '../../grpc/adaptUnary.ts';
import type { CallObserver } from '../../grpc/adaptUnary.ts';
import { requireNodeCaller } from '../callerPolicy.ts';

/**
 * The AgentCredentials gRPC service: CHAP secrets for node plugins, so they never travel through
 * the CO (docs/security.md). Field checks first, then the caller: the server's policy
 * (callerPolicy.ts) admits only node identities, and only the node identity of the initiator
 * asked about (`urn:vbs-csi:node:<iqn>` in its verified client certificate) gets an answer, so a
 * worker can learn the secrets of its own initiator and no other. Whether the volume is published
 * to that initiator is the domain's check (AgentVolumes.chapCredentials). The copies' record of a
 * replicated volume (GetMirrorRecord, SetMirrorRecord) is guarded the same way: the node that
 * assembles the mirror has every copy published to its initiator.
 */
export function createAgentCredentialsHandlers(credentials: AgentCredentialsPort, log: Logger, calls?: CallObserver): AgentCredentialsHandlers {
  const unary = unaryAdapter(log, { calls });
  return {
    GetChapCredentials: unary('agent.GetChapCredentials', async (req, { signal, caller }) => {
      const volumeId = requireField(req.volume_id, 'volume_id');
      const initiatorIqn = requireField(req.initiator_iqn, 'initiator_iqn');
      requireNodeCaller(caller, initiatorIqn);
      return credentialsToWire(await credentials.chapCredentials({ volumeId, initiatorIqn }, signal));
    }),
    GetMirrorRecord: unary('agent.GetMirrorRecord', async (req, { signal, caller }) => {
      const volumeId = requireField(req.volume_id, 'volume_id');
      const initiatorIqn = requireField(req.initiator_iqn, 'initiator_iqn');
      requireNodeCaller(caller, initiatorIqn);
      return mirrorRecordResponseToWire(await credentials.mirrorRecord({ volumeId, initiatorIqn }, signal));
    }),
    SetMirrorRecord: unary('agent.SetMirrorRecord', async (req, { signal, caller }) => {
      const request = setMirrorRecordRequestFromWire(req);
      requireNodeCaller(caller, request.initiatorIqn);
      return setMirrorRecordResultToWire(await credentials.setMirrorRecord(request, signal));
    }),
  };
}
