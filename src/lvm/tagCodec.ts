import { InvalidArgumentError } from '../errors.ts';

/**
 * LV tags carry our metadata (the CSI name above all) so a lookup by name is one `lvs` call
 * (docs/field-notes.md 3.7). A tag reads `vbs.<key>=<value>`, e.g. `vbs.name=pvc-0b5c…`.
 *
 * Why this encoding: LVM allows only [A-Za-z0-9_+.\-/=!:#&] in tags, while a CSI name may be
 * any UTF-8 up to 128 bytes. The value is escaped byte by byte: [A-Za-z0-9_.-] pass through
 * (so the usual `pvc-<uuid>` names stay readable in `lvs -o tags`), every other UTF-8 byte
 * becomes `:` and two upper-case hex digits. `:` is itself always escaped, so the mapping is
 * reversible; the decoder accepts only the canonical form (upper-case hex, no escaped
 * pass-through bytes, valid UTF-8), so each name has exactly one tag and a tag comparison is
 * a name comparison. The worst case is 3 characters per byte: 384 for a 128-byte name, far
 * inside LVM's 1024-character limit. Hex/base64 of the whole value were the alternatives;
 * they are as safe but make every name unreadable to an operator.
 */
export const TAG_PREFIX = 'vbs.';

/** LVM's documented limit on one tag. */
export const MAX_TAG_LENGTH = 1024;

/** Keys are ours (not user input): short, lower-case, and free of '=' so the split is unambiguous. */
const KEY_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const PASS_THROUGH = /^[A-Za-z0-9_.-]$/;
const ESCAPE = ':';

export interface DecodedTag {
  readonly key: string;
  readonly value: string;
}

/** Builds the LV tag for `key` = `value`; throws InvalidArgumentError when it cannot be represented. */
export function encodeTag(key: string, value: string): string {
  if (!KEY_PATTERN.test(key)) throw new InvalidArgumentError(`tag key ${JSON.stringify(key)} must match ${KEY_PATTERN}`);
  if (!value.isWellFormed()) throw new InvalidArgumentError(`tag value for ${key} is not well-formed Unicode`);
  let encoded = '';
  for (const byte of new TextEncoder().encode(value)) {
    const ch = String.fromCharCode(byte);
    encoded += PASS_THROUGH.test(ch) ? ch : ESCAPE + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  const tag = `${TAG_PREFIX}${key}=${encoded}`;
  if (tag.length > MAX_TAG_LENGTH) {
    throw new InvalidArgumentError(`tag value for ${key} is too long: ${tag.length} characters encoded, LVM allows ${MAX_TAG_LENGTH}`);
  }
  return tag;
}

/**
 * Reads one LV tag. Returns undefined for tags that are not ours (no `vbs.` prefix), so foreign
 * tags pass untouched; throws InvalidArgumentError for a `vbs.` tag that is not in the canonical
 * form encodeTag writes, because such a tag was edited by hand and lookups by it would lie.
 */
export function decodeTag(tag: string): DecodedTag | undefined {
  if (!tag.startsWith(TAG_PREFIX)) return undefined;
  const body = tag.slice(TAG_PREFIX.length);
  const eq = body.indexOf('=');
  const key = eq < 0 ? body : body.slice(0, eq);
  if (eq < 0 || !KEY_PATTERN.test(key)) throw new InvalidArgumentError(`tag ${JSON.stringify(tag)} is not of the form ${TAG_PREFIX}<key>=<value>`);
  const encoded = body.slice(eq + 1);
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded[i]!;
    if (PASS_THROUGH.test(ch)) {
      bytes.push(ch.charCodeAt(0));
      continue;
    }
    const hex = encoded.slice(i + 1, i + 3);
    if (ch !== ESCAPE || !/^[0-9A-F]{2}$/.test(hex)) throw new InvalidArgumentError(`tag ${JSON.stringify(tag)} has an invalid escape at offset ${i}`);
    const byte = Number.parseInt(hex, 16);
    if (PASS_THROUGH.test(String.fromCharCode(byte))) throw new InvalidArgumentError(`tag ${JSON.stringify(tag)} escapes a character that must appear as itself`);
    bytes.push(byte);
    i += 2;
  }
  let value: string;
  try {
    value = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes));
  } catch {
    throw new InvalidArgumentError(`tag ${JSON.stringify(tag)} does not decode to valid UTF-8`);
  }
  return { key, value };
}

/** Decodes every tag of ours into a record; foreign tags are ignored, a key seen twice throws. */
export function decodeTags(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags) {
    const decoded = decodeTag(tag);
    if (!decoded) continue;
    if (Object.hasOwn(out, decoded.key)) throw new InvalidArgumentError(`tag key ${decoded.key} appears twice`);
    out[decoded.key] = decoded.value;
  }
  return out;
}
