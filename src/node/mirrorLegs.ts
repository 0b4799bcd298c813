import { open } from 'node:fs/promises';
import { MIRROR_HEADER_BYTES } from '../replication/mirrorRecord.ts';
import type { MirrorStageRecord, StagedCopy } from './stageRecord.ts';

/** The sectors at the start of every copy that hold dm-raid's metadata leg (MIRROR_HEADER_BYTES). */
export const HEADER_SECTORS = MIRROR_HEADER_BYTES / 512;

/**
 * The dm-linear devices of one copy: `<dmName>-m<slot>` over its header (dm-raid's metadata
 * device) and `<dmName>-d<slot>` over the rest (the data device). Derived from the volume's dm
 * name (24 characters), so unstage finds them from the volume id alone, far within dm's 127.
 */
export function legNames(dmName: string, slot: number): { readonly meta: string; readonly data: string } {
  return { meta: `${dmName}-m${slot}`, data: `${dmName}-d${slot}` };
}

/** A copy's agent request fields (CHAP and the copies' record). */
export function copyAgent(record: Pick<MirrorStageRecord, 'lvId'>, copy: StagedCopy): { readonly node: string; readonly id: string; readonly agentAddress: string } {
  return { node: copy.node, id: record.lvId, agentAddress: copy.agentAddress };
}

/** dm-raid's superblock magic, "DmRd" as a little-endian u32 (dm-raid.c DM_RAID_MAGIC 0x64526D44), at the start of the metadata device. */
const DM_RAID_MAGIC = Buffer.from([0x44, 0x6d, 0x52, 0x64]);

/** Whether these first bytes of a metadata device hold a dm-raid superblock. */
export function hasDmRaidMagic(head: Uint8Array): boolean {
  return head.length >= 4 && Buffer.from(head.subarray(0, 4)).equals(DM_RAID_MAGIC);
}

/** Reads the first bytes of a copy's disk (its metadata area): 'present' with a dm-raid superblock, else 'blank'. */
export async function readSuperblockState(disk: string): Promise<'present' | 'blank'> {
  const fh = await open(disk, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return hasDmRaidMagic(head.subarray(0, bytesRead)) ? 'present' : 'blank';
  } finally {
    await fh.close();
  }
}
