import { createHash } from 'node:crypto';

/**
 * The ids of the agent's objects, made and recognised here only: `vbs-vol-<26 base32 chars>` for
 * a volume, `vbs-snap-<26 base32 chars>` for a snapshot. The agent uses the id as its LV's name;
 * the controller derives the id from a CO name to find a volume on any agent, and puts
 * "<storage node>/<id>" in CSI ids (src/csi/volumeIds.ts) within CSI's 128 bytes.
 */
export type AgentObjectKind = 'volume' | 'snapshot';

const KIND_PREFIX: Readonly<Record<AgentObjectKind, string>> = { volume: 'vbs-vol-', snapshot: 'vbs-snap-' };

/** RFC 4648 base32, lower-cased: letters and digits only, so no '_' and no reserved "_tdata"-like LV name part can appear. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 26 base32 characters = 130 bits of SHA-256: collisions are not a practical concern. */
const HASH_CHARS = 26;

const VOLUME_ID = /^vbs-vol-[a-z2-7]{26}$/;
const SNAPSHOT_ID = /^vbs-snap-[a-z2-7]{26}$/;

/**
 * The id of a volume or snapshot, derived from a name of any length and alphabet (the CSI name,
 * usually). Deterministic, so a retried CreateVolume computes the same id; short, so the
 * device-mapper name of the LV stays far below its 127-character limit whatever the VG is called
 * (docs/field-notes.md 3.7). The name itself travels in an LV tag.
 */
export function buildAgentId(name: string, kind: AgentObjectKind): string {
  const digest = createHash('sha256').update(name, 'utf8').digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < HASH_CHARS) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length === HASH_CHARS) break;
  }
  return KIND_PREFIX[kind] + out;
}

/** Whether `id` has the shape buildAgentId gives volumes. */
export function isVolumeId(id: string): boolean {
  return VOLUME_ID.test(id);
}

/** Whether `id` has the shape buildAgentId gives snapshots. */
export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}

/** The kind of object an id names, or undefined when it is none of ours. */
export function kindOfAgentId(id: string): AgentObjectKind | undefined {
  return isVolumeId(id) ? 'volume' : isSnapshotId(id) ? 'snapshot' : undefined;
}
