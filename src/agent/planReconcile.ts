import type { ChapCredentials } from '../chap/index.ts';
import type { ExportSummary } from '../lio/index.ts';
import type { AgentPortal } from '../agentApi/types.ts';
import { parseTargetName } from './targetIdentity.ts';

/** One ACL as the LV tags say it must be, with its derived CHAP credentials. */
export interface DesiredAcl {
  readonly initiatorIqn: string;
  readonly readOnly: boolean;
  readonly chap: ChapCredentials;
}

/** One volume's export as its LV says it must be. */
export interface DesiredExport {
  readonly volumeId: string;
  readonly targetIqn: string;
  readonly devicePath: string;
  readonly serial: string;
  readonly thin: boolean;
  readonly acls: readonly DesiredAcl[];
}

/**
 * Whether LIO already serves the export exactly as desired: target enabled with our portal, LUN 0
 * linked to the enabled iblock backstore of the LV with its serial and thin flag, and exactly the
 * desired ACLs with their CHAP credentials and write protection. Reconcile leaves such a volume
 * untouched (not even a compare-and-write pass), so live sessions never notice it.
 */
export function isExportInSync(desired: DesiredExport, summary: ExportSummary | undefined, portal: AgentPortal): boolean {
  if (!summary || !summary.enabled) return false;
  if (!summary.portals.some((p) => p.ip === portal.ip && p.port === portal.port)) return false;
  const [lun, ...otherLuns] = summary.luns;
  const bs = lun?.backstore;
  if (!lun || otherLuns.length > 0 || lun.lun !== 0 || !bs) return false;
  if (bs.plugin !== 'iblock' || bs.name !== desired.volumeId || bs.devicePath !== desired.devicePath || bs.serial !== desired.serial || !bs.enabled || bs.thin !== desired.thin) {
    return false;
  }
  if (summary.acls.length !== desired.acls.length) return false;
  return desired.acls.every((want) => {
    const have = summary.acls.find((a) => a.initiatorIqn === want.initiatorIqn);
    if (!have) return false;
    const [mapped, ...otherMapped] = have.mappedLuns;
    return (
      have.chapUserid === want.chap.username &&
      have.chapPassword === want.chap.password &&
      (have.mutualUserid ?? '') === (want.chap.mutual?.username ?? '') &&
      (have.mutualPassword ?? '') === (want.chap.mutual?.password ?? '') &&
      mapped !== undefined &&
      otherMapped.length === 0 &&
      mapped.lun === 0 &&
      mapped.readOnly === want.readOnly
    );
  });
}

export interface OrphanExport {
  readonly targetIqn: string;
  /** The id the target was named after, which is also its backstore's name. */
  readonly objectId: string;
}

/**
 * Targets under our IQN prefix that no volume wants, split into those we may remove and those we
 * must leave alone. Ours to remove: `<prefix>:<volume or snapshot id>[.<lv key>]` (targetIdentity.ts)
 * whose LUN (if any) links a backstore named after that id on a device of our VG: so also the
 * target of an LV since removed and created again under the same id, whose IQN is not the new
 * LV's. A target under our prefix that does not look like
 * one we create (another name shape, a backstore elsewhere) is reported, never touched: another
 * agent or an operator may have made it. Targets outside the prefix are never even considered.
 */
export function findOrphanExports(
  exports: readonly ExportSummary[],
  wantedIqns: ReadonlySet<string>,
  iqnPrefix: string,
  vgName: string,
): { readonly orphans: readonly OrphanExport[]; readonly unrecognized: readonly string[] } {
  const orphans: OrphanExport[] = [];
  const unrecognized: string[] = [];
  const prefix = `${iqnPrefix}:`;
  for (const summary of exports) {
    const iqn = summary.targetIqn;
    if (!iqn.startsWith(prefix) || wantedIqns.has(iqn)) continue;
    const objectId = parseTargetName(iqn.slice(prefix.length))?.objectId;
    const isOurs =
      objectId !== undefined &&
      summary.luns.every((lun) => lun.backstore === undefined || (lun.backstore.name === objectId && lun.backstore.devicePath.startsWith(`/dev/${vgName}/`)));
    if (isOurs && objectId !== undefined) orphans.push({ targetIqn: iqn, objectId });
    else unrecognized.push(iqn);
  }
  return { orphans, unrecognized };
}
