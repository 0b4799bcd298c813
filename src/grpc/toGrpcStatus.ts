import { status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OperationPendingError,
  OutOfRangeError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from '../errors.ts';

export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
}

/** A handler can throw this to choose a gRPC code the domain errors do not cover. */
export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';
  readonly code: status;
  constructor(code: status, message: string) {
    super(message);
    this.code = code;
  }
}

const DOMAIN_CODES: ReadonlyArray<readonly [new (...args: never[]) => Error, status]> = [
  [InvalidArgumentError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [ResourceExhaustedError, status.RESOURCE_EXHAUSTED],
  [OutOfRangeError, status.OUT_OF_RANGE],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [OperationPendingError, status.ABORTED],
  [UnavailableError, status.UNAVAILABLE],
];

/**
 * Refusals of the caller. Not in DOMAIN_CODES: an agent refusing the controller is the
 * controller's misconfiguration, never the CO's, so it must not be relayed as the same error.
 */
const AUTH_CODES: ReadonlyArray<readonly [new (...args: never[]) => Error, status]> = [
  [UnauthenticatedError, status.UNAUTHENTICATED],
  [PermissionDeniedError, status.PERMISSION_DENIED],
];

/**
 * The domain error class a gRPC code stands for (the inverse of the table above), so an error
 * relayed from another server (an agent) becomes the same error the controller would have thrown.
 */
export function domainErrorClassFor(code: status): (new (message: string) => Error) | undefined {
  const found = DOMAIN_CODES.find(([, c]) => c === code);
  return found?.[0] as (new (message: string) => Error) | undefined;
}

/**
 * The single place that turns anything thrown into a gRPC status. Known errors keep their
 * message (written for operators); anything else becomes INTERNAL with only the request id,
 * so stack traces and command lines stay in the server log (nice-grpc createErrorStatusObject).
 */
export function toGrpcStatus(err: unknown, requestId: string): GrpcStatus {
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.message };
  if (isServiceError(err)) return { code: err.code, details: err.details };
  for (const [ErrorClass, code] of [...DOMAIN_CODES, ...AUTH_CODES]) {
    if (err instanceof ErrorClass) return { code, details: err.message };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: status.CANCELLED, details: 'the call was cancelled' };
  }
  return { code: status.INTERNAL, details: `internal error (request ${requestId}); see the driver log` };
}

/** An error that already carries a gRPC status, e.g. from a call to an agent. */
export function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === 'number' &&
    typeof (err as Partial<ServiceError>).details === 'string' &&
    'metadata' in err
  );
}
