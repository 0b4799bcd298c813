import { status } from '@grpc/grpc-js';

/**
 * The CLI's exit statuses, which scripts can rely on (docs/cli.md lists them):
 * 0 done · 1 failed (anything not below) · 2 usage error (nothing was sent) ·
 * 3 the driver refused the request as invalid · 4 not found · 5 already exists with other
 * properties · 6 no capacity · 7 the object is not in a state that allows it ·
 * 75 try again later (another call on the object is in flight, the driver is unreachable or the
 * deadline passed; EX_TEMPFAIL of sysexits.h).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  invalid: 3,
  notFound: 4,
  alreadyExists: 5,
  noCapacity: 6,
  failedPrecondition: 7,
  retry: 75,
} as const;

const BY_GRPC_CODE: ReadonlyMap<number, number> = new Map([
  [status.INVALID_ARGUMENT, EXIT.invalid],
  [status.OUT_OF_RANGE, EXIT.invalid],
  [status.NOT_FOUND, EXIT.notFound],
  [status.ALREADY_EXISTS, EXIT.alreadyExists],
  [status.RESOURCE_EXHAUSTED, EXIT.noCapacity],
  [status.FAILED_PRECONDITION, EXIT.failedPrecondition],
  [status.ABORTED, EXIT.retry],
  [status.UNAVAILABLE, EXIT.retry],
  [status.DEADLINE_EXCEEDED, EXIT.retry],
]);

/** The exit status for a gRPC status code (a number, as grpc-js ServiceError.code). */
export function exitCodeForGrpcCode(code: number): number {
  if (code === status.OK) return EXIT.ok;
  return BY_GRPC_CODE.get(code) ?? EXIT.failed;
}

/** The gRPC code of a grpc-js ServiceError, or undefined for anything else. */
export function grpcCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, details } = err as { code?: unknown; details?: unknown };
  return typeof code === 'number' && typeof details === 'string' ? code : undefined;
}

/** "NOT_FOUND" for 5. */
export function grpcCodeName(code: number): string {
  return (Object.entries(status).find(([, v]) => v === code)?.[0]) ?? `code ${code}`;
}
