/** Multipliers of the size suffixes the CLI accepts: binary (Ki, Mi, ...) and decimal (K, M, ...). */
const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?B?$/;

/**
 * A size in bytes from text as Kubernetes quantities write it: `1073741824`, `512Mi`, `1Gi`,
 * `1.5Gi`, `10G` (decimal), also with a trailing B (`1GiB`, `10GB`). A fraction of a byte is
 * rounded up, as Kubernetes does. Throws an Error naming the accepted forms; zero is refused.
 */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new Error(`${JSON.stringify(text)} is not a size: use bytes or a number with Ki, Mi, Gi, Ti (or K, M, G, T), e.g. 512Mi, 1Gi, 10G`);
  const bytes = Math.ceil(Number(m[1]) * UNITS[m[2] ?? '']!);
  if (bytes <= 0) throw new Error(`${JSON.stringify(text)}: the size must be more than 0 bytes`);
  if (!Number.isSafeInteger(bytes)) throw new Error(`${JSON.stringify(text)} is too large`);
  return bytes;
}

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Bytes in binary units with at most one decimal: 536870912 → "512 MiB", 1610612736 → "1.5 GiB". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return String(bytes);
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BINARY.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${BINARY[unit]}`;
}
