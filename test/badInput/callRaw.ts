import { Client, Metadata, credentials, status } from '@grpc/grpc-js';
import type { ServiceDefinition, ServiceError } from '@grpc/grpc-js';

/** How a call ended: the gRPC code's name (OK included) and the status message. */
export interface CallOutcome {
  readonly code: string;
  readonly details: string;
}

/**
 * One unary call of `rpc` on a service definition from loadProtos, with any request: an object
 * the method's own serializer encodes (so int64 fields may be given as strings such as '-1'), or
 * bytes sent as they are, which reach the server whatever they hold. Never rejects: a client-side
 * encoding failure is reported as code 'CLIENT_ENCODE' so a case can never pass by accident.
 */
export function callRaw(client: Client, service: ServiceDefinition, rpc: string, request: object | Uint8Array, deadlineMs = 10_000): Promise<CallOutcome> {
  const method = service[rpc];
  if (!method) throw new Error(`the service has no method ${rpc}`);
  const serialize = request instanceof Uint8Array ? (bytes: Uint8Array) => Buffer.from(bytes) : (req: object) => method.requestSerialize(req);
  return new Promise((resolve) => {
    try {
      client.makeUnaryRequest(
        method.path,
        serialize as (value: object | Uint8Array) => Buffer,
        (bytes: Buffer) => method.responseDeserialize(bytes),
        request,
        new Metadata(),
        { deadline: new Date(Date.now() + deadlineMs) },
        (err: ServiceError | null) => resolve(err ? { code: status[err.code] ?? String(err.code), details: err.details } : { code: 'OK', details: '' }),
      );
    } catch (err: unknown) {
      resolve({ code: 'CLIENT_ENCODE', details: String(err) });
    }
  });
}

/** A plaintext channel to a server address (unix:///… or host:port) for callRaw. */
export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure());
}
