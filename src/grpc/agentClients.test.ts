import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, status as grpcStatus } from '@grpc/grpc-js';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { adaptUnary } from './adaptUnary.ts';
import { connectAgent } from './agentClients.ts';
import { loadAgentProto } from './loadProtos.ts';
import { serveOverMutualTls } from './testing/serveOverMutualTls.ts';

describe('connectAgent deadlines', () => {
  test('a change may run past the read deadline; a read may not', async () => {
    const log = pino({ level: 'silent' });
    const server = new Server();
    const slowMs = 600;
    const proto = loadAgentProto().vbs.agent.v1;
    server.addService(proto.AgentVolumes.service, {
      // Both answer after slowMs, as an agent does when its VG mutex is busy.
      DeleteVolume: adaptUnary('DeleteVolume', log, async () => {
        await sleep(slowMs);
        return {};
      }),
      GetVolume: adaptUnary('GetVolume', log, async () => {
        await sleep(slowMs);
        return {};
      }),
    });
    const { running, clientCreds } = await serveOverMutualTls(server, log);
    const client = connectAgent(running.address, clientCreds, {
      readMs: 150,
      changeMs: 30_000,
    });
    try {
      await client.deleteVolume('n1/v1');
      await assert.rejects(client.getVolume('n1/v1'), (err: { code?: number }) => err.code === grpcStatus.DEADLINE_EXCEEDED);
    } finally {
      client.close();
      await running.shutdown(5_000);
    }
  });
});
