import type { CsiApi } from '../../src/grpc/csiServiceClients.ts';
import { CallTally, forEachConcurrently } from './callTally.ts';

export interface ControllerWorkload {
  /** Ids for ControllerGetVolume: the volumes the agents hold (or, with none, the same ids, answered NOT_FOUND). */
  readonly volumeIds: readonly string[];
  /** ListVolumes and ListSnapshots page size (max_entries). */
  readonly pageSize: number;
  /** ControllerGetVolume calls in flight at once. */
  readonly concurrency: number;
  /** Concurrent CreateVolume calls (then as many DeleteVolume); names carry `round` so each round makes new ones. */
  readonly burst: number;
  readonly round: number;
}

/** What the controller listed, to check it really knew the volumes. */
export interface ControllerWorkloadResult {
  readonly listedVolumes: number;
  readonly listedSnapshots: number;
}

const GiB = 1024 ** 3;
const CAPABILITY = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

/**
 * One round of what a CO does to a controller with many volumes: page through ListVolumes and
 * ListSnapshots to the end (external-health-monitor, snapshotter resyncs), ControllerGetVolume for
 * every volume, GetCapacity (capacity tracking), then a burst of CreateVolume (the provisioner's
 * worker pool) and the DeleteVolume of each.
 */
export async function runControllerWorkload(csi: CsiApi, w: ControllerWorkload, tally: CallTally): Promise<ControllerWorkloadResult> {
  const listAll = async (rpc: string, page: (token: string) => Promise<{ entries: number; next: string } | undefined>): Promise<number> => {
    let token = '';
    let count = 0;
    do {
      const answer = await tally.run(rpc, () => page(token));
      if (!answer) throw new Error(`${rpc} failed mid-way (see the call counts); the listing is incomplete`);
      count += answer.entries;
      token = answer.next;
    } while (token !== '');
    return count;
  };
  const listedVolumes = await listAll('ListVolumes', async (token) => {
    const r = await csi.controller.listVolumes({ max_entries: w.pageSize, starting_token: token });
    return { entries: r.entries.length, next: r.next_token };
  });
  const listedSnapshots = await listAll('ListSnapshots', async (token) => {
    const r = await csi.controller.listSnapshots({ max_entries: w.pageSize, starting_token: token });
    return { entries: r.entries.length, next: r.next_token };
  });
  await forEachConcurrently(w.volumeIds, w.concurrency, (id) => tally.run('ControllerGetVolume', () => csi.controller.controllerGetVolume({ volume_id: id })));
  await tally.run('GetCapacity', () => csi.controller.getCapacity({ parameters: {} }));

  const names = Array.from({ length: w.burst }, (_, i) => `pvc-burst-${w.round}-${i}`);
  const created: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      const r = await tally.run('CreateVolume', () => csi.controller.createVolume({ name, capacity_range: { required_bytes: GiB }, volume_capabilities: [CAPABILITY], parameters: {} }));
      if (r?.volume) created.push(r.volume.volume_id);
    }),
  );
  await Promise.all(created.map((id) => tally.run('DeleteVolume', () => csi.controller.deleteVolume({ volume_id: id }))));
  return { listedVolumes, listedSnapshots };
}
