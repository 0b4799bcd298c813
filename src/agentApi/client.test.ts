import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, Server, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OperationPendingError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
} from '../errors.ts';
import { adaptUnary } from '../grpc/adaptUnary.ts';
import { loadAgentProto } from '../grpc/loadProtos.ts';
import { serveOverMutualTls } from '../grpc/testing/serveOverMutualTls.ts';
import { toGrpcStatus } from '../grpc/toGrpcStatus.ts';
import { connectAgent, connectAgentWire, toDomainError } from './client.ts';
import type { AgentExport, AgentVolume } from './types.ts';
import { credentialsToWire, volumeToWire } from './wire.ts';

const log = pino({ level: 'silent' });
const proto = () => loadAgentProto().vbs.agent.v1;

/** Serves `handlers` (service name → handlers) over mutual TLS for the length of `run`. */
async function withAgent(handlers: Record<string, Record<string, unknown>>, run: (address: string, creds: Awaited<ReturnType<typeof serveOverMutualTls>>['clientCreds']) => Promise<void>): Promise<void> {
  const server = new Server();
  for (const [service, impl] of Object.entries(handlers)) {
    server.addService((proto() as unknown as Record<string, { service: Parameters<Server['addService']>[0] }>)[service]!.service, impl as never);
  }
  const { running, clientCreds } = await serveOverMutualTls(server, log);
  try {
    await run(running.address, clientCreds);
  } finally {
    await running.shutdown(5_000);
  }
}

const VOLUME: AgentVolume = {
  id: 'vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa',
  name: 'pvc-1',
  sizeBytes: 100 * 1024 * 1024,
  thin: true,
  contentSource: { kind: 'snapshot', id: 'vbs-snap-bbbbbbbbbbbbbbbbbbbbbbbbbb' },
  createdAt: new Date(1_700_000_000_123),
  target: { iqn: 'iqn.2026-11.io.vbs:store-a:x', portal: { ip: '10.0.0.1', port: 3260 }, lun: 0, serial: 'abc' },
  initiators: [{ iqn: 'iqn.1993-08.org.debian:01:w1', readOnly: true, mutualChap: true }],
};

describe('connectAgent', () => {
  test('a change may run past the read deadline; a read may not', async () => {
    const slowMs = 600;
    // Both answer after slowMs, as an agent does when its VG mutex is busy.
    const slow = (method: string) => adaptUnary(method, log, async () => {
      await sleep(slowMs);
      return {};
    });
    await withAgent({ AgentVolumes: { DeleteVolume: slow('DeleteVolume'), GetVolume: slow('GetVolume') } }, async (address, creds) => {
      const client = connectAgentWire(address, creds, { readMs: 150, changeMs: 30_000 });
      try {
        await client.deleteVolume('n1/v1');
        await assert.rejects(client.getVolume('n1/v1'), (err: { code?: number }) => err.code === status.DEADLINE_EXCEEDED);
      } finally {
        client.close();
      }
    });
  });

  test("cancels the gRPC call when the caller's signal aborts, and the agent's handler sees it", async () => {
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    let aborted!: () => void;
    const handlerAborted = new Promise<void>((resolve) => (aborted = resolve));
    const GetVolume = adaptUnary('GetVolume', log, async (_req, { signal }) => {
      started();
      // Like an agent waiting on its VG mutex: only the cancellation ends this call.
      await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
      aborted();
      return {};
    });
    await withAgent({ AgentVolumes: { GetVolume } }, async (address, creds) => {
      const client = connectAgent(address, creds);
      try {
        const caller = new AbortController();
        const answer = client.getVolume(VOLUME.id, caller.signal);
        await handlerStarted;
        caller.abort();
        await assert.rejects(answer, UnavailableError);
        await handlerAborted; // never settles (the test times out) unless the server saw the cancellation
      } finally {
        client.close();
      }
    });
  });

  test('does not even start a call whose signal has already aborted', async () => {
    let called = false;
    const GetVolume = adaptUnary('GetVolume', log, async () => {
      called = true;
      return { volume: volumeToWire(VOLUME) };
    });
    await withAgent({ AgentVolumes: { GetVolume } }, async (address, creds) => {
      const client = connectAgent(address, creds);
      try {
        await assert.rejects(client.getVolume(VOLUME.id, AbortSignal.abort()), UnavailableError);
        await sleep(100);
        assert.equal(called, false);
      } finally {
        client.close();
      }
    });
  });

  test('answers with domain objects and maps the agent codes to domain errors naming the agent', async () => {
    const GetVolume = adaptUnary('GetVolume', log, async (req: { id: string }) => {
      if (req.id !== VOLUME.id) throw new NotFoundError(`volume ${req.id} does not exist`);
      return { volume: volumeToWire(VOLUME) };
    });
    await withAgent({ AgentVolumes: { GetVolume } }, async (address, creds) => {
      const client = connectAgent(address, creds);
      try {
        assert.deepEqual(await client.getVolume(VOLUME.id), VOLUME);
        await assert.rejects(client.getVolume('vbs-vol-nope'), (err: unknown) => err instanceof NotFoundError && err.message.includes(address));
      } finally {
        client.close();
      }
    });
  });

  test('asks AgentCredentials for one initiator and answers the one CHAP shape with the target', async () => {
    const mutual: AgentExport = { target: VOLUME.target, chap: { username: 'vbs-in', password: 'p1', mutual: { username: 'vbs-t-out', password: 'p2' } } };
    const asked: unknown[] = [];
    const GetChapCredentials = adaptUnary('GetChapCredentials', log, async (req: { volume_id: string; initiator_iqn: string }) => {
      asked.push(req);
      return credentialsToWire(mutual);
    });
    await withAgent({ AgentCredentials: { GetChapCredentials } }, async (address, creds) => {
      const client = connectAgent(address, creds);
      try {
        assert.deepEqual(await client.getChapCredentials(VOLUME.id, 'iqn.1993-08.org.debian:01:w1'), mutual);
        assert.deepEqual(asked, [{ volume_id: VOLUME.id, initiator_iqn: 'iqn.1993-08.org.debian:01:w1' }]);
      } finally {
        client.close();
      }
    });
  });
});

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

