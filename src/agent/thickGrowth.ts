import { isVolumeId } from '../agentApi/ids.ts';

/**
 * The LV that holds a thick volume's next extents while they are zeroed, before lvextend gives
 * them to the volume (docs/no-old-data.md, "Expansion"). One per volume at most; its name follows
 * from the volume id (`vbs-grow-` + the id's unique part), so an expand's retry and a delete find
 * it without any record, and it is never taken for a volume or a snapshot.
 */
export function growthLvNameOf(volumeId: string): string {
  if (!isVolumeId(volumeId)) throw new Error(`${volumeId} is not a volume id`);
  return `vbs-grow-${volumeId.slice(volumeId.lastIndexOf('-') + 1)}`;
}
