import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { credentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { loadPluginRegistrationProto } from '../grpc/loadProtos.ts';
import type { RegistrationClient } from '../generated/pluginregistration/Registration.ts';
import type { PluginInfo__Output } from '../generated/pluginregistration/PluginInfo.ts';
import { registrationSocketPath, serveKubeletRegistration } from './kubeletRegistration.ts';

/** A logger whose JSON lines the test reads back. */
function capturingLogger(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** What kubelet's plugin watcher does: dial the socket, call GetInfo, then NotifyRegistrationStatus. */
function kubeletClient(socket: string): RegistrationClient {
  return new (loadPluginRegistrationProto().pluginregistration.Registration)(`unix://${socket}`, credentials.createInsecure());
}

const getInfo = (c: RegistrationClient) =>
  new Promise<PluginInfo__Output | undefined>((resolve, reject) => c.GetInfo({}, { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res))));
const notify = (c: RegistrationClient, plugin_registered: boolean, error = '') =>
  new Promise<void>((resolve, reject) => c.NotifyRegistrationStatus({ plugin_registered, error }, { deadline: Date.now() + 5_000 }, (err) => (err ? reject(err) : resolve())));

describe('kubelet plugin registration', () => {
  test('answers GetInfo as node-driver-registrar does, on <dir>/<driver>-reg.sock, owner-only', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-reg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { log } = capturingLogger();
    const running = await serveKubeletRegistration({ dir, driverName: 'vbs.csi.io', csiSocketOnHost: '/var/lib/kubelet/plugins/vbs.csi.io/csi.sock', log });
    t.after(() => running.shutdown(0));
    const socket = join(dir, 'vbs.csi.io-reg.sock');
    assert.equal(registrationSocketPath(dir, 'vbs.csi.io'), socket);
    const st = await stat(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);

    const client = kubeletClient(socket);
    t.after(() => client.close());
    const info = await getInfo(client);
    assert.deepEqual(
      { ...info },
      { type: 'CSIPlugin', name: 'vbs.csi.io', endpoint: '/var/lib/kubelet/plugins/vbs.csi.io/csi.sock', supported_versions: ['1.0.0'] },
    );
  });

  test('logs a registration and a refusal, and keeps serving after a refusal so kubelet can retry', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-reg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { log, lines } = capturingLogger();
    const running = await serveKubeletRegistration({ dir, driverName: 'example.org', csiSocketOnHost: '/host/csi.sock', log });
    t.after(() => running.shutdown(0));
    const client = kubeletClient(registrationSocketPath(dir, 'example.org'));
    t.after(() => client.close());

    await notify(client, false, 'RegisterPlugin error -- plugin registration failed with err: boom');
    const refusal = lines().find((l) => l['msg'] === 'kubelet could not register the plugin; it retries while the registration socket stays');
    assert.ok(refusal, `no refusal logged: ${JSON.stringify(lines())}`);
    assert.equal(refusal['level'], 50); // error
    assert.match(String(refusal['error']), /boom/);

    // Still there for kubelet's retry.
    assert.equal((await getInfo(client))?.name, 'example.org');
    await notify(client, true);
    assert.ok(lines().some((l) => l['msg'] === 'kubelet registered the plugin' && l['endpoint'] === '/host/csi.sock'));
  });

  test('replaces a socket left at the path and removes its own at shutdown', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-reg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const socket = registrationSocketPath(dir, 'vbs.csi.io');
    // A socket file of a previous run (a listener still holds it, so only unlinking can free the name).
    const leftover = createServer();
    await new Promise<void>((resolve) => leftover.listen(socket, resolve));
    t.after(() => new Promise<void>((resolve) => leftover.close(() => resolve())));

    const running = await serveKubeletRegistration({ dir, driverName: 'vbs.csi.io', csiSocketOnHost: '/host/csi.sock', log: pino({ level: 'silent' }) });
    const client = kubeletClient(socket);
    assert.equal((await getInfo(client))?.type, 'CSIPlugin');
    client.close();
    await running.shutdown(1_000);
    await assert.rejects(stat(socket), { code: 'ENOENT' });
  });
});
