import { ConfigFsError, backstoreDir, tpgDir } from '../../src/lio/index.ts';
import type { ConfigFs } from '../../src/lio/index.ts';

/**
 * Issue 7's "tune LIO and session settings": the target-side iSCSI parameters raised from LIO's
 * defaults (MaxRecvDataSegmentLength 8192, FirstBurstLength 65536, MaxBurstLength 262144) to
 * what open-iscsi offers by default, so data PDUs and bursts are no longer cut at 8 KiB / 64 KiB /
 * 256 KiB. They apply to sessions that log in afterwards. Queue depth is left as it is: the
 * driver's ACL cmdsn_depth (128) and open-iscsi's queue_depth (32) are both above fio's 16.
 */
export const TUNED_TPG_PARAMS: Readonly<Record<string, string>> = {
  MaxRecvDataSegmentLength: '262144',
  FirstBurstLength: '262144',
  MaxBurstLength: '1048576',
};

/** What applying the tuning found and did, for the scenario log. */
export interface AppliedTuning {
  readonly before: Readonly<Record<string, string>>;
  /** emulate_write_cache: what the backstore showed, and whether the kernel took "1". */
  readonly writeCache: { readonly before: string; readonly enabled: boolean; readonly refusal?: string };
  restore(): Promise<void>;
}

/**
 * Raises the TPG parameters of one export and tries write cache emulation on its backstore
 * (safe for an iblock backstore: the initiator's SYNCHRONIZE CACHE reaches the LV as a flush;
 * the kernel refuses it when the backing device reports its own cache). `restore()` writes back
 * what was there before.
 */
export async function applyTuning(fs: ConfigFs, targetIqn: string, backstore: { readonly hbaIndex: number; readonly name: string }): Promise<AppliedTuning> {
  const paramDir = `${tpgDir(targetIqn)}/param`;
  const wcePath = `${backstoreDir(backstore.hbaIndex, backstore.name)}/attrib/emulate_write_cache`;
  const before: Record<string, string> = {};
  for (const name of Object.keys(TUNED_TPG_PARAMS)) before[name] = ((await fs.readAttr(`${paramDir}/${name}`)) ?? '').trim();
  const restoreParams = async () => {
    for (const [name, value] of Object.entries(before)) if (value !== '') await fs.writeAttr(`${paramDir}/${name}`, value);
  };
  try {
    for (const [name, value] of Object.entries(TUNED_TPG_PARAMS)) await fs.writeAttr(`${paramDir}/${name}`, value);
  } catch (err: unknown) {
    await restoreParams().catch(() => undefined);
    throw err;
  }
  const wceBefore = ((await fs.readAttr(wcePath)) ?? '').trim();
  let refusal: string | undefined;
  if (wceBefore !== '1') {
    try {
      await fs.writeAttr(wcePath, '1');
    } catch (err: unknown) {
      if (!(err instanceof ConfigFsError)) throw err;
      refusal = err.message;
    }
  }
  const enabled = ((await fs.readAttr(wcePath)) ?? '').trim() === '1';
  return {
    before,
    writeCache: { before: wceBefore, enabled, ...(refusal !== undefined ? { refusal } : {}) },
    async restore() {
      await restoreParams();
      if (enabled && wceBefore !== '1') await fs.writeAttr(wcePath, wceBefore || '0');
    },
  };
}
