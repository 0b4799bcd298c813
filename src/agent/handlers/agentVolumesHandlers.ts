import type { Logger } from 'pino';
import type { AgentVolumesHandlers } from '../../generated/vbs/agent/v1/AgentVolumes.ts';
import { adaptUnary } from '../../grpc/adaptUnary.ts';
import type { AgentVolumesPort } from '../types.ts';
import { contentSourceFromWire, requireField, requireSize, snapshotToWire, targetToWire, volumeToWire } from './toWire.ts';

/**
 * The AgentVolumes gRPC service: field checks and wire conversion only. The domain
 * (AgentVolumes) owns idempotency, locking and rollback; its errors become codes in adaptUnary.
 */
export function createAgentVolumesHandlers(volumes: AgentVolumesPort, log: Logger): AgentVolumesHandlers {
  return {
    CreateVolume: adaptUnary('agent.CreateVolume', log, async (req, { signal }) => {
      const source = contentSourceFromWire(req.content_source);
      const volume = await volumes.createVolume(
        {
          name: requireField(req.name, 'name'),
          sizeBytes: requireSize(req.size_bytes, 'size_bytes'),
          thick: req.thick,
          ...(source ? { contentSource: source } : {}),
        },
        signal,
      );
      return { volume: volumeToWire(volume) };
    }),
    ExpandVolume: adaptUnary('agent.ExpandVolume', log, async (req, { signal }) => ({
      volume: volumeToWire(await volumes.expandVolume(requireField(req.id, 'id'), requireSize(req.size_bytes, 'size_bytes'), signal)),
    })),
    DeleteVolume: adaptUnary('agent.DeleteVolume', log, async (req, { signal }) => {
      await volumes.deleteVolume(requireField(req.id, 'id'), signal);
      return {};
    }),
    GetVolume: adaptUnary('agent.GetVolume', log, async (req, { signal }) => ({
      volume: volumeToWire(await volumes.getVolume(requireField(req.id, 'id'), signal)),
    })),
    ListVolumes: adaptUnary('agent.ListVolumes', log, async (_req, { signal }) => ({
      volumes: (await volumes.listVolumes(signal)).map(volumeToWire),
    })),
    CreateSnapshot: adaptUnary('agent.CreateSnapshot', log, async (req, { signal }) => ({
      snapshot: snapshotToWire(
        await volumes.createSnapshot({ name: requireField(req.name, 'name'), sourceVolumeId: requireField(req.source_volume_id, 'source_volume_id') }, signal),
      ),
    })),
    DeleteSnapshot: adaptUnary('agent.DeleteSnapshot', log, async (req, { signal }) => {
      await volumes.deleteSnapshot(requireField(req.id, 'id'), signal);
      return {};
    }),
    GetSnapshot: adaptUnary('agent.GetSnapshot', log, async (req, { signal }) => ({
      snapshot: snapshotToWire(await volumes.getSnapshot(requireField(req.id, 'id'), signal)),
    })),
    ListSnapshots: adaptUnary('agent.ListSnapshots', log, async (req, { signal }) => ({
      snapshots: (await volumes.listSnapshots(req.source_volume_id ? { sourceVolumeId: req.source_volume_id } : {}, signal)).map(snapshotToWire),
    })),
    Export: adaptUnary('agent.Export', log, async (req, { signal }) => {
      const { target, chap } = await volumes.exportVolume(
        {
          volumeId: requireField(req.volume_id, 'volume_id'),
          initiatorIqn: requireField(req.initiator_iqn, 'initiator_iqn'),
          readOnly: req.read_only,
          mutualChap: req.mutual_chap,
        },
        signal,
      );
      return {
        target: targetToWire(target),
        chap: {
          username: chap.username,
          password: chap.password,
          mutual_username: chap.mutualUsername ?? '',
          mutual_password: chap.mutualPassword ?? '',
        },
      };
    }),
    Unexport: adaptUnary('agent.Unexport', log, async (req, { signal }) => {
      await volumes.unexportVolume({ volumeId: requireField(req.volume_id, 'volume_id'), initiatorIqn: requireField(req.initiator_iqn, 'initiator_iqn') }, signal);
      return {};
    }),
  };
}
