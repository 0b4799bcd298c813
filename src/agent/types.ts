import type { AgentVolumesPort } from '../agentApi/types.ts';

/** The agent's own side of its domain: what src/agentApi's contract does not cover. */

export interface ReconcileReport {
  /** Exports created or repaired to match the LV tags. */
  readonly repaired: readonly string[];
  /** LIO targets (ours) whose volume no longer exists, removed. */
  readonly removed: readonly string[];
  /** Per-object failures; one failure does not stop the others (docs/field-notes.md 4.1). */
  readonly failed: readonly { readonly object: string; readonly error: string }[];
}

/** The volume API plus what only the agent itself runs. */
export interface AgentVolumesDomain extends AgentVolumesPort {
  /** Makes LIO match the LV tags: run at start (before ready) and periodically. */
  reconcile(signal?: AbortSignal): Promise<ReconcileReport>;
}
