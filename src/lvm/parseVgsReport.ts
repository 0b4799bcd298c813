import { parseCount, readReportRows } from './parseReport.ts';
import type { VolumeGroup } from './types.ts';

/** The `-o` list the Lvm class passes to vgs; parseVgsReport requires every one of them. */
export const VGS_FIELDS = [
  'vg_name', 'vg_uuid', 'vg_size', 'vg_free', 'vg_extent_size', 'vg_extent_count', 'vg_free_count',
] as const;

/** Parses `vgs --reportformat json --units b --nosuffix -o <VGS_FIELDS>`. Throws LvmReportError on anything unexpected. */
export function parseVgsReport(stdout: string): VolumeGroup[] {
  return readReportRows(stdout, 'vg', VGS_FIELDS).map((row) => ({
    name: row.vg_name,
    uuid: row.vg_uuid,
    sizeBytes: parseCount(row.vg_size, 'vg_size'),
    freeBytes: parseCount(row.vg_free, 'vg_free'),
    extentSizeBytes: parseCount(row.vg_extent_size, 'vg_extent_size'),
    extentCount: parseCount(row.vg_extent_count, 'vg_extent_count'),
    freeExtentCount: parseCount(row.vg_free_count, 'vg_free_count'),
  }));
}
