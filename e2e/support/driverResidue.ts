/**
 * What a driver may leave behind on a host after every volume is gone, listed so a scenario can assert
 * none is left: iSCSI sessions and node records to its targets, its dm devices, mounts under the
 * kubelet's CSI directories, LIO targets (with their ACLs), LVs besides the thin pool, stage
 * records. Read from the kernel and the tools directly, not from the driver.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { Iscsiadm } from '../../src/iscsi/index.ts';
import type { LioTarget } from '../../src/lio/index.ts';

export type Sh = (file: string, args: readonly string[], okExitCodes?: readonly number[]) => Promise<{ stdout: string }>;

/** The node plugin's dm devices (buildDmName, buildReadOnlyDmName); LVM's own are `<vg>-<lv>` with doubled dashes. */
export const NODE_DM_NAME = /^vbs-[0-9a-f]{20}(?:-ro-[0-9a-f]{16})?$/;

export interface ResidueScope {
  /** the agent's target names' prefix (agent.iqnPrefix) */
  readonly iqnPrefix: string;
  /** the storage nodes' VGs, each with its thin pool named `thinPool` */
  readonly vgs: readonly string[];
  readonly thinPool: string;
  /** the mount points that count: where the kubelet has CSI volumes staged and published */
  readonly mounts: RegExp;
  /** each node plugin's --state-dir */
  readonly stageRecordDirs: readonly string[];
}

export async function findDriverResidue(scope: ResidueScope, tools: { sh: Sh; lio: LioTarget; iscsiadm: Iscsiadm; signal: AbortSignal }): Promise<string[]> {
  const { sh, lio, iscsiadm, signal } = tools;
  const found: string[] = [];
  const ours = (iqn: string) => iqn.startsWith(`${scope.iqnPrefix}:`);
  for (const s of await iscsiadm.listSessions(signal)) if (ours(s.targetIqn)) found.push(`iSCSI session ${s.sid} to ${s.targetIqn}`);
  const records = await sh('iscsiadm', ['-m', 'node'], [0, 21]);
  for (const line of records.stdout.split('\n')) if (line.includes(`${scope.iqnPrefix}:`)) found.push(`node record ${line.trim()}`);
  const dm = await sh('dmsetup', ['ls']);
  for (const line of dm.stdout.split('\n')) if (NODE_DM_NAME.test(line.split('\t')[0]?.trim() ?? '')) found.push(`dm device ${line.trim()}`);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint !== undefined && scope.mounts.test(mountPoint)) found.push(`mount at ${mountPoint}`);
  }
  for (const exp of await lio.listExports()) if (ours(exp.targetIqn)) found.push(`LIO target ${exp.targetIqn} (ACLs: ${exp.acls.map((a) => a.initiatorIqn).join(', ') || 'none'})`);
  for (const vg of scope.vgs) {
    const lvs = await sh('lvm', ['lvs', '--noheadings', '-o', 'lv_name', vg]);
    for (const lv of lvs.stdout.split('\n').map((l) => l.trim())) if (lv !== '' && lv !== scope.thinPool) found.push(`LV ${vg}/${lv}`);
  }
  for (const dir of scope.stageRecordDirs) {
    for (const f of await readdir(dir).catch(() => [] as string[])) if (f.endsWith('.json')) found.push(`stage record ${dir}/${f}`);
  }
  return found;
}
