import type { LvAttr } from './decodeLvAttr.ts';

/** A volume group as `vgs` reports it; sizes in bytes. */
export interface VolumeGroup {
  readonly name: string;
  readonly uuid: string;
  readonly sizeBytes: number;
  readonly freeBytes: number;
  /** LV sizes are rounded up to a multiple of this. */
  readonly extentSizeBytes: number;
  readonly extentCount: number;
  readonly freeExtentCount: number;
}

/** A physical volume as `pvs` reports it; sizes in bytes. */
export interface PhysicalVolume {
  /** The device lvm knows the PV by (`/dev/loop0`, `/dev/sdb1`, `/dev/mapper/…`); undefined when missing. */
  readonly devicePath: string | undefined;
  /** undefined for a PV in no VG. */
  readonly vgName: string | undefined;
  readonly sizeBytes: number;
  readonly freeBytes: number;
  /** The VG's metadata lists this PV but its device is gone (pvs prints `[unknown]`). */
  readonly isMissing: boolean;
}

/** A logical volume as `lvs` reports it. */
export interface LogicalVolume {
  readonly vgName: string;
  readonly name: string;
  readonly uuid: string;
  /** The real size after LVM's rounding (virtual size for thin LVs). */
  readonly sizeBytes: number;
  readonly attr: LvAttr;
  /** Our `vbs.*` tags, decoded (see tagCodec.ts). */
  readonly tags: Readonly<Record<string, string>>;
  /** Every tag as LVM stores it, ours and foreign. */
  readonly rawTags: readonly string[];
  /** Thin pool of a thin LV; undefined for thick LVs. */
  readonly pool: string | undefined;
  /** Origin of a snapshot; undefined otherwise. */
  readonly origin: string | undefined;
  /** Percent of the (virtual) size allocated in the pool; undefined for thick or inactive LVs. */
  readonly dataPercent: number | undefined;
  /** Thin pools only. */
  readonly metadataPercent: number | undefined;
  /** Thin pools only. */
  readonly metadataSizeBytes: number | undefined;
  readonly isThin: boolean;
  readonly isActive: boolean;
  /** `/dev/<vg>/<lv>`: the stable path lvm(8) recommends; exists only while the LV is active. */
  readonly devicePath: string;
}

/** Health of a thin pool: anything but 'ok' means new writes or new thin LVs will fail (docs/field-notes.md 3.3). */
export type ThinPoolHealth = 'ok' | 'out-of-data' | 'metadata-read-only' | 'failed' | 'partial' | 'unknown' | 'check-needed';

/** A thin pool and how full it is. */
export interface ThinPool {
  readonly vgName: string;
  readonly name: string;
  readonly sizeBytes: number;
  /** Data space used, percent; 0 when the pool is inactive and lvm cannot tell. */
  readonly dataPercent: number;
  readonly metadataPercent: number;
  readonly metadataSizeBytes: number;
  /** floor(sizeBytes × dataPercent / 100): lvm reports only the percentage. */
  readonly usedBytes: number;
  readonly health: ThinPoolHealth;
  readonly isActive: boolean;
  readonly isZeroing: boolean;
}
