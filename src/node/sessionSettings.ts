import type { SessionSettings } from '../iscsi/index.ts';

/**
 * Session settings written to every node record before login (they take effect at login; field
 * notes 1.7). One storage node serves each volume and there is no second path to fail over to,
 * so the choice favours riding out a storage-node restart over failing fast:
 * - replacement_timeout 180 s: while a session is down, I/O queues for up to 3 minutes before it
 *   fails upward (ext4 then remounts read-only, XFS shuts down). The agent rebuilds its LIO
 *   exports from LV tags before it reports ready, so a storage node (or agent) back within about
 *   two minutes, plus iscsid's reconnect interval, resumes I/O with no error seen by the pod.
 *   Longer would keep pods hanging in D state for a target that is really gone.
 * - noop_out interval 5 s / timeout 10 s: a dead connection is noticed within about 15 s and
 *   iscsid starts reconnecting; the 10 s answer window (default 5 s) keeps a busy but healthy
 *   target under emulation or heavy load from being declared dead.
 * - login_timeout 15 s, initial_login_retry_max 4: a first login to an unreachable portal gives
 *   up after about a minute, inside kubelet's NodeStage deadline, and the CO retries.
 */
export const NODE_SESSION_SETTINGS: SessionSettings = Object.freeze({
  replacementTimeoutS: 180,
  noopOutIntervalS: 5,
  noopOutTimeoutS: 10,
  loginTimeoutS: 15,
  initialLoginRetryMax: 4,
});

/**
 * Session settings of every copy of a replicated volume. Here a dead path must fail fast, the
 * opposite of NODE_SESSION_SETTINGS: dm-raid marks a leg dead only when an I/O to it fails, and
 * until then every write to the mirror waits for the dead copy. The same reasoning as open-iscsi's
 * README, "iSCSI settings for dm-multipath" (commands must be failed quickly to the layer that
 * has another path): the other copies are that other path. Measured in the test bed
 * (docs/replication-kernel.md, b): the longest write stall when a copy's node vanishes is
 * noop interval + noop timeout + replacement timeout, 12.4 s with 2/5/5 and 5.3 s with these
 * 1/2/2, with no I/O error either way; a healthy copy made 7 s slow per I/O was never failed by
 * either (LIO answers Nop-Outs whatever its backing device's latency), so the short timeout costs
 * no false failures from a slow disk.
 * - login_timeout 5 s, initial_login_retry_max 2: a copy that does not answer at stage time is
 *   given up after about 10 s; the stage goes on without it only when the copies' record allows.
 */
export const MIRROR_SESSION_SETTINGS: SessionSettings = Object.freeze({
  replacementTimeoutS: 2,
  noopOutIntervalS: 1,
  noopOutTimeoutS: 2,
  loginTimeoutS: 5,
  initialLoginRetryMax: 2,
});
