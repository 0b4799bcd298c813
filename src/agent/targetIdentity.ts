import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';
import { buildTargetIqn } from '../lio/index.ts';
import { isSnapshotId, isVolumeId } from '../agentApi/ids.ts';

/**
 * What a volume's target IQN and CHAP secrets are derived from:
 * - 'lv-uuid' (every volume created since): the volume id and its LV's uuid, so a volume deleted
 *   and created again under the same CSI name (same id) gets another IQN and other secrets, and a
 *   stale session of the old one, still retrying its login, can never reach the new one;
 * - 'volume-id' (volumes created before, which carry no identity tag): the id alone, kept so an
 *   agent upgrade does not change the IQN and secrets of volumes already published. They are
 *   safe too: their name, once deleted and created again, comes back as an 'lv-uuid' volume.
 */
export type TargetIdentity = 'volume-id' | 'lv-uuid';

/** Hex digits of SHA-256 of the LV uuid in the target name: 48 bits, lowercase as an IQN must be. */
const LV_KEY_HEX = 12;

const TARGET_NAME = /^((?:vbs-vol-|vbs-snap-)[a-z2-7]{26})(?:\.([0-9a-f]{12}))?$/;

/** The short, lowercase stand-in for an LV uuid (which is mixed-case) in a target name. */
export function lvUuidKey(lvUuid: string): string {
  if (lvUuid === '') throw new InvalidArgumentError('an LV uuid must not be empty');
  return createHash('sha256').update(lvUuid, 'utf8').digest('hex').slice(0, LV_KEY_HEX);
}

/** The part of a volume's target IQN after `<prefix>:`: `<volume id>.<lv key>`, or the id alone for 'volume-id'. */
export function buildTargetName(v: { readonly id: string; readonly identity: TargetIdentity; readonly lvUuid: string }): string {
  return v.identity === 'lv-uuid' ? `${v.id}.${lvUuidKey(v.lvUuid)}` : v.id;
}

/** A target name this agent makes, read back: the object it was named after and the LV key, if any. */
export function parseTargetName(name: string): { readonly objectId: string; readonly lvKey: string | undefined } | undefined {
  const m = TARGET_NAME.exec(name);
  const objectId = m?.[1];
  if (objectId === undefined || !(isVolumeId(objectId) || isSnapshotId(objectId))) return undefined;
  return { objectId, lvKey: m?.[2] };
}

/**
 * Refuses a prefix too long for `<prefix>:<volume id>.<lv key>` to fit RFC 3720's 223 bytes:
 * buildTargetIqn would shorten such names with a hash, and reconcile could no longer tell which
 * volume a target belongs to.
 */
export function validateTargetIqnPrefix(prefix: string): void {
  const longest = `vbs-snap-${'a'.repeat(26)}.${'0'.repeat(LV_KEY_HEX)}`;
  if (!buildTargetIqn(prefix, longest).endsWith(`:${longest}`)) {
    throw new InvalidArgumentError(`target IQN prefix ${JSON.stringify(prefix)} is too long: <prefix>:${longest} must fit in 223 bytes`);
  }
}
