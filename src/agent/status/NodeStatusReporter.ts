import type { IoLoad__Output } from '../../generated/vbs/agent/v1/IoLoad.ts';
import type { NodeStatus__Output } from '../../generated/vbs/agent/v1/NodeStatus.ts';
import type { ThinPoolStatus__Output } from '../../generated/vbs/agent/v1/ThinPoolStatus.ts';
import type { LogicalVolume, Lvm, ThinPool } from '../../lvm/index.ts';
import { computeThinPoolStatus, sumProvisionedBytes, validateThinCapacityPolicy } from './capacity.ts';
import type { ThinCapacityPolicy } from './capacity.ts';

/** The part of Lvm the reporter reads. */
export type NodeStatusLvm = Pick<Lvm, 'getVolumeGroup' | 'readPoolAndVolumes'>;

/** What counts an LV as a CSI volume or snapshot; the agent's volume logic owns the tags that decide. */
export type LvClassifier = (lv: LogicalVolume) => 'volume' | 'snapshot' | undefined;

export interface NodeStatusReporterOptions extends ThinCapacityPolicy {
  readonly lvm: NodeStatusLvm;
  readonly sampler: { current(): IoLoad__Output };
  readonly nodeName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly portal: { readonly ip: string; readonly port: number };
  readonly isReady: () => boolean;
  readonly classify: LvClassifier;
}

/**
 * GetNodeStatus's answer, and the thin pool figures CreateVolume's admission check uses
 * (checkThinAdmission), read from lvm (the kernel and lvm are the truth), or from the report the
 * agent's Lvm remembers (src/lvm/Lvm.ts): it holds every change the agent made, so the provisioned
 * sum and the counts are exact, and the pool's fill level and the VG's figures are at most its max
 * age old. The controller polls every 10 s; reading lvm afresh for each poll cost two lvm
 * commands that, during a burst of creates, competed with the lvcreates. The I/O load comes from
 * the sampler.
 */
export class NodeStatusReporter {
  readonly #opts: NodeStatusReporterOptions;

  constructor(opts: NodeStatusReporterOptions) {
    validateThinCapacityPolicy(opts);
    this.#opts = { ...opts, labels: { ...opts.labels }, portal: { ...opts.portal } };
  }

  /**
   * The node's status, from two lvm reads run together (vgs, lvs of the VG with its pool), remembered or not:
   *   1. volume group size, free space and extent size;
   *   2. thin pool status from the pool and the sum of its thin LVs' virtual sizes (capacity.ts);
   *   3. volume and snapshot counts by the classifier; the sampler's current I/O load.
   */
  async getNodeStatus(signal?: AbortSignal): Promise<NodeStatus__Output> {
    const [vg, { pool, volumes: lvs }] = await Promise.all([this.#opts.lvm.getVolumeGroup(signal), this.#opts.lvm.readPoolAndVolumes(signal)]);
    let volumeCount = 0;
    let snapshotCount = 0;
    for (const lv of lvs) {
      const kind = this.#opts.classify(lv);
      if (kind === 'volume') volumeCount += 1;
      else if (kind === 'snapshot') snapshotCount += 1;
    }
    return {
      node_name: this.#opts.nodeName,
      ready: this.#opts.isReady(),
      volume_group: { name: vg.name, size_bytes: vg.sizeBytes, free_bytes: vg.freeBytes, extent_size_bytes: vg.extentSizeBytes },
      thin_pool: this.#buildThinPoolStatus(pool, lvs),
      io_load: this.#opts.sampler.current(),
      labels: { ...this.#opts.labels },
      portal: { ...this.#opts.portal },
      volume_count: volumeCount,
      snapshot_count: snapshotCount,
    };
  }

  /** The thin pool's status alone (one lvm read), for the admission check before lvcreate. */
  async getThinPoolStatus(signal?: AbortSignal): Promise<ThinPoolStatus__Output> {
    const { pool, volumes } = await this.#opts.lvm.readPoolAndVolumes(signal);
    return this.#buildThinPoolStatus(pool, volumes);
  }

  /**
   * Provisioned = every thin LV of the pool, parked snapshots included: a snapshot holds on to
   * its blocks as its origin is rewritten, so it can come to own as much as its virtual size
   * (the sum lvm itself checks against the pool size). An inactive pool reports no fill level,
   * so it admits nothing until it is active again.
   */
  #buildThinPoolStatus(pool: ThinPool, lvs: readonly LogicalVolume[]): ThinPoolStatus__Output {
    const provisionedBytes = sumProvisionedBytes(lvs, pool.name);
    return computeThinPoolStatus({
      name: `${pool.vgName}/${pool.name}`,
      poolSizeBytes: pool.sizeBytes,
      dataPercent: pool.dataPercent,
      metadataPercent: pool.metadataPercent,
      provisionedBytes,
      overprovisionRatio: this.#opts.overprovisionRatio,
      dataLimitPercent: this.#opts.dataLimitPercent,
      metadataLimitPercent: this.#opts.metadataLimitPercent,
      health: pool.isActive ? pool.health : 'inactive',
    });
  }
}
