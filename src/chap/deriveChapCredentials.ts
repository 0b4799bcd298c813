import { createHmac } from 'node:crypto';
import type { ChapCredentials } from './ChapCredentials.ts';

/** Shorter keys make every volume's secret guessable together; 32 bytes is HMAC-SHA256's block-safe minimum we accept. */
export const MIN_CHAP_KEY_BYTES = 32;

/**
 * CHAP credentials for one initiator on one volume, derived with HMAC-SHA256 from the cluster's
 * CHAP key: the agent can rebuild every ACL after a reboot and the controller can hand them to
 * the node, yet nothing is stored and nothing follows from the names alone. Each field uses its
 * own label, so the mutual secret differs from the initiator's (open-iscsi refuses equal ones).
 * Passwords are 24 base64url characters (144 bits), inside every initiator's length limits.
 *
 * `lvUuid`, the uuid of the LV behind the volume, makes the secrets differ between two LVs that
 * got the same id (a volume deleted and created again under the same CSI name), so a stale
 * session of the old one cannot log in to the new one (docs/no-old-data.md). Without it the secrets are those of volumes made before it was mixed in.
 */
export function deriveChapCredentials(key: Buffer, volumeId: string, initiatorIqn: string, opts: { mutual: boolean; lvUuid?: string }): ChapCredentials {
  if (key.length < MIN_CHAP_KEY_BYTES) throw new Error(`the CHAP key must be at least ${MIN_CHAP_KEY_BYTES} bytes`);
  if (opts.lvUuid === '') throw new Error('the LV uuid must not be empty');
  const initiator = initiatorIqn.toLowerCase(); // LIO matches initiator names in lowercase
  const volume = opts.lvUuid === undefined ? volumeId : `${volumeId}\0${opts.lvUuid}`;
  const mac = (label: string) => createHmac('sha256', key).update(`${label}\0${volume}\0${initiator}`).digest('base64url');
  const base = { username: `vbs-${mac('username').slice(0, 16)}`, password: mac('password').slice(0, 24) };
  if (!opts.mutual) return base;
  return { ...base, mutual: { username: `vbs-t-${mac('mutual-username').slice(0, 16)}`, password: mac('mutual-password').slice(0, 24) } };
}
