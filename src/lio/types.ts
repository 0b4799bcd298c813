import type { Portal } from './lioPaths.ts';
import type { ChapCredentials } from '../chap/ChapCredentials.ts';


export interface AclSpec {
  readonly initiatorIqn: string;
  readonly chap: ChapCredentials;
  /** Overrides LioTarget's cmdsnDepth for this ACL; only applied when the ACL is created. */
  readonly cmdsnDepth?: number;
  /** In an ExportSpec, overrides the spec's readOnly for this ACL (addAcl takes its own option). */
  readonly readOnly?: boolean;
}

export interface ExportSpec {
  /** The iblock storage object's name (e.g. the LV name). */
  readonly backstoreName: string;
  /** The block device to export, e.g. /dev/vg0/lv1. */
  readonly devicePath: string;
  /** A lowercase UUID, see buildUnitSerial; set once, never changed. */
  readonly serial: string;
  readonly targetIqn: string;
  readonly portal: Portal;
  /** Maps LUN 0 write-protected for every ACL in this spec that does not set its own readOnly. */
  readonly readOnly?: boolean;
  /**
   * Thin LV: advertise UNMAP and WRITE SAME with UNMAP (emulate_tpu, emulate_tpws) so an initiator's
   * discards reach dm-thin and free pool space; never LBPRZ (see LioTarget.exportVolume).
   */
  readonly thin: boolean;
  readonly acls: readonly AclSpec[];
}

/** What an exportVolume call changed, one line per directory, link or attribute; empty when nothing was needed. */
export interface ExportReport {
  readonly changes: readonly string[];
}

export interface AclSummary {
  readonly initiatorIqn: string;
  readonly mappedLuns: readonly { readonly lun: number; readonly readOnly: boolean }[];
  readonly chapUserid: string;
  readonly mutualUserid: string | undefined;
  /** Present only when listExports is asked for secrets. */
  readonly chapPassword?: string;
  readonly mutualPassword?: string;
  readonly cmdsnDepth: number | undefined;
}

export interface LunSummary {
  readonly lun: number;
  /** undefined when the LUN has no backstore link (a half-built or half-removed export). */
  readonly backstore: BackstoreSummary | undefined;
}

export interface BackstoreSummary {
  readonly plugin: string;
  readonly hbaIndex: number;
  readonly name: string;
  readonly devicePath: string;
  readonly serial: string;
  readonly enabled: boolean;
  /** UNMAP and WRITE SAME with UNMAP both advertised (emulate_tpu and emulate_tpws are 1). */
  readonly thin: boolean;
}

export interface ExportSummary {
  readonly targetIqn: string;
  readonly tpgTag: number;
  readonly enabled: boolean;
  readonly portals: readonly Portal[];
  readonly luns: readonly LunSummary[];
  readonly acls: readonly AclSummary[];
}
