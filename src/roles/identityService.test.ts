import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { DriverConfig } from '../config/parseConfig.ts';
import { connectIdentity } from '../grpc/csiClients.ts';
import type { IdentityApi } from '../grpc/csiClients.ts';
import type { RunningDriver } from './runDriver.ts';
import { startDriver } from './runDriver.ts';

describe('Identity service over a unix socket', () => {
  let dir: string;
  let running: RunningDriver;
  let client: IdentityApi;
  let iscsidUp = false;
  let slowProbeMs = 0;
  let onProbeStart = (): void => {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-identity-'));
    const config: DriverConfig = {
      role: 'node',
      endpoint: { kind: 'unix', path: join(dir, 'csi.sock') },
      driverName: 'vbs.csi.io',
      nodeId: 'n1',
      logLevel: 'silent',
      shutdownGraceMs: 1000,
      agent: undefined,
      controller: undefined,
      node: undefined,
    };
    running = await startDriver(config, pino({ level: 'silent' }), {
      version: '1.2.3',
      parts: {
        capabilities: [],
        readiness: [{ name: 'iscsid', check: async () => {
          onProbeStart();
          if (slowProbeMs > 0) await new Promise((r) => setTimeout(r, slowProbeMs));
          return iscsidUp ? undefined : 'not running';
        }, }],
      },
    });
    client = connectIdentity(running.address);
  });

  after(async () => {
    client.close();
    await running.shutdown(1000);
    await rm(dir, { recursive: true, force: true });
  });

  test('GetPluginInfo returns the driver name and version', async () => {
    const info = await client.getPluginInfo();
    assert.equal(info.name, 'vbs.csi.io');
    assert.equal(info.vendor_version, '1.2.3');
  });

  test('GetPluginCapabilities promises nothing the process does not serve', async () => {
    const caps = await client.getPluginCapabilities();
    assert.deepEqual(caps.capabilities, []);
  });

  test('Probe follows its dependencies: not ready, then ready', async () => {
    const before = await client.probe();
    assert.equal(before.ready?.value, false);
    iscsidUp = true;
    const afterUp = await client.probe();
    assert.equal(afterUp.ready?.value, true);
  });

  test('shutdown lets a call in flight finish, then removes the socket and refuses new calls', async () => {
    slowProbeMs = 400;
    const reachedServer = new Promise<void>((resolve) => (onProbeStart = resolve));
    const inFlight = client.probe();
    await reachedServer;
    const stopping = running.shutdown(5000);
    assert.equal((await inFlight).ready?.value, true);
    await stopping;
    const path = join(dir, 'csi.sock');
    assert.equal(existsSync(path), false);
    const fresh = connectIdentity(running.address, 1000);
    await assert.rejects(fresh.probe(), (err: { code?: number }) => err.code === 14 || err.code === 4);
    fresh.close();
  });
});
