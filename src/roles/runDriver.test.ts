import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { credentials } from '@grpc/grpc-js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../config/parseConfig.ts';
import type { DriverConfig } from '../config/parseConfig.ts';
import { connectIdentity } from '../grpc/csiClients.ts';
import { loadPluginRegistrationProto } from '../grpc/loadProtos.ts';
import type { PluginInfo__Output } from '../generated/pluginregistration/PluginInfo.ts';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import { createCertificateAuthority, issueCertificate } from '../tls/index.ts';
import { kernelModuleCheck } from './checks.ts';
import { roleModules, startDriver } from './runDriver.ts';

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

describe('startDriver with --health-address and --load-kernel-modules', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-run-health-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a node whose iscsi_tcp cannot be loaded starts, is alive on /livez and not ready in Probe nor on /readyz until it is loaded', async () => {
    const parsed = parseConfig(['node', '--node-id', 'n1', '--health-address', '127.0.0.1:9813', '--load-kernel-modules', 'true', '--tls-ca', '/a', '--tls-cert', '/b', '--tls-key', '/c'], {});
    assert.ok(parsed.ok, !parsed.ok ? parsed.errors.join('; ') : '');
    assert.deepEqual(parsed.config.health, { host: '127.0.0.1', port: 9813 });
    assert.equal(parsed.config.loadKernelModules, true);
    const config = { ...identityOnly(dir, undefined), health: { host: '127.0.0.1', port: 0 }, loadKernelModules: true };
    const sysRoot = join(dir, 'sys');
    const runner = new FakeRunner().on(['modprobe', 'iscsi_tcp'], { exitCode: 1, stderr: 'modprobe: FATAL: Module iscsi_tcp not found' });
    const running = await startDriver(config, pino({ level: 'silent' }), {
      version: '1.2.3',
      parts: { capabilities: [], readiness: [kernelModuleCheck('iscsi_tcp', sysRoot)] },
      runner,
      sysRoot,
    });
    const client = connectIdentity(running.address);
    try {
      assert.deepEqual(runner.argvs, [['modprobe', 'iscsi_tcp']]);
      assert.ok(running.healthAddress);
      const live = await fetch(`http://${running.healthAddress}/livez`);
      assert.equal(live.status, 200);
      assert.equal(await live.text(), 'ok\n');
      assert.equal((await fetch(`http://${running.healthAddress}/metrics`)).status, 404);
      assert.equal((await client.probe()).ready?.value, false, 'not ready: iscsi_tcp is not loaded');
      // The same readiness over plain HTTP, for a chart without the livenessprobe sidecar.
      const notReady = await fetch(`http://${running.healthAddress}/readyz`);
      assert.equal(notReady.status, 503);
      assert.match(await notReady.text(), /^not ready: kernel module iscsi_tcp: not loaded/);
      await mkdir(join(sysRoot, 'module', 'iscsi_tcp'), { recursive: true });
      const ready = await fetch(`http://${running.healthAddress}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(await ready.text(), 'ok\n');
      assert.equal((await client.probe()).ready?.value, true);
    } finally {
      client.close();
      await running.shutdown(1000);
    }
    await assert.rejects(fetch(`http://${running.healthAddress}/livez`), 'the health server stops with the role');
  });

  test('loads nothing by default, and each role asks for its own modules', async () => {
    const parsed = parseConfig(['controller', '--agents', '127.0.0.1:9500', '--tls-ca', '/a', '--client-tls-cert', '/b', '--client-tls-key', '/c', '--agent-server-name', 'a'], {});
    assert.ok(parsed.ok, !parsed.ok ? parsed.errors.join('; ') : '');
    assert.equal(parsed.config.loadKernelModules, false);
    assert.equal(parsed.config.health, undefined);
    const bad = parseConfig(['node', '--node-id', 'n1', '--load-kernel-modules', 'yes', '--health-address', 'x', '--tls-ca', '/a', '--tls-cert', '/b', '--tls-key', '/c'], {});
    assert.ok(!bad.ok);
    assert.ok(bad.errors.some((e) => /--load-kernel-modules "yes": expected true or false/.test(e)), bad.errors.join('; '));
    assert.ok(bad.errors.some((e) => /--health-address "x"/.test(e)), bad.errors.join('; '));
    assert.deepEqual(roleModules('controller'), []);
    assert.deepEqual(roleModules('node'), ['iscsi_tcp']);
    assert.deepEqual(roleModules('agent'), ['dm_thin_pool', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod']);
    assert.deepEqual(roleModules('all-in-one'), ['iscsi_tcp', 'dm_thin_pool', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod']);
  });
});

describe('startDriver with --kubelet-registration-dir', () => {
  test('the node role serves kubelet\'s registration socket once its CSI socket serves, and removes it at shutdown', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-run-reg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // The node plugin opens its CHAP-fetching certificate at start: a real one naming its initiator.
    const ca = await createCertificateAuthority({ commonName: 'ca', validDays: 10 });
    const leaf = await issueCertificate(ca, { commonName: 'w1', usages: 'client', identity: { kind: 'node', initiatorIqn: 'iqn.2026-11.io.example:w1' }, validDays: 1 });
    await writeFile(join(dir, 'ca.crt'), ca.certPem);
    await writeFile(join(dir, 'tls.crt'), leaf.certPem);
    await writeFile(join(dir, 'tls.key'), leaf.keyPem);
    const parsed = parseConfig(
      [
        'node', '--node-id', 'w1', '--endpoint', `unix://${join(dir, 'csi.sock')}`, '--log-level', 'silent',
        '--initiator-name', 'iqn.2026-11.io.example:w1', '--zone', 'a', '--state-dir', join(dir, 'state'),
        '--tls-ca', join(dir, 'ca.crt'), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'),
        '--kubelet-registration-dir', join(dir, 'plugins_registry'),
        '--kubelet-registration-path', '/var/lib/kubelet/plugins/vbs.csi.io/csi.sock',
      ],
      {},
    );
    assert.ok(parsed.ok, !parsed.ok ? parsed.errors.join('; ') : '');
    const running = await startDriver(parsed.config, pino({ level: 'silent' }), { version: '1.2.3', parts: { capabilities: [], readiness: [] } });
    const socket = join(dir, 'plugins_registry', 'vbs.csi.io-reg.sock');
    let stopped = false;
    try {
      assert.ok((await stat(socket)).isSocket());
      const client = new (loadPluginRegistrationProto().pluginregistration.Registration)(`unix://${socket}`, credentials.createInsecure());
      try {
        const info = await new Promise<PluginInfo__Output | undefined>((resolve, reject) => client.GetInfo({}, (err, res) => (err ? reject(err) : resolve(res))));
        assert.equal(info?.endpoint, '/var/lib/kubelet/plugins/vbs.csi.io/csi.sock');
        assert.equal(info?.name, 'vbs.csi.io');
      } finally {
        client.close();
      }
      await running.shutdown(1000);
      stopped = true;
      await assert.rejects(stat(socket), { code: 'ENOENT' });
      await assert.rejects(stat(join(dir, 'csi.sock')), { code: 'ENOENT' });
    } finally {
      if (!stopped) await running.shutdown(0);
    }
  });
});
