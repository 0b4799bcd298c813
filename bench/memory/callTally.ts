import { status } from '@grpc/grpc-js';
import { isServiceError } from '../../src/grpc/toGrpcStatus.ts';

/** Calls by RPC, then by how they ended (gRPC code name: OK, NOT_FOUND, ...). */
export type CallCounts = Record<string, Record<string, number>>;

/**
 * How every call of a workload ended. A call that fails with a gRPC status is counted under its
 * code and does not stop the workload (a node call that needs a kernel fails here, and that is
 * expected); anything else (a bug in the harness) is thrown.
 */
export class CallTally {
  readonly #counts = new Map<string, Map<string, number>>();

  /** Runs one call; its answer, or undefined when it ended with a gRPC status other than OK. */
  async run<T>(rpc: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      const answer = await call();
      this.record(rpc, 'OK');
      return answer;
    } catch (err: unknown) {
      if (!isServiceError(err)) throw err;
      this.record(rpc, status[err.code] ?? String(err.code));
      return undefined;
    }
  }

  record(rpc: string, code: string): void {
    const byCode = this.#counts.get(rpc) ?? new Map<string, number>();
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    this.#counts.set(rpc, byCode);
  }

  counts(): CallCounts {
    return Object.fromEntries([...this.#counts].map(([rpc, byCode]) => [rpc, Object.fromEntries(byCode)]));
  }
}

/** Runs fn over items with at most `limit` in flight, as a CO's worker pool would. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
