import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';

/** RFC 3720 3.2.6.1: an iSCSI name is at most 223 bytes. */
export const MAX_IQN_BYTES = 223;

const LABEL = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
/**
 * `iqn.YYYY-MM.reversed.domain[:suffix]`, lowercase. The suffix is kept to [a-z0-9.:-] because the
 * name becomes a configfs directory and an iscsiadm argument; no '_' or ' ' (rtslib utils.py).
 */
const IQN = new RegExp(`^iqn\\.[0-9]{4}-(?:0[1-9]|1[0-2])\\.${LABEL}(?:\\.${LABEL})*(?::[a-z0-9.:-]*[a-z0-9])?$`);

export function isValidIqn(name: string): boolean {
  return IQN.test(name) && Buffer.byteLength(name, 'utf8') <= MAX_IQN_BYTES;
}

/**
 * Lowercases and trims an IQN, then validates it. LIO compares ACL names byte for byte and keeps
 * a mixed-case ACL directory as given, so every IQN must pass through here before it becomes a
 * configfs name (docs/field-notes.md 4.9).
 */
export function normalizeIqn(raw: string, what = 'IQN'): string {
  const name = raw.trim().toLowerCase();
  if (!isValidIqn(name)) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(raw)} is not a valid iSCSI qualified name: expected iqn.YYYY-MM.reversed.domain[:suffix] ` +
        `using only a-z, 0-9, '.', '-' and ':' and at most ${MAX_IQN_BYTES} bytes`,
    );
  }
  return name;
}

/**
 * The target IQN of one volume: `<prefix>:<key>`. A key that is already a valid lowercase IQN
 * suffix is used as is; any other key is lowercased, each run of other characters becomes '-'
 * and an 8-hex-digit hash of the original key is appended, so two keys never share an IQN.
 */
export function buildTargetIqn(prefix: string, volumeKey: string): string {
  const base = normalizeIqn(prefix, 'target IQN prefix');
  if (volumeKey.length === 0) throw new InvalidArgumentError('the volume key of a target IQN must not be empty');
  const clean = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(volumeKey);
  let suffix = clean
    ? volumeKey
    : `${volumeKey.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}-${shortHash(volumeKey)}`.replace(/^-/, '');
  const room = MAX_IQN_BYTES - base.length - 1;
  if (suffix.length > room) {
    const hash = shortHash(volumeKey);
    if (room < hash.length + 2) throw new InvalidArgumentError(`target IQN prefix ${base} leaves no room for a volume key`);
    suffix = `${suffix.slice(0, room - hash.length - 1).replace(/[.-]+$/, '')}-${hash}`;
  }
  return normalizeIqn(`${base}:${suffix}`, 'target IQN');
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 8);
}
