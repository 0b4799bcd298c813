import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { NodeStatus } from '../../generated/vbs/agent/v1/NodeStatus.ts';
import { adaptUnary } from '../../grpc/adaptUnary.ts';
import { loadAgentProto } from '../../grpc/loadProtos.ts';
import { serve } from '../../grpc/serve.ts';
import type { RunningServer } from '../../grpc/serve.ts';
import { createCertificateAuthority, issueCertificate, serverCredentials } from '../../tls/index.ts';
import { runCli } from '../runCli.ts';

const GiB = 2 ** 30;

const STATUS: NodeStatus = {
  node_name: 'store-a',
  ready: true,
  volume_group: { name: 'vg0', size_bytes: 100 * GiB, free_bytes: 20 * GiB, extent_size_bytes: 4 * 2 ** 20 },
  thin_pool: { name: 'pool', size_bytes: 80 * GiB, data_percent: 12.5, metadata_percent: 3.25, provisioned_bytes: 100 * GiB, overprovision_ratio: 5, allocatable_bytes: 300 * GiB, health: 'ok' },
  io_load: { utilization: 0.42, average_latency_ms: 1.75, window_seconds: 10 },
  labels: { zone: 'a' },
  volume_count: 7,
  snapshot_count: 2,
};

describe('vbs-csi nodes', () => {
  let dir: string;
  let agent: RunningServer;
  let tlsArgs: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-cli-nodes-'));
    const ca = await createCertificateAuthority({ commonName: 'test CA', validDays: 2 });
    const agentCert = await issueCertificate(ca, { commonName: 'agent', ipAddresses: ['127.0.0.1'], usages: 'server', identity: { kind: 'agent', storageNode: 'agent' }, validDays: 1 });
    const client = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
    await writeFile(join(dir, 'ca.crt'), ca.certPem);
    await writeFile(join(dir, 'controller.crt'), client.certPem);
    await writeFile(join(dir, 'controller.key'), client.keyPem, { mode: 0o600 });
    tlsArgs = ['--tls-ca', join(dir, 'ca.crt'), '--client-tls-cert', join(dir, 'controller.crt'), '--client-tls-key', join(dir, 'controller.key')];
    const log = pino({ level: 'silent' });
    const server = new Server();
    server.addService(loadAgentProto().vbs.agent.v1.AgentStatus.service, { GetNodeStatus: adaptUnary('GetNodeStatus', log, async () => STATUS) });
    // No replicated volume here: the copies column says 0.
    server.addService(loadAgentProto().vbs.agent.v1.AgentVolumes.service, { ListVolumes: adaptUnary('ListVolumes', log, async () => ({ volumes: [] })) });
    agent = await serve({
      server,
      endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      log,
      credentials: serverCredentials({ caPem: ca.certPem, certPem: agentCert.certPem, keyPem: agentCert.keyPem }),
    });
  });
  after(async () => {
    await agent.shutdown(0);
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(argv: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(argv, { env: {}, out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
    return { code, out, err };
  }

  it('asks each agent over mutual TLS and prints capacity, load and volume counts in human units', async () => {
    const r = await cli(['nodes', '--agents', agent.address, ...tlsArgs]);
    assert.equal(r.code, 0, r.err);
    const [header, row] = r.out.trimEnd().split('\n');
    assert.match(header ?? '', /^NAME\s+ADDRESS\s+READY\s+POOL\s+ALLOCATABLE\s+DATA%\s+META%\s+HEALTH\s+VG FREE\s+UTIL\s+LATENCY\s+VOLUMES\s+COPIES$/);
    assert.deepEqual(row?.split(/\s{2,}/), ['store-a', agent.address, 'yes', '80 GiB', '300 GiB', '12.5', '3.3', 'ok', '20 GiB', '42%', '1.8 ms', '7', '0']);
  });

  it('--json gives the numbers in bytes for scripts', async () => {
    const r = await cli(['nodes', '--agents', agent.address, ...tlsArgs, '--json']);
    const [n] = JSON.parse(r.out) as Record<string, unknown>[];
    assert.equal(n?.['poolSizeBytes'], 80 * GiB);
    assert.equal(n?.['allocatableBytes'], 300 * GiB);
    assert.equal(n?.['vgFreeBytes'], 20 * GiB);
    assert.equal(n?.['volumeCount'], 7);
    assert.deepEqual(n?.['labels'], { zone: 'a' });
  });

  it('an unreachable agent gets a row saying why and exit 75, the others are still shown', async () => {
    const r = await cli(['nodes', '--agents', `${agent.address},127.0.0.1:1`, ...tlsArgs, '--timeout-seconds', '5']);
    assert.equal(r.code, 75);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[1] ?? '', /^store-a /);
    assert.match(lines[2] ?? '', /^\?\s+127\.0\.0\.1:1\s+no\s+UNAVAILABLE: /);
  });

  it('a missing certificate file exits 1 naming the file, before dialling anyone', async () => {
    const r = await cli(['nodes', '--agents', agent.address, '--tls-ca', join(dir, 'nope.crt'), ...tlsArgs.slice(2)]);
    assert.equal(r.code, 1);
    assert.match(r.err, /nope\.crt: the CA certificate file does not exist/);
  });
});
