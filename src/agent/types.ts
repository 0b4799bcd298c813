import type { ChapCredentials, DerivedChap } from '../chap/index.ts';

/**
 * The storage agent's domain, as the gRPC handlers (src/agent/handlers) see it. Ids are the LV
 * names the agent chose; names are the CO's idempotency keys, kept in LV tags. Methods throw the
 * domain errors of src/errors.ts (NotFoundError, AlreadyExistsError, ResourceExhaustedError,
 * FailedPreconditionError, OperationPendingError, InvalidArgumentError).
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

export interface AgentVolume {
  readonly id: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly thin: boolean;
  readonly contentSource: AgentContentSource | undefined;
  readonly createdAt: Date;
  readonly target: AgentTarget;
  readonly initiators: readonly AgentInitiator[];
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
}

export interface ExportAgentVolumeRequest {
  readonly volumeId: string;
  readonly initiatorIqn: string;
  readonly readOnly: boolean;
  readonly mutualChap: boolean;
}

export interface ReconcileReport {
  /** Exports created or repaired to match the LV tags. */
  readonly repaired: readonly string[];
  /** LIO targets (ours) whose volume no longer exists, removed. */
  readonly removed: readonly string[];
  /** Per-object failures; one failure does not stop the others (docs/field-notes.md 4.1). */
  readonly failed: readonly { readonly object: string; readonly error: string }[];
}

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
  exportVolume(req: ExportAgentVolumeRequest, signal?: AbortSignal): Promise<{ readonly target: AgentTarget; readonly chap: DerivedChap }>;
  unexportVolume(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<void>;
  /** Makes LIO match the LV tags: run at start (before ready) and periodically. */
  reconcile(signal?: AbortSignal): Promise<ReconcileReport>;
}

/** What AgentCredentials serves node plugins (apart from AgentVolumesPort: the controller never asks for secrets). */
export interface AgentCredentialsPort {
  /** The credentials of an initiator the volume is exported to; FailedPreconditionError when it is not, NotFoundError without the volume. */
  chapCredentials(req: { readonly volumeId: string; readonly initiatorIqn: string }, signal?: AbortSignal): Promise<{ readonly target: AgentTarget; readonly chap: ChapCredentials }>;
}
