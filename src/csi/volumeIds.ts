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

/**
 * A replicated volume's CSI id: `@mirror/<LV id>`. Its copies share the LV id on every storage
 * node that holds one, and which nodes those are changes when a copy is replaced, so the id names
 * none of them: the controller finds the copies by asking the agents for the LV id, and the copies'
 * own record (src/replication/mirrorRecord.ts) says which of them count. '@' is not allowed in a
 * storage node name, so the id can never be read as a single-copy one.
 */
export const MIRROR_ID_PREFIX = '@mirror/';

export function formatMirrorVolumeId(id: string): string {
  return `${MIRROR_ID_PREFIX}${id}`;
}

/** The LV id of a replicated volume's CSI id, or undefined when the text is not one. */
export function parseMirrorVolumeId(text: string): { readonly id: string } | undefined {
  if (!text.startsWith(MIRROR_ID_PREFIX)) return undefined;
  const id = text.slice(MIRROR_ID_PREFIX.length);
  return isVolumeId(id) ? { id } : undefined;
}

/** Either kind of CSI volume id this driver makes; undefined when the text is neither. */
export type VolumeRef = ({ readonly kind: 'single' } & ObjectRef) | { readonly kind: 'mirror'; readonly id: string };

export function parseAnyVolumeId(text: string): VolumeRef | undefined {
  const mirror = parseMirrorVolumeId(text);
  if (mirror) return { kind: 'mirror', id: mirror.id };
  const single = parseVolumeId(text);
  return single ? { kind: 'single', ...single } : undefined;
}
