const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Bytes for people: "10 GiB" or "1.5 GiB" when that is exact, otherwise two decimals followed by
 * the exact count ("10.00 GiB (10737418239 bytes)"), because placement messages compare figures
 * that may differ by a single byte and rounding must not make a refusal look absurd.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isSafeInteger(bytes)) return `${bytes} bytes`;
  const magnitude = Math.abs(bytes);
  let exponent = 0;
  while (exponent < UNITS.length - 1 && magnitude >= 1024 ** (exponent + 1)) exponent++;
  const unit = 1024 ** exponent;
  // The units are powers of two, so a quotient with at most two decimals ends in .25, .5 or .75.
  if (((bytes % unit) * 4) % unit === 0) return `${bytes / unit} ${UNITS[exponent]}`;
  return `${(bytes / unit).toFixed(2)} ${UNITS[exponent]} (${bytes} bytes)`;
}
