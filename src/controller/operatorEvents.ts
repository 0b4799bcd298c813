import type { EventSink } from '../kube/eventRecorder.ts';

/**
 * What an operator must act on, told where `kubectl describe` shows it: Kubernetes Events on the
 * Node concerned (src/kube/eventRecorder.ts writes them, deduplicated into series). Only names,
 * ids and error texts go in; credentials never reach these calls (docs/security.md).
 */
export interface OperatorEvents {
  /** A storage node's thin pool takes no new thin volumes: `health` is the agent's reason. */
  thinPoolOverLimit(storageNode: string, health: string): void;
  /** A storage node's agent does not answer; its volumes are UNAVAILABLE. */
  storageNodeUnreachable(storageNode: string, why: string): void;
  /** ControllerUnpublishVolume could not remove an initiator's ACL: that worker may still write. */
  fenceNotApplied(fence: { readonly volumeId: string; readonly nodeId: string; readonly storageNode: string; readonly error: string }): void;
  /** Several Kubernetes nodes registered one initiator name: they would share every ACL. */
  duplicateNodeId(nodeId: string, kubeNodes: readonly string[]): void;
}

/** No API to write to: nothing is recorded (logs still say it all). */
export const NO_OPERATOR_EVENTS: OperatorEvents = {
  thinPoolOverLimit: () => {},
  storageNodeUnreachable: () => {},
  fenceNotApplied: () => {},
  duplicateNodeId: () => {},
};

const node = (name: string) => ({ kind: 'Node', apiVersion: 'v1', name });

export interface KubeOperatorEventsOptions {
  /**
   * The Kubernetes node that registered a CSI node id (CSINode), for a fence Event on the worker
   * that keeps its access; undefined when unknown, and the Event goes on the storage node's Node.
   */
  readonly workerOf?: (nodeId: string) => Promise<string | undefined>;
}

/**
 * Events on Nodes. Storage node names are the agents' Kubernetes node names in the chart
 * (--storage-node-name=$(NODE_NAME)); a storage node named otherwise gets Events on a Node name
 * that does not exist, which the API accepts and `kubectl get events` still lists.
 */
export function kubeOperatorEvents(sink: EventSink, opts: KubeOperatorEventsOptions = {}): OperatorEvents {
  return {
    thinPoolOverLimit(storageNode, health) {
      sink.record({
        regarding: node(storageNode),
        type: 'Warning',
        reason: 'ThinPoolOverLimit',
        message: `storage node ${storageNode}: the thin pool takes no new thin volumes (${health}); free space (delete volumes or snapshots) or extend the pool (lvextend), or raise --data-limit-percent / --metadata-limit-percent`,
      });
    },
    storageNodeUnreachable(storageNode, why) {
      sink.record({
        regarding: node(storageNode),
        type: 'Warning',
        reason: 'StorageNodeUnreachable',
        message: `storage node ${storageNode} is not answering (${why}); its volumes cannot be created, deleted, published or unpublished until it does; if it is gone for good: vbs-csi nodes remove ${storageNode} --confirm-node-is-gone (docs/storage-node-removal.md)`,
      });
    },
    fenceNotApplied(fence) {
      const message =
        `ControllerUnpublishVolume of ${fence.volumeId} could not remove the ACL of ${fence.nodeId} on storage node ${fence.storageNode}: ${fence.error}; ` +
        'that worker may still read and write the volume; the CO retries, and until it succeeds do not attach the volume elsewhere by hand';
      const onWorker = async () => (opts.workerOf ? await opts.workerOf(fence.nodeId).catch(() => undefined) : undefined);
      void onWorker().then((worker) => sink.record({ regarding: node(worker ?? fence.storageNode), type: 'Warning', reason: 'FenceNotApplied', message }));
    },
    duplicateNodeId(nodeId, kubeNodes) {
      for (const n of kubeNodes) {
        sink.record({
          regarding: node(n),
          type: 'Warning',
          reason: 'DuplicateInitiatorName',
          message: `initiator name ${nodeId} (the vbs-csi node id) is registered by ${kubeNodes.join(' and ')}; volumes are not published to it until each node has its own (echo "InitiatorName=$(iscsi-iname)" > /etc/iscsi/initiatorname.iscsi, restart iscsid and the vbs-csi node plugin)`,
        });
      }
    },
  };
}
