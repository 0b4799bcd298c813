/**
 * What placement decides from: the controller's last status of each storage node (agent) and
 * the request. These are plain data, filled by the controller from GetNodeStatus answers and the
 * CSI CreateVolume request; nothing here does I/O.
 */

export interface StorageNodeLoad {
  /** 0..1: the busiest physical volume's busy-time fraction, smoothed by the agent. */
  readonly utilization: number;
  /** Average time one I/O took on that device, smoothed, in milliseconds. */
  readonly averageLatencyMs: number;
}

export interface StorageNodeCandidate {
  /** The storage node's name, as it reports it. */
  readonly name: string;
  /** false: the status poll failed; the node is excluded and unreachableReason says why. */
  readonly reachable: boolean;
  /** The agent has reconciled and is serving. */
  readonly ready: boolean;
  readonly unreachableReason?: string;
  /** Operator labels, e.g. tier=ssd, zone=a. */
  readonly labels: Readonly<Record<string, string>>;
  /** Topology zone: labels.zone, or 'default'. */
  readonly zone: string;
  /**
   * Thin pool size × over-provisioning ratio − provisioned, as the agent reports it; 0 when the
   * pool is at or over its data or metadata limit.
   */
  readonly thinAllocatableBytes: number;
  /** Free bytes in the volume group, for thick volumes. */
  readonly thickFreeBytes: number;
  readonly load: StorageNodeLoad;
  /** When this status was fetched, on the controller's clock (see PlacementReservations). */
  readonly statusTakenAtMs: number;
}

export interface PlacementRequest {
  readonly sizeBytes: number;
  readonly thin: boolean;
  /** Labels every eligible node must carry with these values, e.g. { tier: 'ssd' } from StorageClass parameters. */
  readonly requiredLabels: Readonly<Record<string, string>>;
  /** CSI accessibility_requirements.requisite zones; undefined (or empty) = any zone. */
  readonly requisiteZones?: readonly string[];
  /** CSI accessibility_requirements.preferred zones, most wanted first. */
  readonly preferredZones?: readonly string[];
  /** A clone or restore must land on its source's node: only this node is considered. */
  readonly onlyNode?: string;
}

export interface PlacementDecision {
  readonly node: string;
  /** One line: who won, why, and the runner-up's figures (the controller logs it at debug). */
  readonly explanation: string;
}

/** Bytes already promised on a node to requests the node's status does not include yet. */
export type ReservedBytes = (node: string, thin: boolean) => number;
