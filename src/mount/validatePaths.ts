import { InvalidArgumentError } from '../errors.ts';

const MAX_PATH_LENGTH = 4096;

/**
 * Checks a path before it reaches mount/umount/mkfs: absolute (so it can never be read as an
 * option), no '..' segment (so a CO-supplied path cannot climb out of kubelet's directories),
 * no control characters (NUL truncates, newlines corrupt line-based tools and logs).
 * Returns the path unchanged.
 */
export function validateAbsolutePath(path: string, what: string): string {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError(`${what} must be a non-empty path`);
  if (path.length > MAX_PATH_LENGTH) throw new InvalidArgumentError(`${what} is longer than ${MAX_PATH_LENGTH} characters`);
  if (!path.startsWith('/')) throw new InvalidArgumentError(`${what} ${JSON.stringify(path)} must be an absolute path`);
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new InvalidArgumentError(`${what} ${JSON.stringify(path)} contains a control character`);
  if (path.split('/').includes('..')) throw new InvalidArgumentError(`${what} ${JSON.stringify(path)} must not contain '..'`);
  return path;
}

/** Like validateAbsolutePath, and the path must be under /dev. */
export function validateDevicePath(device: string): string {
  validateAbsolutePath(device, 'device');
  if (!device.startsWith('/dev/') || device.length <= '/dev/'.length) throw new InvalidArgumentError(`device ${JSON.stringify(device)} must be under /dev`);
  return device;
}
