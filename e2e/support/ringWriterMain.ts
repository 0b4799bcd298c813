import { closeSync, existsSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ringBlock } from './ringPattern.ts';

/**
 * The workload of a pod that must not notice a storage-node restart: writes the ring pattern
 * (ringPattern.ts) block after block, each followed by fsync, until `stopFile` exists. One JSON
 * line per block on stdout ({ i, ms }); on any error one line { error } and exit code 1.
 *
 * Usage: node ringWriterMain.ts <file> <stopFile> <slots> <blockBytes>
 */
const [file = '', stopFile = '', slotsText = '', blockText = ''] = process.argv.slice(2);
const slots = Number(slotsText);
const blockBytes = Number(blockText);
let written = 0;
try {
  const fd = openSync(file, 'w');
  while (!existsSync(stopFile)) {
    const started = performance.now();
    writeSync(fd, ringBlock(written, blockBytes), 0, blockBytes, (written % slots) * blockBytes);
    fsyncSync(fd);
    written++;
    process.stdout.write(`${JSON.stringify({ i: written, ms: Math.round(performance.now() - started) })}\n`);
  }
  fsyncSync(fd);
  closeSync(fd);
  process.stdout.write(`${JSON.stringify({ done: written })}\n`);
} catch (err: unknown) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err), written })}\n`);
  process.exitCode = 1;
}
