import { createHash } from 'node:crypto';

/**
 * A file written as a ring of `slots` blocks: block number i goes to slot i % slots, and its
 * bytes are derived from i alone, so the whole file's content after n blocks is known.
 */
export function ringBlock(index: number, blockBytes: number): Buffer {
  const digest = createHash('sha256').update(`vbs-ring-block-${index}`).digest();
  return Buffer.alloc(blockBytes, digest);
}

/** What the file holds once blocks 0..count-1 were written in order (unwritten slots are absent: the file ends at the last slot written). */
export function expectedRingFile(count: number, slots: number, blockBytes: number): Buffer {
  const used = Math.min(count, slots);
  const out = Buffer.alloc(used * blockBytes);
  for (let slot = 0; slot < used; slot++) {
    const last = slot + Math.floor((count - 1 - slot) / slots) * slots;
    ringBlock(last, blockBytes).copy(out, slot * blockBytes);
  }
  return out;
}
