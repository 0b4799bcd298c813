import { appendFileSync, chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';

/**
 * The secrets ledger of an e2e run: every secret the suite makes or is handed (CHAP keys, CHAP
 * passwords, TLS private keys), written as it appears, so that the last scenario can look for
 * each of them in every log (e2e/scenarios/secretsScan.scenario.ts). It lives beside the log
 * directory, never in it, with mode 0600.
 *
 * The guest runner opens it (useSuiteLedger) and names the running scenario before each one;
 * scenarios and helpers call recordSecret & co., which return what they are given so that a
 * recording is a one-line wrap at the place the secret is made. Outside the runner (no ledger
 * open) recording does nothing.
 */
export const SECRET_KINDS = ['chap-key', 'chap-secret', 'tls-private-key'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

export interface LedgerEntry {
  readonly kind: SecretKind;
  readonly label: string;
  /** The scenario that was running when it was recorded. */
  readonly scenario: string;
  readonly value: Buffer | string;
}

export function ledgerPath(workRoot: string): string {
  return join(workRoot, 'secret-ledger.jsonl');
}

/** One JSON line; binary values in base64. */
export function formatLedgerLine(entry: LedgerEntry): string {
  const { kind, label, scenario, value } = entry;
  const encoded = typeof value === 'string' ? { encoding: 'utf8', value } : { encoding: 'base64', value: value.toString('base64') };
  return `${JSON.stringify({ kind, label, scenario, ...encoded })}\n`;
}

/** Reads a ledger's lines back; a malformed line is an error naming its number (never its content). */
export function parseLedger(text: string): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new Error(`secret ledger line ${i + 1} is not JSON`);
    }
    const r = raw as Record<string, unknown>;
    const kind = SECRET_KINDS.find((k) => k === r['kind']);
    if (kind === undefined || typeof r['label'] !== 'string' || typeof r['scenario'] !== 'string' || typeof r['value'] !== 'string' || (r['encoding'] !== 'utf8' && r['encoding'] !== 'base64')) {
      throw new Error(`secret ledger line ${i + 1} is not an entry (kind, label, scenario, encoding, value)`);
    }
    entries.push({ kind, label: r['label'], scenario: r['scenario'], value: r['encoding'] === 'base64' ? Buffer.from(r['value'], 'base64') : r['value'] });
  });
  return entries;
}

/** The ledger file of a run; a missing file is an empty ledger. */
export function readLedger(path: string): LedgerEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseLedger(text);
}

export class SecretLedger {
  readonly path: string;
  #scenario = '';
  readonly #seen = new Set<string>();

  /** Creates the file (mode 0600) if it does not exist yet. */
  constructor(path: string) {
    this.path = path;
    appendFileSync(path, '', { mode: 0o600 });
    chmodSync(path, 0o600);
  }

  /** Entries recorded from now on belong to this scenario. */
  beginScenario(name: string): void {
    this.#scenario = name;
  }

  /** Appends the secret once per scenario (a value seen again, e.g. a retried NodeStage, is not repeated). */
  record(kind: SecretKind, label: string, value: Buffer | string): void {
    const key = `${this.#scenario}\0${kind}\0${typeof value === 'string' ? `s:${value}` : `b:${value.toString('base64')}`}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    appendFileSync(this.path, formatLedgerLine({ kind, label, scenario: this.#scenario, value }));
  }
}

let suiteLedger: SecretLedger | undefined;

/** The runner's ledger, which recordSecret & co. write to (undefined: recording does nothing). */
export function useSuiteLedger(ledger: SecretLedger | undefined): void {
  suiteLedger = ledger;
}

/** Records a secret in the run's ledger and returns it, so the call wraps the place it is made. */
export function recordSecret<T extends Buffer | string>(kind: SecretKind, label: string, value: T): T {
  suiteLedger?.record(kind, label, value);
  return value;
}

/** Records the CHAP passwords of derived or chosen credentials (usernames are not secret) and returns them. */
export function recordChap<
  T extends { readonly password: string; readonly mutual?: { readonly password: string } | undefined; readonly mutualPassword?: string | undefined; readonly passwordIn?: string | undefined },
>(label: string, chap: T): T {
  recordSecret('chap-secret', label, chap.password);
  if (chap.mutual?.password) recordSecret('chap-secret', `${label} (mutual)`, chap.mutual.password);
  if (chap.mutualPassword) recordSecret('chap-secret', `${label} (mutual)`, chap.mutualPassword);
  if (chap.passwordIn) recordSecret('chap-secret', `${label} (mutual)`, chap.passwordIn);
  return chap;
}

/**
 * Records the CHAP passwords of the LIO ACLs of one target: what a node plugin fetches from the
 * agent for a volume ControllerPublish exported (publish_context names the target, never a secret).
 */
export async function recordTargetChapSecrets(label: string, targetIqn: string | undefined, lio = new LioTarget({ configFs: new FsConfigFs() })): Promise<void> {
  if (!suiteLedger || targetIqn === undefined) return;
  const exp = await lio.readExport(targetIqn, { includeSecrets: true });
  for (const acl of exp?.acls ?? []) {
    if (acl.chapPassword) recordChap(`${label}: ${targetIqn} for ${acl.initiatorIqn}`, { password: acl.chapPassword, mutualPassword: acl.mutualPassword });
  }
}

/**
 * Records the CHAP passwords in LIO's ACLs of the targets under `iqnPrefix`: the secrets a driver
 * derived and exported that the scenario itself never saw (the CLI redacts them). Reads the
 * kernel's configfs unless given another LioTarget.
 */
export async function recordLioChapSecrets(label: string, iqnPrefix: string, lio = new LioTarget({ configFs: new FsConfigFs() })): Promise<void> {
  if (!suiteLedger) return;
  for (const exp of await lio.listExports({ includeSecrets: true })) {
    if (!exp.targetIqn.startsWith(`${iqnPrefix}:`)) continue;
    for (const acl of exp.acls) {
      if (acl.chapPassword) recordChap(`${label}: ${exp.targetIqn} for ${acl.initiatorIqn}`, { password: acl.chapPassword, mutualPassword: acl.mutualPassword });
    }
  }
}