describe('toDomainError', () => {
  const cases: [status, new (...args: never[]) => Error][] = [
    [status.INVALID_ARGUMENT, InvalidArgumentError],
    [status.NOT_FOUND, NotFoundError],
    [status.ALREADY_EXISTS, AlreadyExistsError],
    [status.RESOURCE_EXHAUSTED, ResourceExhaustedError],
    [status.OUT_OF_RANGE, OutOfRangeError],
    [status.FAILED_PRECONDITION, FailedPreconditionError],
    [status.ABORTED, OperationPendingError],
    [status.UNAVAILABLE, UnavailableError],
    [status.DEADLINE_EXCEEDED, UnavailableError],
    [status.CANCELLED, UnavailableError],
  ];
  for (const [code, ErrorClass] of cases) {
    test(`turns the agent's ${status[code]} into ${ErrorClass.name}, naming the agent`, () => {
      const err = toDomainError(serviceError(code, 'volume vbs-vol-x: nope'), 'storage agent 10.0.0.1:9500', 'GetVolume vbs-vol-x');
      assert.ok(err instanceof ErrorClass, `${String(err)}`);
      assert.match((err as Error).message, /10\.0\.0\.1:9500/);
    });
  }

  test('makes every other code INTERNAL for the CO, never the agent code passed through', () => {
    for (const code of [status.INTERNAL, status.UNKNOWN, status.UNIMPLEMENTED, status.PERMISSION_DENIED, status.UNAUTHENTICATED, status.DATA_LOSS]) {
      const err = toDomainError(serviceError(code, 'boom'), 'storage agent a:9500', 'CreateVolume pvc-1');
      assert.equal(toGrpcStatus(err, 'req-1').code, status.INTERNAL, status[code]);
      assert.match((err as Error).message, new RegExp(`a:9500: CreateVolume pvc-1 failed with ${status[code]}: boom`));
    }
  });

  test('returns anything that is not a gRPC status unchanged', () => {
    const plain = new TypeError('bug');
    assert.equal(toDomainError(plain, 'storage agent a:9500', 'x'), plain);
    assert.equal(toDomainError('text', 'storage agent a:9500', 'x'), 'text');
  });
});
