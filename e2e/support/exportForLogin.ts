import type { AgentVolumes } from '../../src/agent/AgentVolumes.ts';
import type { AgentExport, ExportAgentVolumeRequest } from '../../src/agentApi/types.ts';

/**
 * What an in-process initiator gets from a publish and a stage: the export (ControllerPublish's
 * part, which answers the target only) and then the initiator's credentials (what the node
 * plugin's AgentCredentials call answers).
 */
export async function exportForLogin(agent: AgentVolumes, req: ExportAgentVolumeRequest, signal?: AbortSignal): Promise<AgentExport> {
  await agent.exportVolume(req, signal);
  return agent.chapCredentials({ volumeId: req.volumeId, initiatorIqn: req.initiatorIqn }, signal);
}
