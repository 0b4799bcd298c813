import type { AgentVolumesPort } from '../agent/types.ts';

/** What the controller needs to know about a storage node to place volumes on it. */
export interface StorageNodeStatus {
  readonly name: string;
  readonly ready: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly extentSizeBytes: number;
  /** What the thin pool may still promise (over-provisioning ratio and fill limits applied). */
  readonly thinAllocatableBytes: number;
  readonly vgFreeBytes: number;
  readonly thinPoolHealth: string;
  readonly utilization: number;
  readonly averageLatencyMs: number;
  readonly volumeCount: number;
}

/**
 * One storage agent as the controller uses it: the agent's volume API (the same port its gRPC
 * service implements, so tests can put a real in-process AgentVolumes behind it) plus its status.
 * Implementations throw the domain errors of src/errors.ts; a transport failure is UnavailableError.
 */
export interface StorageAgent extends Omit<AgentVolumesPort, 'reconcile'> {
  getNodeStatus(signal?: AbortSignal): Promise<StorageNodeStatus>;
  close(): void;
}
