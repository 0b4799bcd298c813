import type { AgentMirror, SetMirrorRecordResult } from '../agentApi/types.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';

/** Which copy's record, and where its agent is (publish_context copy<slot>.*). */
export interface MirrorRecordRequest {
  /** The agent's id of the volume (vbs-vol-…, the same on every copy). */
  readonly volumeId: string;
  /** The storage node that holds this copy: its agent must prove to be that node. */
  readonly storageNode: string;
  /** host:port of that agent. */
  readonly agentAddress: string;
  /** This node's initiator name: the agent answers only the node the volume is published to. */
  readonly initiatorIqn: string;
}

/**
 * Where the node plugin reads and bumps a replicated volume's record (src/replication/mirrorRecord.ts):
 * each copy's agent, over mutual TLS with this node's certificate, like ChapSource
 * (AgentCredentialsPort.mirrorRecord / setMirrorRecord). Throws the domain errors of src/errors.ts;
 * UnavailableError when the agent cannot be reached.
 */
export interface MirrorRecordSource {
  read(req: MirrorRecordRequest, signal?: AbortSignal): Promise<AgentMirror>;
  /** Compare-and-set (SetMirrorRecordRequest): applied only over `expectedGeneration`; the answer holds the stored record. */
  compareAndSet(req: MirrorRecordRequest & { readonly expectedGeneration: number; readonly record: MirrorRecord }, signal?: AbortSignal): Promise<SetMirrorRecordResult>;
}
