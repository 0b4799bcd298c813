import { decodeLvAttr } from './decodeLvAttr.ts';
import { LvmReportError } from './LvmReportError.ts';
import { parseCount, parseOptionalCount, parsePercent, readReportRows } from './parseReport.ts';
import { decodeTags } from './tagCodec.ts';
import type { LogicalVolume } from './types.ts';

/** The `-o` list the Lvm class passes to lvs; parseLvsReport requires every one of them. */
export const LVS_FIELDS = [
  'vg_name', 'lv_name', 'lv_uuid', 'lv_size', 'lv_attr', 'lv_tags', 'pool_lv', 'origin',
  'data_percent', 'metadata_percent', 'lv_metadata_size',
] as const;

/** Parses `lvs --reportformat json --units b --nosuffix -o <LVS_FIELDS>`. Throws LvmReportError on anything unexpected. */
export function parseLvsReport(stdout: string): LogicalVolume[] {
  return readReportRows(stdout, 'lv', LVS_FIELDS).map((row) => {
    const where = `${row.vg_name}/${row.lv_name}`;
    const attr = decodeLvAttr(row.lv_attr);
    // lv_tags is one comma-separated string: ',' is not allowed inside a tag, so the split is exact.
    const rawTags = row.lv_tags === '' ? [] : row.lv_tags.split(',');
    let tags: Record<string, string>;
    try {
      tags = decodeTags(rawTags);
    } catch (err: unknown) {
      throw new LvmReportError(`${where}: ${(err as Error).message}`);
    }
    return {
      vgName: row.vg_name,
      name: row.lv_name,
      uuid: row.lv_uuid,
      sizeBytes: parseCount(row.lv_size, `${where} lv_size`),
      attr,
      tags,
      rawTags,
      pool: row.pool_lv === '' ? undefined : row.pool_lv,
      origin: row.origin === '' ? undefined : row.origin,
      dataPercent: parsePercent(row.data_percent, `${where} data_percent`),
      metadataPercent: parsePercent(row.metadata_percent, `${where} metadata_percent`),
      metadataSizeBytes: parseOptionalCount(row.lv_metadata_size, `${where} lv_metadata_size`),
      isThin: attr.volumeType === 'thin-volume',
      isActive: attr.state === 'active',
      devicePath: `/dev/${row.vg_name}/${row.lv_name}`,
    };
  });
}
