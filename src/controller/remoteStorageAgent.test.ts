import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
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
import { toGrpcStatus } from '../grpc/toGrpcStatus.ts';
import { statusFromWire, toDomainError } from './remoteStorageAgent.ts';

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

describe('statusFromWire', () => {
  test('reads the figures placement needs, with safe defaults for missing parts', () => {
    const s = statusFromWire({
      node_name: 'store-a', ready: true, labels: { tier: 'ssd' },
      volume_group: { name: 'vg0', size_bytes: 10, free_bytes: 7, extent_size_bytes: 4 },
      thin_pool: null, io_load: null, portal: null, volume_count: 3, snapshot_count: 1,
    } as Parameters<typeof statusFromWire>[0]);
    assert.deepEqual(s, {
      name: 'store-a', ready: true, labels: { tier: 'ssd' }, extentSizeBytes: 4, thinAllocatableBytes: 0, vgFreeBytes: 7,
      thinPoolHealth: 'unknown', utilization: 0, averageLatencyMs: 0, volumeCount: 3,
    });
  });
});
