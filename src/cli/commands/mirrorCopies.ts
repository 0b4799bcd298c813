import type { AgentVolume } from '../../agentApi/types.ts';
import { newestRecord } from '../../replication/mirrorRecord.ts';

/**
 * A replicated volume's copies as the CLI shows them, from the volume_context the controller gives
 * (controllerHandlers.ts mirrorToCsi): `store-a✓ store-b✗(gen 4)`: ✓ in sync in the newest record,
 * ✗ out of sync as of that record's generation, ? not answering (or lost). CreateVolume's answer
 * carries no sync state: the nodes alone. Undefined for a single-copy volume.
 */
export function formatVolumeCopies(context: Readonly<Record<string, string>>): string | undefined {
  const nodes = splitList(context['copies']);
  if (nodes.length === 0) return undefined;
  const inSyncText = context['copiesInSync'];
  if (inSyncText === undefined) return nodes.join(' ');
  const inSync = new Set(splitList(inSyncText));
  const unavailable = new Set(splitList(context['copiesUnavailable']));
  const generation = context['mirrorGeneration'] ?? '?';
  return nodes.map((n) => `${n}${unavailable.has(n) ? '?' : ''}${inSync.has(n) ? '✓' : `✗(gen ${generation})`}`).join(' ');
}

function splitList(text: string | undefined): string[] {
  return (text ?? '').split(',').filter((x) => x !== '');
}

export interface NodeCopies {
  /** Copies of replicated volumes this node holds. */
  readonly copies: number;
  /** Of them, those out of sync in the newest record any node holds. */
  readonly outOfSync: number;
}

/**
 * Copies per storage node from the agents' volume lists: each volume judged by the newest record
 * among all its copies that answered (a stale copy's own tags may still say it is in sync).
 */
export function copiesPerNode(lists: readonly { readonly node: string; readonly volumes: readonly AgentVolume[] }[]): Map<string, NodeCopies> {
  const records = new Map<string, AgentVolume[]>();
  for (const { volumes } of lists) for (const v of volumes) if (v.mirror) records.set(v.id, [...(records.get(v.id) ?? []), v]);
  const out = new Map<string, NodeCopies>();
  for (const { node, volumes } of lists) {
    let copies = 0;
    let outOfSync = 0;
    for (const v of volumes) {
      if (!v.mirror) continue;
      copies++;
      const newest = newestRecord((records.get(v.id) ?? []).map((c) => c.mirror!.record));
      const record = newest && 'record' in newest ? newest.record : v.mirror.record;
      if (record.copies.find((c) => c.node === node)?.inSync !== true) outOfSync++;
    }
    out.set(node, { copies, outOfSync });
  }
  return out;
}

/** `3` or `3 (1✗)`. */
export function formatNodeCopies(c: NodeCopies | undefined): string {
  if (!c) return '?';
  return c.outOfSync > 0 ? `${c.copies} (${c.outOfSync}✗)` : String(c.copies);
}
