/** A certificate (PEM, possibly followed by its chain) and its unencrypted private key (PKCS#8 PEM). */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Builds a PemPair whose `keyPem` is a non-enumerable property: reading it works as usual, but
 * JSON.stringify, pino and util.inspect skip it, so logging the object by mistake does not leak
 * the key. (Object spread skips it too: pass the object itself, or name keyPem explicitly.)
 */
export function pemPair<T extends { readonly certPem: string }>(fields: T, keyPem: string): T & { readonly keyPem: string } {
  return Object.defineProperty({ ...fields }, 'keyPem', { value: keyPem, enumerable: false, writable: false }) as T & {
    readonly keyPem: string;
  };
}
