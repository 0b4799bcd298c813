import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** What a loaded set of TLS files says about expiry (src/tls/loadTlsFiles.ts LoadedTls has it). */
export interface TlsExpirySource {
  readonly paths: { readonly caPath: string; readonly certPath: string };
  readonly validTo: Date;
  readonly caValidTo: Date;
}

/**
 * `vbs_csi_tls_certificate_expiry_timestamp_seconds{role, file}`: when each certificate this process
 * uses expires (its own, and the first CA of its bundle to expire), set at start and at every
 * reload, so an alert can fire before a renewal that did not happen breaks the agent link
 * (e.g. `vbs_csi_tls_certificate_expiry_timestamp_seconds - time() < 7 * 86400`).
 */
export class TlsExpiryMetrics {
  readonly #gauge: Gauge<'role' | 'file'>;

  constructor(registry: Registry) {
    const existing = registry.getSingleMetric('vbs_csi_tls_certificate_expiry_timestamp_seconds');
    this.#gauge =
      (existing as Gauge<'role' | 'file'> | undefined) ??
      new Gauge({
        name: 'vbs_csi_tls_certificate_expiry_timestamp_seconds',
        help: 'Unix time at which a certificate this process uses for the agent link expires (role: agent or controller; file: its path, the CA bundle included)',
        labelNames: ['role', 'file'],
        registers: [registry],
      });
  }

  record(role: 'agent' | 'controller', tls: TlsExpirySource): void {
    this.#gauge.set({ role, file: tls.paths.certPath }, tls.validTo.getTime() / 1000);
    this.#gauge.set({ role, file: tls.paths.caPath }, tls.caValidTo.getTime() / 1000);
  }
}
