import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseVolumeId } from '../../src/csi/volumeIds.ts';
import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { StageRecordStore, buildDmName } from '../../src/node/index.ts';
import { CallTally, forEachConcurrently } from './callTally.ts';

/** One volume as the node plugin is asked about it: its id and where kubelet staged it. */
export interface StagedVolume {
  readonly volumeId: string;
  readonly stagingPath: string;
}

/**
 * Where each volume is staged under `root` (a directory per volume, made here, so NodeGetVolumeStats
 * finds a real filesystem to statfs). With `writeRecords`, the stage record of each is written
 * through the node's own StageRecordStore, as NodeStageVolume's first step writes it (an ext4
 * mount volume, published nowhere yet); without, the same paths and no records.
 */
export async function prepareStagedVolumes(opts: {
  readonly volumeIds: readonly string[];
  readonly root: string;
  readonly stateDir: string;
  readonly initiatorName: string;
  readonly writeRecords: boolean;
}): Promise<StagedVolume[]> {
  const store = new StageRecordStore({ dir: opts.stateDir });
  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  const staged: StagedVolume[] = [];
  for (const [index, volumeId] of opts.volumeIds.entries()) {
    const ref = parseVolumeId(volumeId);
    if (!ref) throw new Error(`${volumeId} is not a volume id`);
    const stagingPath = join(opts.root, 'plugins', 'kubernetes.io', 'csi', 'vbs.csi.io', String(index), 'globalmount');
    await mkdir(stagingPath, { recursive: true });
    if (opts.writeRecords) {
      await store.write({
        version: 1,
        volumeId,
        stagingPath,
        dmName: buildDmName(opts.initiatorName, volumeId),
        target: { targetIqn: `iqn.2026-11.io.vbs-csi:${ref.id}`, portal: { ip: '192.168.1.1', port: 3260 }, lun: 0, iface: undefined },
        serial: ref.id.slice(0, 32),
        access: { kind: 'mount', fsType: 'ext4', mountFlags: [] },
        accessMode: 'SINGLE_NODE_WRITER',
        readOnly: false,
        publishedPaths: [],
      });
    }
    staged.push({ volumeId, stagingPath });
  }
  return staged;
}

/**
 * One round of what kubelet asks a node plugin about its volumes: NodeGetInfo and
 * NodeGetCapabilities, then per volume NodeGetCapabilities + NodeGetVolumeStats (kubelet's volume
 * stats collector asks both) and NodeGetVolumeHealth. Each of the last two reads the volume's stage
 * record; stats then statfs()s the staging directory (no kernel storage needed), health asks
 * iscsiadm, dmsetup and findmnt on this host (no session, no dm device: it answers unhealthy or fails).
 */
export async function runNodeWorkload(csi: CsiApi, volumes: readonly StagedVolume[], concurrency: number, tally: CallTally): Promise<void> {
  await tally.run('NodeGetInfo', () => csi.node.nodeGetInfo({}));
  await tally.run('NodeGetCapabilities', () => csi.node.nodeGetCapabilities({}));
  await forEachConcurrently(volumes, concurrency, async (v) => {
    await tally.run('NodeGetCapabilities', () => csi.node.nodeGetCapabilities({}));
    await tally.run('NodeGetVolumeStats', () => csi.node.nodeGetVolumeStats({ volume_id: v.volumeId, volume_path: v.stagingPath }));
    await tally.run('NodeGetVolumeHealth', () => csi.node.nodeGetVolumeHealth({ volume_id: v.volumeId, staging_target_path: v.stagingPath }));
  });
}
