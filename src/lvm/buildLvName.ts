import { createHash } from 'node:crypto';
import { validateLvName } from './validateNames.ts';

export type LvKind = 'volume' | 'snapshot';

const KIND_PREFIX: Readonly<Record<LvKind, string>> = { volume: 'vbs-vol-', snapshot: 'vbs-snap-' };

/** RFC 4648 base32, lower-cased: letters and digits only, so no '_' and no reserved "_tdata"-like string can appear. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 26 base32 characters = 130 bits of SHA-256: collisions are not a practical concern. */
const HASH_CHARS = 26;

/**
 * The LV name for a volume or snapshot, derived from an id of any length and alphabet (the
 * CSI name, usually): `vbs-vol-<26 base32 chars>`. Deterministic, so a retried CreateVolume
 * computes the same name; short, so the device-mapper name stays far below its 127-character
 * limit whatever the VG is called (docs/field-notes.md 3.7). The CSI name itself travels in a tag.
 */
export function buildLvName(id: string, kind: LvKind): string {
  const digest = createHash('sha256').update(id, 'utf8').digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < HASH_CHARS) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length === HASH_CHARS) break;
  }
  const name = KIND_PREFIX[kind] + out;
  validateLvName(name);
  return name;
}
