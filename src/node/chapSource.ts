import type { ChapCredentials } from '../chap/index.ts';

/** Which volume's credentials, and where its agent is (from the CSI volume id and publish_context). */
export interface ChapRequest {
  /** The agent's id of the volume (the part after "<storage node>/" of the CSI volume id). */
  readonly volumeId: string;
  /** The storage node that owns it: the agent must prove to be that node (urn:vbs-csi:agent:<name>). */
  readonly storageNode: string;
  /** host:port of that agent, as the controller reaches it (publish_context agentAddress). */
  readonly agentAddress: string;
  /** This node's initiator name: the agent answers only the node certificate of that initiator. */
  readonly initiatorIqn: string;
}

/**
 * Where NodeStageVolume gets a volume's CHAP credentials: never from publish_context, which
 * Kubernetes stores in plain text (docs/security.md), but from the storage agent itself over
 * mutual TLS with this node's certificate. Throws the domain errors of src/errors.ts:
 * UnavailableError when the agent cannot be reached; FailedPreconditionError when the volume is
 * not published to this node; a PERMISSION_DENIED/UNAUTHENTICATED status when the certificate
 * is not this initiator's.
 */
export interface ChapSource {
  fetch(req: ChapRequest, signal?: AbortSignal): Promise<{ readonly chap: ChapCredentials; readonly targetIqn: string }>;
}
