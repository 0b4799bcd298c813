import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricsRegistry } from './createMetricsRegistry.ts';
import { TlsExpiryMetrics } from './TlsExpiryMetrics.ts';

describe('TlsExpiryMetrics', () => {
  test('exposes the expiry of the certificate and of the CA per role and file, updated on reload', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = new TlsExpiryMetrics(registry);
    const paths = { caPath: '/tls/ca.crt', certPath: '/tls/tls.crt' };
    metrics.record('agent', { paths, validTo: new Date('2027-01-01T00:00:00Z'), caValidTo: new Date('2036-01-01T00:00:00Z') });
    new TlsExpiryMetrics(registry).record('controller', { paths: { caPath: '/tls/ca.crt', certPath: '/c/controller.crt' }, validTo: new Date('2027-02-01T00:00:00Z'), caValidTo: new Date('2036-01-01T00:00:00Z') });
    metrics.record('agent', { paths, validTo: new Date('2027-03-01T00:00:00Z'), caValidTo: new Date('2036-01-01T00:00:00Z') });
    const text = await registry.metrics();
    assert.match(text, /^vbs_csi_tls_certificate_expiry_timestamp_seconds\{role="agent",file="\/tls\/tls.crt"\} 1803859200$/m);
    assert.match(text, /^vbs_csi_tls_certificate_expiry_timestamp_seconds\{role="agent",file="\/tls\/ca.crt"\} 2082758400$/m);
    assert.match(text, /^vbs_csi_tls_certificate_expiry_timestamp_seconds\{role="controller",file="\/c\/controller.crt"\} 1801440000$/m);
    assert.equal(text.match(/^vbs_csi_tls_certificate_expiry_timestamp_seconds\{/gm)?.length, 4);
  });
});
