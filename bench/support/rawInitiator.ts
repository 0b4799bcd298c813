import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from '../../e2e/vm/poll.ts';
import { parsePublishContext } from '../../src/csi/publishContext.ts';
import { byPathDevice, parsePortal, waitForDevice } from '../../src/iscsi/index.ts';
import type { Iscsiadm, IscsiTarget } from '../../src/iscsi/index.ts';
import type { ChapCredentials } from '../../src/chap/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';

/** A LUN as the raw baseline logs in to it: by hand, with the CHAP credentials of the driver's ACL. */
export interface RawLun {
  readonly target: IscsiTarget;
  readonly lun: number;
  readonly chap: ChapCredentials;
}

/**
 * The LUN publish_context names, with the credentials read from the target's ACL for this
 * initiator (the bench runs on the storage host; publish_context carries no secret).
 */
export async function rawLunOf(publishContext: Readonly<Record<string, string>>, initiatorIqn: string): Promise<RawLun> {
  const pc = parsePublishContext(publishContext);
  const portal = parsePortal(pc.targetPortal)?.portal;
  if (portal === undefined) throw new Error(`publish_context has an unreadable portal ${JSON.stringify(pc.targetPortal)}`);
  const acl = (await new LioTarget({ configFs: new FsConfigFs() }).readExport(pc.targetIqn, { includeSecrets: true }))?.acls.find((a) => a.initiatorIqn === initiatorIqn.toLowerCase());
  if (!acl?.chapPassword) throw new Error(`no ACL with CHAP for ${initiatorIqn} on ${pc.targetIqn}`);
  const mutual = acl.mutualUserid !== undefined && acl.mutualPassword ? { mutual: { username: acl.mutualUserid, password: acl.mutualPassword } } : {};
  return { target: { targetIqn: pc.targetIqn, portal }, lun: pc.lun, chap: { username: acl.chapUserid, password: acl.chapPassword, ...mutual } };
}

/**
 * What an administrator types: a node record with the CHAP credentials (iscsid.conf's defaults
 * otherwise), login, then wait for udev's by-path link. Resolves with that link. When the same
 * LUN was just logged out (by the node plugin), udev may not have removed the old link yet: that
 * is waited out first, so the link found is the new session's.
 */
export async function rawLogin(iscsiadm: Iscsiadm, lun: RawLun, signal: AbortSignal): Promise<string> {
  const link = byPathDevice(lun.target.portal, lun.target.targetIqn, lun.lun);
  await pollUntil(() => (existsSync(link) ? undefined : true), { deadlineMs: Date.now() + 30_000, intervalMs: 100, what: `udev to remove the stale link ${link}`, signal });
  await iscsiadm.ensureNodeRecord({ target: lun.target, chap: lun.chap }, signal);
  await iscsiadm.login(lun.target, signal);
  return waitForDevice(link, { deadlineMs: 60_000, pollMs: 100, signal });
}

/** Logout and node record removal; both tolerate "already gone". */
export async function rawLogout(iscsiadm: Iscsiadm, lun: RawLun, signal: AbortSignal): Promise<void> {
  await iscsiadm.logout(lun.target, signal);
  await iscsiadm.deleteNodeRecord(lun.target, signal);
}

const SESSION_PARAMS = ['first_burst_len', 'max_burst_len', 'immediate_data', 'initial_r2t'] as const;
const CONNECTION_PARAMS = ['max_recv_dlength', 'max_xmit_dlength'] as const;

/**
 * What the login of `targetIqn` negotiated, from the initiator's sysfs (iscsi_session and
 * iscsi_connection classes), e.g. "max_recv_dlength=262144 max_xmit_dlength=8192 …"; for the log.
 */
export async function negotiatedParams(targetIqn: string, sysfs = '/sys/class'): Promise<string> {
  const read = async (file: string) => (await readFile(file, 'utf8').catch(() => '?')).trim();
  for (const session of await readdir(join(sysfs, 'iscsi_session')).catch(() => [])) {
    const dir = join(sysfs, 'iscsi_session', session);
    if ((await read(join(dir, 'targetname'))) !== targetIqn) continue;
    const conn = join(sysfs, 'iscsi_connection', `connection${session.replace(/^session/, '')}:0`);
    const pairs = [
      ...(await Promise.all(CONNECTION_PARAMS.map(async (p) => `${p}=${await read(join(conn, p))}`))),
      ...(await Promise.all(SESSION_PARAMS.map(async (p) => `${p}=${await read(join(dir, p))}`))),
    ];
    return pairs.join(' ');
  }
  return `no session with ${targetIqn}`;
}
