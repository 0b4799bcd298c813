/**
 * Pure: finds secrets in log texts, in every form a secret could take on its way into a log
 * line, and describes each hit without the secret (its first two characters and its length).
 *
 * Logs are compared as bytes (latin1 strings), so a raw binary key written into a log is found
 * as well as its text encodings. Every form shorter than MIN_FORM_CHARS is left out (too short
 * to tell from chance); a secret left with no form at all is reported as unscannable rather than
 * skipped, so that a real secret can never pass unchecked.
 */

export interface ScannedSecret {
  readonly kind: string;
  readonly label: string;
  readonly value: Buffer | string;
}

export interface LogText {
  readonly file: string;
  /** The log's bytes; a string is taken as UTF-8. */
  readonly content: Buffer | string;
}

export interface SecretHit {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly kind: string;
  readonly label: string;
  /** The first two characters and the length; never the secret. */
  readonly preview: string;
  /** Which forms of the secret were found on that line ("raw", "base64", "PEM body line 2", ...). */
  readonly forms: readonly string[];
}

export interface ScanReport {
  readonly hits: readonly SecretHit[];
  /** Secrets too short to look for in any form. */
  readonly unscannable: readonly { readonly kind: string; readonly label: string; readonly preview: string }[];
  readonly secrets: number;
  readonly files: number;
  readonly bytes: number;
}

/** CHAP passwords are at least 12 characters (RFC 3720 asks 12 bytes); random 12 characters never occur by chance. */
export const MIN_FORM_CHARS = 12;

/** How a secret might look in a log. */
export interface SecretForm {
  readonly form: string;
  /** As a latin1 string (one char per byte), as the logs are read. */
  readonly text: string;
}

const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every form of one secret worth looking for, at least MIN_FORM_CHARS long, without duplicates. */
export function formsOf(value: Buffer | string): SecretForm[] {
  const forms: SecretForm[] = [];
  const add = (form: string, bytes: Buffer | string): void => {
    const text = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8').toString('latin1') : bytes.toString('latin1');
    if (text.length >= MIN_FORM_CHARS && !forms.some((f) => f.text === text)) forms.push({ form, text });
  };
  const addBinary = (prefix: string, bytes: Buffer): void => {
    add(`${prefix}hex`, bytes.toString('hex'));
    add(`${prefix}HEX`, bytes.toString('hex').toUpperCase());
    add(`${prefix}base64`, bytes.toString('base64').replace(/=+$/, ''));
    add(`${prefix}base64url`, bytes.toString('base64url'));
    // JSON.stringify(buffer) is {"type":"Buffer","data":[1,2,...]}; util.inspect prints <Buffer 01 02 ...> (the first 50 bytes).
    add(`${prefix}JSON byte list`, [...bytes].join(','));
    add(`${prefix}byte list`, [...bytes].join(', '));
    add(`${prefix}inspected bytes`, bytes.subarray(0, 50).toString('hex').replace(/(..)(?!$)/g, '$1 '));
  };

  if (typeof value !== 'string') {
    add('raw bytes', value);
    addBinary('', value);
    return forms;
  }
  add('raw', value);
  add('JSON-escaped', JSON.stringify(value).slice(1, -1));
  add('base64 of the text', Buffer.from(value, 'utf8').toString('base64').replace(/=+$/, ''));
  for (const [, , body = ''] of value.matchAll(PEM_PRIVATE_KEY)) {
    const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    lines.forEach((line, i) => add(`PEM body line ${i + 1}`, line));
    const der = Buffer.from(lines.join(''), 'base64');
    addBinary('DER as ', der);
  }
  return forms;
}

/** "ab… (24 chars)": enough to tell secrets apart in a report, useless to an attacker. */
export function previewOf(value: Buffer | string): string {
  return typeof value === 'string' ? `${value.slice(0, 2)}… (${value.length} chars)` : `${value.subarray(0, 1).toString('hex')}… (${value.length} bytes)`;
}

