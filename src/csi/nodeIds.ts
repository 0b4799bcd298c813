import { isValidIqn } from '../lio/iqn.ts';

/**
 * A worker's CSI node id is its iSCSI initiator name (lowercase IQN), as the node plugin reads
 * it from /etc/iscsi/initiatorname.iscsi (or is told with --initiator-name).
 *
 * Why: ControllerPublishVolume receives only the node id, and must add that initiator to the
 * volume's LIO ACL. With the IQN as the id the controller needs no Kubernetes API call, no
 * annotation and no RBAC, and a publish cannot race the node plugin's registration. The agents'
 * ACL lists are then exactly the `published_node_ids` of ListVolumes and ControllerGetVolume.
 * The Kubernetes node name travels separately (VolumeAttachment.spec.nodeName); initiator names
 * must be unique per node anyway (docs/field-notes.md 1.13). RFC 3720 caps an IQN at 223 bytes, inside
 * CSI's 256-byte node id limit.
 */
export function parseNodeId(nodeId: string): string | undefined {
  const iqn = nodeId.trim().toLowerCase();
  return nodeId === iqn && isValidIqn(iqn) ? iqn : undefined;
}

/** The topology key of this driver: agents and workers in one zone reach each other. */
export const TOPOLOGY_ZONE_KEY = 'topology.vbs.csi.io/zone';
/** The zone of an agent or node that was given none. */
export const DEFAULT_ZONE = 'default';
