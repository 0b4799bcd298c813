/**
 * The LV that holds a thick volume's next extents while they are zeroed, before lvextend gives
 * them to the volume (docs/no-old-data.md, "Expansion"). One per volume at most; its name follows
 * from the volume id, so an expand's retry and a delete find it without any record.
 */
export function growthLvNameOf(volumeId: string): string {
  if (!volumeId.startsWith('vbs-vol-')) throw new Error(`${volumeId} is not a volume id`);
  return `vbs-grow-${volumeId.slice('vbs-vol-'.length)}`;
}
