import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../config/parseConfig.ts';
import type { DriverConfig } from '../config/parseConfig.ts';
import { connectIdentity } from '../grpc/csiClients.ts';
import { startDriver } from './runDriver.ts';

/** Parsed as from flags, then only the Identity service (no node section), so no host tools are needed. */
function identityOnly(dir: string, metrics: DriverConfig['metrics']): DriverConfig {
  const parsed = parseConfig(['node', '--node-id', 'n1', '--endpoint', `unix://${join(dir, 'csi.sock')}`, '--log-level', 'silent', '--tls-ca', '/tls/ca.crt', '--tls-cert', '/tls/n.crt', '--tls-key', '/tls/n.key'], {});
  assert.ok(parsed.ok, !parsed.ok ? parsed.errors.join('; ') : '');
  return { ...parsed.config, node: undefined, metrics };
}

describe('startDriver with --metrics-address', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-run-metrics-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('counts the CSI calls it serves on /metrics and stops serving metrics at shutdown', async () => {
    const running = await startDriver(identityOnly(dir, { host: '127.0.0.1', port: 0 }), pino({ level: 'silent' }), {
      version: '1.2.3',
      parts: { capabilities: [], readiness: [] },
    });
    const client = connectIdentity(running.address);
    try {
      assert.ok(running.metricsAddress);
      await client.getPluginInfo();
      await client.probe();
      const text = await (await fetch(`http://${running.metricsAddress}/metrics`)).text();
      assert.match(text, /^vbs_csi_operations_total\{service="csi.v1.Identity",method="GetPluginInfo",code="OK"\} 1$/m);
      assert.match(text, /^vbs_csi_operation_duration_seconds_count\{service="csi.v1.Identity",method="Probe",code="OK"\} 1$/m);
    } finally {
      client.close();
      await running.shutdown(1000);
    }
    await assert.rejects(fetch(`http://${running.metricsAddress}/metrics`));
  });

  test('serves no metrics without the flag', async () => {
    const running = await startDriver(identityOnly(dir, undefined), pino({ level: 'silent' }), { version: '1.2.3', parts: { capabilities: [], readiness: [] } });
    assert.equal(running.metricsAddress, undefined);
    await running.shutdown(1000);
  });
});
