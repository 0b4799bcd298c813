/**
 * The argv sampler (see argvSampler.ts): every POLL_MS, lists /proc and reads the cmdline of
 * every process it has not seen for long (a child shows its parent's command line until it
 * execs, so a pid is read again while it is young), appending each new (pid, argv) as a JSON line.
 *
 *   node e2e/support/argvSamplerMain.ts <out.jsonl>
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCmdline } from './argvSampler.ts';

const POLL_MS = 5;
/** A pid is read on every poll for this long after it first appeared. */
const YOUNG_MS = 2_000;

const out = process.argv[2];
if (out === undefined) throw new Error('usage: argvSamplerMain.ts <out.jsonl>');
const firstSeen = new Map<number, number>();
const recorded = new Set<string>();
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

while (!stopping) {
  const now = Date.now();
  const alive = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    alive.add(pid);
    const seen = firstSeen.get(pid) ?? now;
    if (!firstSeen.has(pid)) firstSeen.set(pid, now);
    if (now - seen > YOUNG_MS) continue;
    let argv: string[];
    try {
      argv = parseCmdline(readFileSync(`/proc/${pid}/cmdline`));
    } catch {
      continue; // gone already
    }
    if (argv.length === 0) continue;
    const key = `${pid}\0${argv.join('\0')}`;
    if (recorded.has(key)) continue;
    recorded.add(key);
    appendFileSync(out, `${JSON.stringify({ pid, argv })}\n`);
  }
  for (const pid of firstSeen.keys()) if (!alive.has(pid)) firstSeen.delete(pid);
  await sleep(POLL_MS);
}
