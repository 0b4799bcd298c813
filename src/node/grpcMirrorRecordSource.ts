import type { ChannelCredentials } from '@grpc/grpc-js';
import type { AgentCredentialsPort, AgentMirror, SetMirrorRecordResult } from '../agentApi/types.ts';
import { connectAgent } from '../agentApi/client.ts';
import { FailedPreconditionError } from '../errors.ts';
import type { TlsMaterial } from '../tls/index.ts';
import { agentChannelCredentials } from './grpcChapSource.ts';
import type { MirrorRecordRequest, MirrorRecordSource } from './mirrorRecordSource.ts';

/** The agent's mirror record calls on one connection, closed after the call. */
export type MirrorRecordClient = Pick<AgentCredentialsPort, 'mirrorRecord' | 'setMirrorRecord'> & { close(): void };

/** Opens the AgentCredentials client of one agent (agentApi's connectAgent has this shape). */
export type ConnectMirrorRecordClient = (agentAddress: string, credentials: ChannelCredentials, timeoutMs: number) => MirrorRecordClient;

/** The agent's client (src/agentApi/client.ts): its AgentCredentials calls are the ones used here. */
export const connectMirrorRecordClient: ConnectMirrorRecordClient = connectAgent;

const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * MirrorRecordSource over gRPC: the copy's agent, with this node's certificate, the agent's
 * identity checked as for CHAP credentials (agentChannelCredentials). One short-lived channel per
 * call, like GrpcChapSource.
 */
export class GrpcMirrorRecordSource implements MirrorRecordSource {
  readonly #tls: () => Promise<TlsMaterial>;
  readonly #connect: ConnectMirrorRecordClient;
  readonly #timeoutMs: number;

  constructor(opts: { readonly tls: TlsMaterial | (() => Promise<TlsMaterial>); readonly connect: ConnectMirrorRecordClient; readonly timeoutMs?: number }) {
    const tls = opts.tls;
    this.#tls = typeof tls === 'function' ? tls : async () => tls;
    this.#connect = opts.connect;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async read(req: MirrorRecordRequest, signal?: AbortSignal): Promise<AgentMirror> {
    return this.#with(req, (c) => c.mirrorRecord({ volumeId: req.volumeId, initiatorIqn: req.initiatorIqn }, signal));
  }

  async compareAndSet(req: MirrorRecordRequest & { readonly expectedGeneration: number; readonly record: AgentMirror['record'] }, signal?: AbortSignal): Promise<SetMirrorRecordResult> {
    return this.#with(req, (c) => c.setMirrorRecord({ volumeId: req.volumeId, initiatorIqn: req.initiatorIqn, expectedGeneration: req.expectedGeneration, record: req.record }, signal));
  }

  async #with<T>(req: MirrorRecordRequest, fn: (c: MirrorRecordClient) => Promise<T>): Promise<T> {
    const client = this.#connect(req.agentAddress, agentChannelCredentials(await this.#tls(), req.storageNode, req.agentAddress), this.#timeoutMs);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  }
}

/**
 * The all-in-one driver's MirrorRecordSource without a node certificate: the agent in the same
 * process for its own storage node's copy, `remote` (or a refusal) for the others.
 */
export class LocalMirrorRecordSource implements MirrorRecordSource {
  readonly #agent: Pick<AgentCredentialsPort, 'mirrorRecord' | 'setMirrorRecord'>;
  readonly #storageNode: string;
  readonly #remote: MirrorRecordSource | undefined;

  constructor(opts: { readonly agent: Pick<AgentCredentialsPort, 'mirrorRecord' | 'setMirrorRecord'>; readonly storageNode: string; readonly remote?: MirrorRecordSource }) {
    this.#agent = opts.agent;
    this.#storageNode = opts.storageNode;
    this.#remote = opts.remote;
  }

  async read(req: MirrorRecordRequest, signal?: AbortSignal): Promise<AgentMirror> {
    if (req.storageNode === this.#storageNode) return this.#agent.mirrorRecord({ volumeId: req.volumeId, initiatorIqn: req.initiatorIqn }, signal);
    return this.#other(req).read(req, signal);
  }

  async compareAndSet(req: MirrorRecordRequest & { readonly expectedGeneration: number; readonly record: AgentMirror['record'] }, signal?: AbortSignal): Promise<SetMirrorRecordResult> {
    if (req.storageNode === this.#storageNode) {
      return this.#agent.setMirrorRecord({ volumeId: req.volumeId, initiatorIqn: req.initiatorIqn, expectedGeneration: req.expectedGeneration, record: req.record }, signal);
    }
    return this.#other(req).compareAndSet(req, signal);
  }

  #other(req: MirrorRecordRequest): MirrorRecordSource {
    if (this.#remote) return this.#remote;
    throw new FailedPreconditionError(
      `the copy of ${req.volumeId} on ${req.storageNode} is on another storage node than this all-in-one process's agent (${this.#storageNode}); give it a node certificate (--node-tls-cert, --node-tls-key) to reach the other agents`,
    );
  }
}
