import { parseCount, readReportRows } from './parseReport.ts';
import type { PhysicalVolume } from './types.ts';

/** The `-o` list the Lvm class passes to pvs; parsePvsReport requires every one of them. */
export const PVS_FIELDS = ['pv_name', 'vg_name', 'pv_size', 'pv_free'] as const;

/** What pvs prints as pv_name for a PV of a VG whose device it cannot find. */
const MISSING_PV_NAME = '[unknown]';

/** Parses `pvs --reportformat json --units b --nosuffix -o <PVS_FIELDS>`. Throws LvmReportError on anything unexpected. */
export function parsePvsReport(stdout: string): PhysicalVolume[] {
  return readReportRows(stdout, 'pv', PVS_FIELDS).map((row) => {
    const isMissing = row.pv_name === MISSING_PV_NAME;
    return {
      devicePath: isMissing ? undefined : row.pv_name,
      // '' is lvm's way of saying the PV belongs to no VG (an orphan).
      vgName: row.vg_name === '' ? undefined : row.vg_name,
      sizeBytes: parseCount(row.pv_size, `${row.pv_name} pv_size`),
      freeBytes: parseCount(row.pv_free, `${row.pv_name} pv_free`),
      isMissing,
    };
  });
}
