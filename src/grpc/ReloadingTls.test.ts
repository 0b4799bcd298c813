import { after, before, describe, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, credentials } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { pino } from 'pino';
import { unary } from './csiClients.ts';
import { loadAgentProto } from './loadProtos.ts';
import { serve } from './serve.ts';
import type { RunningServer } from './serve.ts';
import { createCertificateAuthority, issueCertificate } from '../tls/createCertificates.ts';
import { clientCredentials, reloadingClientCredentials, reloadingServerCredentials } from '../tls/credentials.ts';
import { loadTlsFiles } from '../tls/loadTlsFiles.ts';
import type { TlsFilePaths } from '../tls/loadTlsFiles.ts';
import type { PemPair } from '../tls/pemPair.ts';
import { ReloadingTls } from '../tls/ReloadingTls.ts';

// Files laid out as a Kubernetes Secret volume: DIR/tls.crt → ..data/tls.crt, ..data → a
// timestamped directory; an update writes a new directory and swaps the ..data symlink.

let generation = 0;
async function writeSecretVolume(dir: string, files: Record<string, string>): Promise<void> {
  const version = `..v${++generation}`;
  await mkdir(join(dir, version), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, version, name), text);
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) await symlink(join('..data', name), join(dir, name)).catch(() => undefined);
}

describe('ReloadingTls: certificates reloaded when their files change', () => {
  let root: string;
  let ca: PemPair;
  const quiet = pino({ level: 'silent' });
  const newLeaf = (usages: 'server' | 'client') =>
    usages === 'server'
      ? issueCertificate(ca, { commonName: 'agent-a', ipAddresses: ['127.0.0.1'], usages, identity: { kind: 'agent', storageNode: 'agent-a' }, validDays: 1 })
      : issueCertificate(ca, { commonName: 'controller', usages, identity: { kind: 'controller' }, validDays: 1 });
  const paths = (dir: string): TlsFilePaths => ({ caPath: join(dir, 'ca.crt'), certPath: join(dir, 'tls.crt'), keyPath: join(dir, 'tls.key') });
  const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vbs-reload-'));
    ca = await createCertificateAuthority({ commonName: 'reload test CA', validDays: 2 });
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('the agent serves new connections with its renewed certificate, and the controller calls with its own', async () => {
    const serverDir = join(root, 'server');
    const clientDir = join(root, 'client');
    const server1 = await newLeaf('server');
    const client1 = await newLeaf('client');
    await writeSecretVolume(serverDir, { 'ca.crt': ca.certPem, 'tls.crt': server1.certPem, 'tls.key': server1.keyPem });
    await writeSecretVolume(clientDir, { 'ca.crt': ca.certPem, 'tls.crt': client1.certPem, 'tls.key': client1.keyPem });
    const loaded: string[] = [];
    const serverTls = await ReloadingTls.open(() => loadTlsFiles(paths(serverDir)), { log: quiet, intervalMs: 3_600_000, onLoaded: (t) => loaded.push(t.serialNumber) });
    const clientTls = await ReloadingTls.open(() => loadTlsFiles(paths(clientDir)), { log: quiet, intervalMs: 3_600_000 });

    const callerSerials: string[] = [];
    const grpcServer = new Server();
    grpcServer.addService(loadAgentProto().vbs.agent.v1.AgentStatus.service, {
      GetNodeStatus: (call: ServerUnaryCall<object, object>, cb: sendUnaryData<object>) => {
        callerSerials.push(String(call.getAuthContext()?.sslPeerCertificate?.serialNumber));
        cb(null, { node_name: 'agent-a' });
      },
    });
    const running: RunningServer = await serve({ server: grpcServer, endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 }, log: quiet, credentials: reloadingServerCredentials(serverTls) });
    /** One call over a new channel; returns the serial of the server certificate it saw. */
    const callOnce = async (): Promise<string> => {
      let seen = '';
      const creds = reloadingClientCredentials(clientTls, { onServerCertificate: (cert) => (seen = cert.serialNumber) });
      const client = new (loadAgentProto().vbs.agent.v1.AgentStatus)(running.address, creds, {});
      try {
        await unary((o, cb) => client.GetNodeStatus({}, o, cb), 5000);
      } finally {
        client.close();
      }
      return seen;
    };
    try {
      assert.equal(await callOnce(), serialOf(server1.certPem));
      assert.equal(callerSerials.at(-1), serialOf(client1.certPem));
      assert.equal(await serverTls.reloadIfChanged(), false, 'nothing changed');

      const server2 = await newLeaf('server');
      const client2 = await newLeaf('client');
      await writeSecretVolume(serverDir, { 'ca.crt': ca.certPem, 'tls.crt': server2.certPem, 'tls.key': server2.keyPem });
      await writeSecretVolume(clientDir, { 'ca.crt': ca.certPem, 'tls.crt': client2.certPem, 'tls.key': client2.keyPem });
      assert.equal(await serverTls.reloadIfChanged(), true);
      assert.equal(await clientTls.reloadIfChanged(), true);
      assert.equal(await callOnce(), serialOf(server2.certPem), 'a new connection sees the renewed agent certificate');
      assert.equal(callerSerials.at(-1), serialOf(client2.certPem), 'the agent sees the renewed controller certificate');
      assert.deepEqual(loaded, [serialOf(server1.certPem), serialOf(server2.certPem)]);

      // Still mutual TLS: a client of another CA, or with no certificate, does not get in.
      const otherCa = await createCertificateAuthority({ commonName: 'reload test CA', validDays: 2 });
      const stranger = await issueCertificate(otherCa, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
      for (const creds of [
        clientCredentials({ caPem: ca.certPem, certPem: stranger.certPem, keyPem: stranger.keyPem }),
        credentials.createSsl(Buffer.from(ca.certPem)),
      ]) {
        const before = callerSerials.length;
        const client = new (loadAgentProto().vbs.agent.v1.AgentStatus)(running.address, creds, {});
        await assert.rejects(unary((o, cb) => client.GetNodeStatus({}, o, cb), 5000), /UNAVAILABLE/);
        client.close();
        assert.equal(callerSerials.length, before);
      }
    } finally {
      serverTls.stop();
      clientTls.stop();
      await running.shutdown(500);
    }
  });

  test('keeps the loaded certificate when the new files fail the checks, and says why once', async () => {
    const dir = join(root, 'bad');
    const good = await newLeaf('server');
    const other = await newLeaf('server');
    await writeSecretVolume(dir, { 'ca.crt': ca.certPem, 'tls.crt': good.certPem, 'tls.key': good.keyPem });
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => warnings.push(l) });
    const tls = await ReloadingTls.open(() => loadTlsFiles(paths(dir)), { log, intervalMs: 3_600_000 });
    try {
      await writeSecretVolume(dir, { 'ca.crt': ca.certPem, 'tls.crt': good.certPem, 'tls.key': other.keyPem });
      assert.equal(await tls.reloadIfChanged(), false);
      assert.equal(await tls.reloadIfChanged(), false);
      assert.equal(tls.current().serialNumber, serialOf(good.certPem));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /is not the private key of the certificate/);
      assert.doesNotMatch(warnings.join(''), /PRIVATE KEY-----/);
    } finally {
      tls.stop();
    }
  });

  test('a start with unusable files fails with the loader’s message', async () => {
    await assert.rejects(ReloadingTls.open(() => loadTlsFiles(paths(join(root, 'missing'))), { log: quiet }), /the CA certificate file does not exist/);
  });
});