interface Needle {
  readonly secret: number;
  readonly form: string;
  readonly text: string;
}

/** Scans every log for every form of every secret (one rolling-hash pass per log, however many secrets). */
export function scanForSecrets(secrets: readonly ScannedSecret[], logs: readonly LogText[]): ScanReport {
  const needles = new Map<number, Needle[]>();
  const unscannable: ScanReport['unscannable'][number][] = [];
  secrets.forEach((s, index) => {
    const forms = formsOf(s.value);
    if (forms.length === 0) unscannable.push({ kind: s.kind, label: s.label, preview: previewOf(s.value) });
    for (const f of forms) {
      const key = windowHash(f.text, 0);
      const list = needles.get(key) ?? [];
      list.push({ secret: index, form: f.form, text: f.text });
      needles.set(key, list);
    }
  });

  const hits: SecretHit[] = [];
  let bytes = 0;
  for (const log of logs) {
    const text = typeof log.content === 'string' ? Buffer.from(log.content, 'utf8').toString('latin1') : log.content.toString('latin1');
    bytes += text.length;
    const lines = new LineCounter(text);
    // Hits on one line merged per secret: one leak shows up in several forms (the raw PEM contains its body lines).
    const byLine = new Map<string, { line: number; secret: number; forms: string[] }>();
    for (const [offset, needle] of findNeedles(text, needles)) {
      const line = lines.lineAt(offset);
      const key = `${line}:${needle.secret}`;
      const hit = byLine.get(key) ?? { line, secret: needle.secret, forms: [] };
      if (!hit.forms.includes(needle.form)) hit.forms.push(needle.form);
      byLine.set(key, hit);
    }
    for (const h of byLine.values()) {
      const s = secrets[h.secret]!;
      hits.push({ file: log.file, line: h.line, kind: s.kind, label: s.label, preview: previewOf(s.value), forms: h.forms });
    }
  }
  return { hits, unscannable, secrets: secrets.length, files: logs.length, bytes };
}

/** One report line per hit: where, which secret, in which forms; never the secret. */
export function describeHit(hit: SecretHit): string {
  return `${hit.file}:${hit.line}: ${hit.kind} "${hit.label}" (${hit.preview}) as ${hit.forms.join(', ')}`;
}

const BASE = 257;
const W = MIN_FORM_CHARS;
/** BASE^(W-1) mod 2^32, to drop the character leaving the window. */
const TOP = Array.from({ length: W - 1 }).reduce<number>((acc) => Math.imul(acc, BASE), 1);

function windowHash(text: string, start: number): number {
  let h = 0;
  for (let i = start; i < start + W; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
  return h >>> 0;
}

/** Rabin-Karp over windows of W characters; every candidate is confirmed by comparing the text. */
function* findNeedles(text: string, needles: ReadonlyMap<number, readonly Needle[]>): Generator<[number, Needle]> {
  if (text.length < W || needles.size === 0) return;
  let h = 0;
  for (let i = 0; i < W; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
  for (let i = 0; ; i++) {
    const candidates = needles.get(h >>> 0);
    if (candidates) for (const n of candidates) if (text.startsWith(n.text, i)) yield [i, n];
    if (i + W >= text.length) return;
    h = (Math.imul(h - Math.imul(text.charCodeAt(i), TOP), BASE) + text.charCodeAt(i + W)) | 0;
  }
}

/** Line numbers of increasing offsets, counting newlines only once. */
class LineCounter {
  readonly #text: string;
  #offset = 0;
  #line = 1;

  constructor(text: string) {
    this.#text = text;
  }

  lineAt(offset: number): number {
    if (offset < this.#offset) {
      this.#offset = 0;
      this.#line = 1;
    }
    for (let i = this.#text.indexOf('\n', this.#offset); i !== -1 && i < offset; i = this.#text.indexOf('\n', i + 1)) this.#line++;
    this.#offset = offset;
    return this.#line;
  }
}
