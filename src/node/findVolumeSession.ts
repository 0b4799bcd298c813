import { findSessionIdInSysfs, readSessionStateInSysfs } from '../iscsi/index.ts';
import type { IscsiTarget } from '../iscsi/index.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { sysfs } from './NodeDeps.ts';

export interface VolumeSession {
  readonly sid: number;
  readonly sessionState: string | undefined;
  readonly connectionState: string | undefined;
}

/**
 * The session of a staged volume's target and its state, from sysfs (a few file reads), or from
 * `iscsiadm -m session -P 3` when sysfs does not show it. iscsiadm walks every session and disk
 * of the host, and kubelet asks for health and expansion per volume, so on a node with many
 * volumes the sysfs read is what keeps these calls cheap.
 */
export async function findVolumeSession(deps: NodeDeps, target: IscsiTarget, signal: AbortSignal): Promise<VolumeSession | undefined> {
  const sid = await findSessionIdInSysfs(target, sysfs(deps));
  if (sid !== undefined) {
    const state = await readSessionStateInSysfs(sid, sysfs(deps));
    if (state.sessionState !== undefined) return { sid, ...state };
  }
  const session = await deps.iscsiadm.findSession(target, signal);
  return session && { sid: session.sid, sessionState: session.sessionState, connectionState: session.connectionState };
}
