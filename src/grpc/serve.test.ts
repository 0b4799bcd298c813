import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '@grpc/grpc-js';
import { pino } from 'pino';
import { adaptUnary } from './adaptUnary.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import { loadAgentProto } from './loadProtos.ts';
import { serve } from './serve.ts';
import { serveOverMutualTls } from './testing/serveOverMutualTls.ts';

describe('serve', () => {
  test('shutdown does not wait for an idle mutual-TLS client connection to go away', async () => {
    const log = pino({ level: 'silent' });
    const server = new Server();
    server.addService(loadAgentProto().vbs.agent.v1.AgentStatus.service, {
      GetNodeStatus: adaptUnary('GetNodeStatus', log, async () => ({ node_name: 'n1' })),
    });
    const { running, clientCreds } = await serveOverMutualTls(server, log);
    const client = new (loadAgentProto().vbs.agent.v1.AgentStatus)(running.address, clientCreds);
    const answer = await new Promise<NodeStatus__Output | undefined>((resolve, reject) => client.GetNodeStatus({}, (err, res) => (err ? reject(err) : resolve(res))));
    assert.equal(answer?.node_name, 'n1'); // the channel stays open, as a controller's does
    const started = Date.now();
    await running.shutdown(60_000);
    const tookMs = Date.now() - started;
    client.close();
    assert.ok(tookMs < 10_000, `shutdown took ${tookMs} ms with nothing in flight; it waited for the idle client`);
  });

  test('refuses to replace a regular file at the socket path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-serve-'));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'not-a-socket'), 'data');
    await assert.rejects(
      serve({ server: new Server(), endpoint: { kind: 'unix', path: join(dir, 'not-a-socket') }, log: pino({ level: 'silent' }) }),
      /is not a socket/,
    );
  });
});
