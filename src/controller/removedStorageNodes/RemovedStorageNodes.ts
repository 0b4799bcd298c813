/**
 * The operator's record of storage nodes declared gone for good (`vbs-csi nodes remove`). A volume
 * or snapshot id names its storage node, and while that node does not answer the controller
 * cannot tell a restart from a loss: every call that must change it answers UNAVAILABLE. Only a
 * node in this record may turn into NOT_FOUND (and so success for deletes and unpublish).
 * See docs/storage-node-removal.md.
 */
export interface RemovedStorageNode {
  /** The storage node name, as volume ids carry it. */
  readonly name: string;
  /** When it was declared removed (ISO 8601), or '' when the record does not say. */
  readonly removedAt: string;
  /** The operator's note (why, ticket), '' when none. */
  readonly note: string;
}

/** Where the record lives: a Kubernetes ConfigMap or a JSON file (src/controller/removedStorageNodes/). */
export interface RemovedStorageNodes {
  /** For messages: "ConfigMap vbs-csi/vbs-csi-removed-storage-nodes" or "file /var/lib/...". */
  readonly where: string;
  /** Every removed node, by name. Throws when the record cannot be read (the caller cannot tell). */
  list(): Promise<RemovedStorageNode[]>;
  /** Declares a node removed; a node already removed keeps its first record, which is returned. */
  add(node: { readonly name: string; readonly note: string }): Promise<RemovedStorageNode>;
  /** Undoes a removal; false when the node was not removed. */
  restore(name: string): Promise<boolean>;
}

/** The longest note kept; a note is for people, not a document store. */
export const MAX_REMOVAL_NOTE = 200;

/** A note's problem, or undefined when it can be stored (printable, one line, short). */
export function checkRemovalNote(note: string): string | undefined {
  if (note.length > MAX_REMOVAL_NOTE) return `the note is ${note.length} characters; at most ${MAX_REMOVAL_NOTE}`;
  if (/[\x00-\x1f\x7f]/.test(note)) return 'the note must be one line of printable text';
  return undefined;
}

/** One node's record as stored (a ConfigMap value or a file entry): JSON of removedAt and note. */
export function encodeRemoval(node: RemovedStorageNode): string {
  return JSON.stringify({ removedAt: node.removedAt, note: node.note });
}

/**
 * A stored record back. The key's presence is the declaration: a value someone edited by hand into
 * something else still means removed, with what could be read of it.
 */
export function decodeRemoval(name: string, value: unknown): RemovedStorageNode {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = {};
    }
  }
  const obj = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  return { name, removedAt: typeof obj['removedAt'] === 'string' ? obj['removedAt'] : '', note: typeof obj['note'] === 'string' ? obj['note'] : '' };
}
