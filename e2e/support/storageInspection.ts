import { readdir } from 'node:fs/promises';
import type { CommandRunner } from '../../src/exec/index.ts';
import { decodeTags } from '../../src/lvm/index.ts';

/** One LV as `lvs` shows it, with our decoded `vbs.` tags (kind, name, ...). */
export interface InspectedLv {
  readonly vg: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly pool: string;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * What the kernel and lvm say, read by hand (never through the code under test), so a scenario
 * can check the driver's claims: LVs with their tags, LIO targets, iSCSI sessions.
 */
export class StorageInspection {
  readonly #runner: CommandRunner;
  readonly #signal: AbortSignal;

  constructor(runner: CommandRunner, signal: AbortSignal) {
    this.#runner = runner;
    this.#signal = signal;
  }

  /** Every LV of these VGs except the thin pool's own. */
  async lvs(vgs: readonly string[]): Promise<InspectedLv[]> {
    const res = await this.#runner.run(
      { file: 'lvm', args: ['lvs', '--noheadings', '--units', 'b', '--nosuffix', '--separator', '|', '-o', 'vg_name,lv_name,lv_size,pool_lv,lv_tags,segtype', ...vgs], timeoutMs: 60_000 },
      this.#signal,
    );
    const out: InspectedLv[] = [];
    for (const line of res.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
      const [vg = '', name = '', size = '0', pool = '', tags = '', segtype = ''] = line.split('|');
      if (segtype === 'thin-pool' || name.startsWith('[')) continue;
      const decoded = decodeTags(tags === '' ? [] : tags.split(','));
      out.push({ vg, name, sizeBytes: Number(size), pool, tags: decoded });
    }
    return out;
  }

  /** Target IQNs in LIO that start with one of these prefixes. */
  async lioTargets(prefixes: readonly string[]): Promise<string[]> {
    const entries = await readdir('/sys/kernel/config/target/iscsi').catch(() => [] as string[]);
    return entries.filter((e) => prefixes.some((p) => e.startsWith(`${p}:`))).sort();
  }

  /** Target IQNs of the host's iSCSI sessions that start with one of these prefixes. */
  async sessionTargets(prefixes: readonly string[]): Promise<string[]> {
    const res = await this.#runner.run({ file: 'iscsiadm', args: ['-m', 'session'], timeoutMs: 30_000, okExitCodes: [0, 21] }, this.#signal);
    return res.stdout
      .split('\n')
      .map((l) => /\s(iqn\.\S+)/.exec(l)?.[1])
      .filter((t): t is string => t !== undefined && prefixes.some((p) => t.startsWith(`${p}:`)))
      .sort();
  }
}
