import * as fs from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import * as nodePath from 'node:path';
import type { IscsiPortal } from './portal.ts';

/** What identifies one session: target, the portal it was logged in through (with its tag), and iface. */
export interface SessionKey {
  readonly targetIqn: string;
  readonly portal: IscsiPortal;
  /** Default 1, what LIO exports use. */
  readonly tpgt?: number;
  /** Default "default". */
  readonly iface?: string;
}

/**
 * The id of the session iscsid holds for this target, portal, tag and iface, read from sysfs,
 * where `iscsiadm -m session` reads it too: /sys/class/iscsi_session/session<sid>/{targetname,
 * tpgt,ifacename} and /sys/class/iscsi_connection/connection<sid>:0/persistent_{address,port}
 * (the portal of the node record the login used; the current address can differ after a
 * redirect). Saves spawning iscsiadm right after a login (about a second under emulation).
 * Undefined when no session matches or an attribute is unreadable: the caller may then ask
 * iscsiadm.
 */
export async function findSessionIdInSysfs(key: SessionKey, opts: { readonly sysRoot?: string } = {}): Promise<number | undefined> {
  const root = opts.sysRoot ?? '/sys';
  const sessionsDir = nodePath.join(root, 'class', 'iscsi_session');
  const wantedIp = canonicalIp(key.portal.ip);
  const wantedTpgt = String(key.tpgt ?? 1);
  const wantedIface = key.iface ?? 'default';
  for (const entry of await readdirOrEmpty(sessionsDir)) {
    const match = /^session([0-9]+)$/.exec(entry);
    if (!match) continue;
    const sid = Number(match[1]);
    const dir = nodePath.join(sessionsDir, entry);
    const conn = nodePath.join(root, 'class', 'iscsi_connection', `connection${sid}:0`);
    const [targetName, tpgt, iface, address, port] = await Promise.all([
      readAttr(nodePath.join(dir, 'targetname')),
      readAttr(nodePath.join(dir, 'tpgt')),
      readAttr(nodePath.join(dir, 'ifacename')),
      readAttr(nodePath.join(conn, 'persistent_address')),
      readAttr(nodePath.join(conn, 'persistent_port')),
    ]);
    if (targetName !== key.targetIqn || tpgt !== wantedTpgt || iface !== wantedIface) continue;
    if (address === undefined || canonicalIp(address) !== wantedIp || port !== String(key.portal.port)) continue;
    return sid;
  }
  return undefined;
}

/**
 * The kernel's view of one session, read where `iscsiadm -m session -P 3` reads it:
 * /sys/class/iscsi_session/session<sid>/state (LOGGED_IN, FAILED while the connection is being
 * recovered, FREE) and the leading connection's state (up, down, failed, bound). Undefined
 * fields could not be read (the session is gone, or this kernel lacks the attribute).
 */
export async function readSessionStateInSysfs(sid: number, opts: { readonly sysRoot?: string } = {}): Promise<{ readonly sessionState: string | undefined; readonly connectionState: string | undefined }> {
  if (!Number.isSafeInteger(sid) || sid < 0) throw new RangeError(`session id ${sid} must be a non-negative integer`);
  const root = opts.sysRoot ?? '/sys';
  const [sessionState, connectionState] = await Promise.all([
    readAttr(nodePath.join(root, 'class', 'iscsi_session', `session${sid}`, 'state')),
    readAttr(nodePath.join(root, 'class', 'iscsi_connection', `connection${sid}:0`, 'state')),
  ]);
  return { sessionState, connectionState };
}

/** IPv6 addresses compare in their compressed lowercase form (the URL parser's canonical form). */
function canonicalIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** An attribute's text without its newline; undefined if it cannot be read (gone, or the connection is down). */
async function readAttr(path: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path, 'latin1')).trim();
  } catch {
    return undefined;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err: unknown) {
    if (typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return [];
    throw err;
  }
}
