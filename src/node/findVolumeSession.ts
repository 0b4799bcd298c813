import { findSessionIdInSysfs, readSessionStateInSysfs } from '../iscsi/index.ts';
import type { IscsiTarget } from '../iscsi/index.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { sysfs } from './NodeDeps.ts';

export interface VolumeSession {
  readonly sid: number;
  readonly sessionState: string | undefined;
  readonly connectionState: string | undefined;
}

/*
 * Sessions are looked up in sysfs first (a few file reads, where `iscsiadm -m session` reads them
 * too) and from `iscsiadm -m session -P 3` only when sysfs does not show them. iscsiadm costs a
 * process spawn and walks every session and disk of the host, and kubelet calls stage, expand and
 * health per volume, so on a node with many volumes the sysfs read is what keeps them cheap.
 */

/** The id of the session to a volume's target, or undefined when there is none. */
export async function findSessionId(deps: NodeDeps, target: IscsiTarget, signal: AbortSignal): Promise<number | undefined> {
  return (await findSessionIdInSysfs(target, sysfs(deps))) ?? (await deps.iscsiadm.findSession(target, signal))?.sid;
}

/** The session to a volume's target and its state, or undefined when there is none. */
export async function findVolumeSession(deps: NodeDeps, target: IscsiTarget, signal: AbortSignal): Promise<VolumeSession | undefined> {
  const sid = await findSessionIdInSysfs(target, sysfs(deps));
  if (sid !== undefined) {
    const state = await readSessionStateInSysfs(sid, sysfs(deps));
    if (state.sessionState !== undefined) return { sid, ...state };
  }
  const session = await deps.iscsiadm.findSession(target, signal);
  return session && { sid: session.sid, sessionState: session.sessionState, connectionState: session.connectionState };
}
