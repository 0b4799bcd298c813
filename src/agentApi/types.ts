import type { ChapCredentials } from '../chap/ChapCredentials.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';

/**
 * The controller–agent contract in domain terms: what the agent's gRPC service implements
 * (src/agent) and what the controller consumes (src/controller), with no gRPC in it. Ids are the
 * LV names the agent chose (ids.ts); names are the CO's idempotency keys, kept in LV tags. Methods
 * throw the domain errors of src/errors.ts (NotFoundError, AlreadyExistsError,
 * ResourceExhaustedError, FailedPreconditionError, OperationPendingError, InvalidArgumentError);
 * over the network a transport failure is UnavailableError.
 */

export interface AgentPortal {
  readonly ip: string;
  readonly port: number;
}

export type AgentContentSource = { readonly kind: 'snapshot'; readonly id: string } | { readonly kind: 'volume'; readonly id: string };

export interface AgentTarget {
  readonly iqn: string;
  readonly portal: AgentPortal;
  readonly lun: number;
  readonly serial: string;
}

export interface AgentInitiator {
  readonly iqn: string;
  readonly readOnly: boolean;
  readonly mutualChap: boolean;
}

/**
 * One copy of a replicated volume as its agent holds it (docs/replication.md): the LV starts with
 * `headerBytes` of dm-raid metadata, then the data; `sizeBytes` of AgentVolume is the data only.
 */
export interface AgentMirror {
  /** This copy's raid1 slot (its index in record.copies). */
  readonly slot: number;
  readonly headerBytes: number;
  /** The copies' record as this copy's LV tags hold it. */
  readonly record: MirrorRecord;
}

export interface AgentVolume {
  readonly id: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly thin: boolean;
  readonly contentSource: AgentContentSource | undefined;
  readonly createdAt: Date;
  readonly target: AgentTarget;
  readonly initiators: readonly AgentInitiator[];
  /** Set on a copy of a replicated volume; undefined on a single-copy volume. */
  readonly mirror?: AgentMirror;
}

export interface AgentSnapshot {
  readonly id: string;
  readonly name: string;
  readonly sourceVolumeId: string;
  readonly sizeBytes: number;
  readonly createdAt: Date;
  readonly readyToUse: boolean;
}

export interface CreateAgentVolumeRequest {
  readonly name: string;
  readonly sizeBytes: number;
  readonly thick: boolean;
  readonly contentSource?: AgentContentSource;
  /**
   * Make this LV one copy of a replicated volume: `sizeBytes` is the data size, the LV is
   * header + data, the header reads as zeroes (dm-raid then initialises it), and the record is
   * written into the tags with the LV. Not with a content source (yet).
   */
  readonly mirror?: { readonly slot: number; readonly record: MirrorRecord };
}

export interface ExportAgentVolumeRequest {
  readonly volumeId: string;
  readonly initiatorIqn: string;
  readonly readOnly: boolean;
  readonly mutualChap: boolean;
}

/**
 * A compare-and-set of a copy's record: applied only when the stored generation is at most
 * `expectedGeneration` (lower: the copy missed changes while it was away, and catches up) and
 * `record.generation` is one more, or when the stored record already equals `record` (a retry).
 * A record never goes backwards, and two writers of one generation cannot both win on a copy
 * that was current. The answer is the stored record after the call, so a caller that lost a race
 * sees the winner's record.
 */
export interface SetMirrorRecordRequest {
  readonly volumeId: string;
  readonly initiatorIqn: string;
  readonly expectedGeneration: number;
  readonly record: MirrorRecord;
}

export interface SetMirrorRecordResult {
  readonly applied: boolean;
  readonly current: AgentMirror;
}

/** What AgentCredentials gives a node plugin: the target and the initiator's CHAP credentials for it. */
export interface AgentExport {
  readonly target: AgentTarget;
  readonly chap: ChapCredentials;
}

/** The AgentVolumes service: the agent implements it, the controller calls it (in tests, in process). */
export interface AgentVolumesPort {
  createVolume(req: CreateAgentVolumeRequest, signal?: AbortSignal): Promise<AgentVolume>;
  expandVolume(id: string, sizeBytes: number, signal?: AbortSignal): Promise<AgentVolume>;
  deleteVolume(id: string, signal?: AbortSignal): Promise<void>;
  getVolume(id: string, signal?: AbortSignal): Promise<AgentVolume>;
  listVolumes(signal?: AbortSignal): Promise<AgentVolume[]>;
  createSnapshot(req: { readonly name: string; readonly sourceVolumeId: string }, signal?: AbortSignal): Promise<AgentSnapshot>;
  deleteSnapshot(id: string, signal?: AbortSignal): Promise<void>;
  getSnapshot(id: string, signal?: AbortSignal): Promise<AgentSnapshot>;
  listSnapshots(filter: { readonly sourceVolumeId?: string }, signal?: AbortSignal): Promise<AgentSnapshot[]>;
  /** The target only: the credentials go to the initiator's node plugin (AgentCredentialsPort), never to the controller. */
  exportVolume(req: ExportAgentVolumeRequest, signal?: AbortSignal): Promise<{ readonly target: AgentTarget }>;
  unexportVolume(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<void>;
}

/** What the controller needs to know about a storage node to place volumes on it (the AgentStatus service, condensed). */
export interface StorageNodeStatus {
  readonly name: string;
  readonly ready: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly extentSizeBytes: number;
  /** What the thin pool may still promise (over-provisioning ratio and fill limits applied). */
  readonly thinAllocatableBytes: number;
  readonly vgFreeBytes: number;
  readonly thinPoolHealth: string;
  /**
   * Fraction (0..1) of the thin pool's data and metadata space in use (lvm's data_percent and
   * metadata_percent / 100); absent when the agent reported no pool (0 would read as "empty").
   */
  readonly thinPoolDataUsedRatio?: number;
  readonly thinPoolMetadataUsedRatio?: number;
  readonly utilization: number;
  readonly averageLatencyMs: number;
  readonly volumeCount: number;
}

/**
 * What the agent's AgentCredentials service serves node plugins, apart from AgentVolumesPort so the
 * controller's view of an agent never includes secrets (docs/security.md).
 */
export interface AgentCredentialsPort {
  /** The credentials of an initiator the volume is exported to; FailedPreconditionError when it is not, NotFoundError without the volume. */
  chapCredentials(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<AgentExport>;
  /**
   * A copy's record, for the node plugin the volume is published to (same authorization as
   * chapCredentials). FailedPreconditionError when the volume is not a replicated copy.
   */
  mirrorRecord(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<AgentMirror>;
  /** Compare-and-set of a copy's record by the node plugin that runs the mirror (SetMirrorRecordRequest). */
  setMirrorRecord(req: SetMirrorRecordRequest, signal?: AbortSignal): Promise<SetMirrorRecordResult>;
}

/**
 * One storage agent as the controller uses it: the agent's volume API (the same port its gRPC
 * service implements, so tests can put a real in-process AgentVolumes behind it) plus its status.
 * Every call takes the caller's AbortSignal: over gRPC, aborting it cancels the call.
 */
export interface StorageAgent extends AgentVolumesPort {
  getNodeStatus(signal?: AbortSignal): Promise<StorageNodeStatus>;
  close(): void;
}
