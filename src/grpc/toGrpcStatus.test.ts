import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status } from '@grpc/grpc-js';
import * as errors from '../errors.ts';
import { GrpcStatusError, toGrpcStatus } from './toGrpcStatus.ts';

describe('toGrpcStatus', () => {
  const cases = [
    [new errors.InvalidArgumentError('bad'), status.INVALID_ARGUMENT],
    [new errors.NotFoundError('gone'), status.NOT_FOUND],
    [new errors.AlreadyExistsError('dup'), status.ALREADY_EXISTS],
    [new errors.ResourceExhaustedError('full'), status.RESOURCE_EXHAUSTED],
    [new errors.OutOfRangeError('big'), status.OUT_OF_RANGE],
    [new errors.FailedPreconditionError('busy'), status.FAILED_PRECONDITION],
    [new errors.OperationPendingError('volume v1'), status.ABORTED],
    [new errors.UnavailableError('down'), status.UNAVAILABLE],
  ] as const;
  for (const [err, code] of cases) {
    test(`maps ${err.name} to ${status[code]} and keeps its message`, () => {
      assert.deepEqual(toGrpcStatus(err, 'r1'), { code, details: err.message });
    });
  }

  test('hides the message of an unknown error behind the request id', () => {
    const st = toGrpcStatus(new Error('lvcreate --secret=x failed at /src/file.ts:10'), 'abc123');
    assert.equal(st.code, status.INTERNAL);
    assert.equal(st.details, 'internal error (request abc123); see the driver log');
  });

  test('passes on an explicit GrpcStatusError and a status from another gRPC server', () => {
    assert.deepEqual(toGrpcStatus(new GrpcStatusError(status.UNIMPLEMENTED, 'no'), 'r'), { code: status.UNIMPLEMENTED, details: 'no' });
    const remote = Object.assign(new Error('x'), { code: status.NOT_FOUND, details: 'volume v9 not found', metadata: new Metadata() });
    assert.deepEqual(toGrpcStatus(remote, 'r'), { code: status.NOT_FOUND, details: 'volume v9 not found' });
  });

  test('maps thrown non-errors to INTERNAL', () => {
    assert.equal(toGrpcStatus('a string', 'r').code, status.INTERNAL);
    assert.equal(toGrpcStatus(undefined, 'r').code, status.INTERNAL);
  });
});
