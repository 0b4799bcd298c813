import type { Logger } from 'pino';
import type { AgentVolumesHandlers } from '../../generated/vbs/agent/v1/AgentVolumes.ts';
import { unaryAdapter } from '../../grpc/adaptUnary.ts';
import type { CallObserver } from '../../grpc/adaptUnary.ts';
import type { AgentVolumesPort } from '../../agentApi/types.ts';
import {
  createVolumeRequestFromWire,
  exportRequestFromWire,
  exportResponseToWire,
  requireField,
  requireSize,
  snapshotFilterFromWire,
  snapshotToWire,
  volumeInitiatorFromWire,
  volumeToWire,
} from '../../agentApi/wire.ts';

/**
 * The AgentVolumes gRPC service: field checks and wire conversion only (both in src/agentApi/wire.ts,
 * the contract's one converter). The domain
 * (AgentVolumes) owns idempotency, locking and rollback; its errors become codes in adaptUnary.
 */
export function createAgentVolumesHandlers(volumes: AgentVolumesPort, log: Logger, calls?: CallObserver): AgentVolumesHandlers {
  const unary = unaryAdapter(log, { calls });
  return {
    CreateVolume: unary('agent.CreateVolume', async (req, { signal }) => ({
      volume: volumeToWire(await volumes.createVolume(createVolumeRequestFromWire(req), signal)),
    })),
    ExpandVolume: unary('agent.ExpandVolume', async (req, { signal }) => ({
      volume: volumeToWire(await volumes.expandVolume(requireField(req.id, 'id'), requireSize(req.size_bytes, 'size_bytes'), signal)),
    })),
    DeleteVolume: unary('agent.DeleteVolume', async (req, { signal }) => {
      await volumes.deleteVolume(requireField(req.id, 'id'), signal);
      return {};
    }),
    GetVolume: unary('agent.GetVolume', async (req, { signal }) => ({
      volume: volumeToWire(await volumes.getVolume(requireField(req.id, 'id'), signal)),
    })),
    ListVolumes: unary('agent.ListVolumes', async (_req, { signal }) => ({
      volumes: (await volumes.listVolumes(signal)).map(volumeToWire),
    })),
    CreateSnapshot: unary('agent.CreateSnapshot', async (req, { signal }) => ({
      snapshot: snapshotToWire(
        await volumes.createSnapshot({ name: requireField(req.name, 'name'), sourceVolumeId: requireField(req.source_volume_id, 'source_volume_id') }, signal),
      ),
    })),
    DeleteSnapshot: unary('agent.DeleteSnapshot', async (req, { signal }) => {
      await volumes.deleteSnapshot(requireField(req.id, 'id'), signal);
      return {};
    }),
    GetSnapshot: unary('agent.GetSnapshot', async (req, { signal }) => ({
      snapshot: snapshotToWire(await volumes.getSnapshot(requireField(req.id, 'id'), signal)),
    })),
    ListSnapshots: unary('agent.ListSnapshots', async (req, { signal }) => ({
      snapshots: (await volumes.listSnapshots(snapshotFilterFromWire(req), signal)).map(snapshotToWire),
    })),
    Export: unary('agent.Export', async (req, { signal }) => exportResponseToWire(await volumes.exportVolume(exportRequestFromWire(req), signal))),
    Unexport: unary('agent.Unexport', async (req, { signal }) => {
      await volumes.unexportVolume(volumeInitiatorFromWire(req), signal);
      return {};
    }),
  };
}
