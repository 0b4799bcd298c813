const REDACTED = '[REDACTED]';

/**
 * Keys whose values are secret wherever they appear: CSI `secrets` maps (the spec marks them
 * csi_secret), CHAP credentials in publish_context, TLS keys.
 */
const SECRET_KEY = /secret|password|passwd|chap|private_?key|token/i;
/** CSI pagination cursors: named like tokens, but only volume or snapshot ids, and needed to debug listings. */
const PAGINATION_KEY = /^(?:starting|next)_token$/;

/**
 * Returns a copy of a request/response safe to log: values under secret-looking keys are
 * replaced, recursively (ceph-csi's protosanitizer does the same for Go).
 */
export function stripSecrets(value: unknown, depth = 0): unknown {
  if (depth > 16 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => stripSecrets(v, depth + 1));
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && !PAGINATION_KEY.test(key) && v !== null && v !== undefined && v !== '' ? REDACTED : stripSecrets(v, depth + 1);
  }
  return out;
}
