import { AlreadyExistsError } from '../errors.ts';
import type { AgentContentSource } from '../agentApi/types.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';
import type { VolumeRecord } from './volumeTags.ts';

export interface WantedVolume {
  readonly name: string;
  /** After rounding to whole extents (of a copy: the LV after rounding, less its header). */
  readonly sizeBytes: number;
  readonly thin: boolean;
  readonly source: AgentContentSource | undefined;
  readonly mirror: { readonly slot: number; readonly record: MirrorRecord } | undefined;
}

/**
 * What a repeated create finds under its id. The same name asks for the same volume: equal size
 * after rounding, source and provisioning ('same'); anything else is AlreadyExistsError, except one
 * case: a clone or restore into a larger volume is `lvcreate -s` (the source's size) then
 * `lvextend`, and a crash between the two leaves the LV smaller than asked. Its requested-size tag,
 * written with the lvcreate, says the create asked for exactly this size: 'extend-unfinished', the
 * retry finishes the extend. Without that tag a smaller LV was made that small on purpose.
 *
 * A copy of a replicated volume is the same when it has the same slot and the same copies (nodes
 * by slot) and region size; its generation and in-sync flags are not compared, since the node
 * moves them on after the create, and a retry of that create must still find its copy.
 */
export function matchExistingVolume(existing: VolumeRecord, want: WantedVolume): 'same' | 'extend-unfinished' {
  const conflict = (what: string): never => {
    throw new AlreadyExistsError(`volume ${JSON.stringify(want.name)} already exists (${existing.id}) with ${what}`);
  };
  if (existing.name !== want.name) conflict(`another name, ${JSON.stringify(existing.name)} (id collision)`);
  if (existing.thin !== want.thin) conflict(existing.thin ? 'thin provisioning, not thick' : 'thick provisioning, not thin');
  const a = existing.contentSource;
  const b = want.source;
  if (a?.kind !== b?.kind || a?.id !== b?.id) conflict(`content source ${a ? `${a.kind} ${a.id}` : 'none'}, not ${b ? `${b.kind} ${b.id}` : 'none'}`);
  const had = existing.mirror;
  const wants = want.mirror;
  if (!had && wants) conflict('a single copy, not as a copy of a replicated volume');
  if (had && !wants) conflict(`as copy ${had.slot} of a replicated volume, not a single copy`);
  if (had && wants) {
    if (had.slot !== wants.slot) conflict(`as copy ${had.slot} of a replicated volume, not copy ${wants.slot}`);
    const nodes = (r: MirrorRecord) => r.copies.map((c) => c.node).join(',');
    if (nodes(had.record) !== nodes(wants.record)) conflict(`copies on ${nodes(had.record)}, not ${nodes(wants.record)}`);
    if (had.record.regionBytes !== wants.record.regionBytes) conflict(`a region size of ${had.record.regionBytes} bytes, not ${wants.record.regionBytes}`);
  }
  if (existing.sizeBytes === want.sizeBytes) return 'same';
  if (existing.sizeBytes < want.sizeBytes && existing.requestedSizeBytes === want.sizeBytes) return 'extend-unfinished';
  return conflict(`${existing.sizeBytes} bytes, not ${want.sizeBytes} (after rounding to whole extents)`);
}
