import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { exitCodeForGrpcCode, grpcCodeName, grpcCodeOf } from './exitCodes.ts';

describe('exitCodeForGrpcCode', () => {
  const cases: [keyof typeof status, number][] = [
    ['OK', 0],
    ['INVALID_ARGUMENT', 3],
    ['OUT_OF_RANGE', 3],
    ['NOT_FOUND', 4],
    ['ALREADY_EXISTS', 5],
    ['RESOURCE_EXHAUSTED', 6],
    ['FAILED_PRECONDITION', 7],
    ['ABORTED', 75],
    ['UNAVAILABLE', 75],
    ['DEADLINE_EXCEEDED', 75],
    ['INTERNAL', 1],
    ['UNIMPLEMENTED', 1],
    ['PERMISSION_DENIED', 1],
    ['UNKNOWN', 1],
  ];
  for (const [name, exit] of cases) {
    it(`${name} exits ${exit}`, () => assert.equal(exitCodeForGrpcCode(status[name]), exit));
  }
  it('never gives 2, which is kept for usage errors', () => {
    for (const code of Object.values(status)) if (typeof code === 'number') assert.notEqual(exitCodeForGrpcCode(code), 2);
  });
});

describe('grpcCodeOf / grpcCodeName', () => {
  it('reads the code of a grpc-js ServiceError and nothing else', () => {
    assert.equal(grpcCodeOf(Object.assign(new Error('x'), { code: 5, details: 'no such volume' })), 5);
    assert.equal(grpcCodeOf(Object.assign(new Error('x'), { code: 'ENOENT' })), undefined);
    assert.equal(grpcCodeOf(undefined), undefined);
  });
  it('names codes as the gRPC spec does', () => {
    assert.equal(grpcCodeName(status.NOT_FOUND), 'NOT_FOUND');
    assert.equal(grpcCodeName(99), 'code 99');
  });
});
