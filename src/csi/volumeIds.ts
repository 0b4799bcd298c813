import { isSnapshotId, isVolumeId } from '../agentApi/ids.ts';

/**
 * CSI volume and snapshot ids: `<storage node>/<LV id>`, e.g. `store-a/vbs-vol-abcd…`. Every
 * later call gets nothing but this id, so it must say which agent owns the LV: the controller
 * keeps no database (docs/field-notes.md 5.3). The LV id is derived from the CO's name by the agent, so
 * a retried CreateVolume finds the same LV on any agent.
 *
 * CSI allows ids of 128 bytes; the LV id takes 36 with its separator (a snapshot's vbs-snap- is one
 * longer than vbs-vol-), which leaves 92 for the storage node name, a Kubernetes node name in a
 * cluster (lowercase DNS subdomain).
 */
export const MAX_STORAGE_NODE_NAME = 92;
const STORAGE_NODE_NAME = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;

export function isStorageNodeName(name: string): boolean {
  return name.length <= MAX_STORAGE_NODE_NAME && STORAGE_NODE_NAME.test(name);
}

export interface ObjectRef {
  /** The storage node (agent) that owns the LV. */
  readonly node: string;
  /** The agent's id of the LV (vbs-vol-… or vbs-snap-…). */
  readonly id: string;
}

export function formatObjectId(ref: ObjectRef): string {
  return `${ref.node}/${ref.id}`;
}

function parse(text: string, isLocalId: (id: string) => boolean): ObjectRef | undefined {
  const slash = text.indexOf('/');
  if (slash <= 0) return undefined;
  const node = text.slice(0, slash);
  const id = text.slice(slash + 1);
  return isStorageNodeName(node) && isLocalId(id) ? { node, id } : undefined;
}

/** The volume a CSI volume id names, or undefined when the text cannot be one of ours. */
export function parseVolumeId(text: string): ObjectRef | undefined {
  return parse(text, isVolumeId);
}

/** The snapshot a CSI snapshot id names, or undefined when the text cannot be one of ours. */
export function parseSnapshotId(text: string): ObjectRef | undefined {
  return parse(text, isSnapshotId);
}
