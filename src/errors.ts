/**
 * Domain errors. Adapters (lvm, lio, iscsi, mount, ...) throw these; only src/grpc
 * turns them into gRPC status codes, so nothing below the services imports grpc.
 * Messages are shown to operators as they are: say what is wrong and what to do.
 */

/** The request itself is malformed: a missing field, a bad value. */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
}

/** The object the request names does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** An object with this name exists but is incompatible with the request. */
export class AlreadyExistsError extends Error {
  override readonly name = 'AlreadyExistsError';
}

/** Not enough space (or another finite resource) to satisfy the request. */
export class ResourceExhaustedError extends Error {
  override readonly name = 'ResourceExhaustedError';
}

/** A size or count outside what the driver supports. */
export class OutOfRangeError extends Error {
  override readonly name = 'OutOfRangeError';
}

/** The system is not in a state where the request can run (e.g. volume still in use). */
export class FailedPreconditionError extends Error {
  override readonly name = 'FailedPreconditionError';
}

/** Another operation on the same object is in flight; the caller should retry later. */
export class OperationPendingError extends Error {
  override readonly name = 'OperationPendingError';
  /** `message` says what is in progress when it is more than another call (e.g. a volume being zeroed). */
  constructor(key: string, message?: string) {
    super(message ?? `an operation on ${key} is already in progress; retry later`);
  }
}

/** A dependency (agent, kernel service) is not reachable or not ready yet. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** The caller presented no identity this server knows (a certificate without a vbs-csi URI). */
export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
}

/** The caller's identity is known and may not do this (docs/security.md, authorization by identity). */
export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
}
