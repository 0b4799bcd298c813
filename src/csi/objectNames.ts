import { InvalidArgumentError } from '../errors.ts';

/** CSI: names (and ids) are at most 128 bytes. */
export const MAX_NAME_BYTES = 128;

/**
 * A CO's name for a volume or snapshot: 1 to 128 bytes of well-formed UTF-8 without U+FFFD.
 * gRPC hands us the name already decoded, and invalid UTF-8 decodes to U+FFFD: two different
 * byte strings the CO sent would arrive as one name and so as one volume, a retry of the one
 * answered with the other's data. A CO names volumes `pvc-<uuid>`; refusing the character costs
 * nothing real.
 */
export function validateObjectName(name: string, what: string): string {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > MAX_NAME_BYTES || !name.isWellFormed()) {
    throw new InvalidArgumentError(`${what} must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8, got ${bytes} bytes`);
  }
  if (name.includes('\uFFFD')) {
    throw new InvalidArgumentError(`${what} holds U+FFFD, the mark of bytes that are not UTF-8; two different names would become one volume, so it is refused`);
  }
  return name;
}
