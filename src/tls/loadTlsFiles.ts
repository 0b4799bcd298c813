import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pemPair } from './pemPair.ts';

/** The PEM files of one side of a mutual-TLS connection. */
export interface TlsFilePaths {
  /** The cluster CA certificate(s): peers must chain to one of these. */
  readonly caPath: string;
  /** This side's certificate, optionally followed by intermediates. */
  readonly certPath: string;
  /** This side's unencrypted private key. */
  readonly keyPath: string;
}

/**
 * What serverCredentials and clientCredentials need, as PEM text. `keyPem` is non-enumerable
 * (see pemPair), so the object, and LoadedTls below, can be logged without leaking the key.
 */
export interface TlsMaterial {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** TlsMaterial read from files, with a description of the certificate fit for a log line. */
export interface LoadedTls extends TlsMaterial {
  readonly paths: TlsFilePaths;
  readonly subject: string;
  readonly issuer: string;
  /** "DNS:agent-a.example, IP Address:10.0.0.5", as node:crypto shows it; empty when none. */
  readonly subjectAltName: string;
  readonly validTo: Date;
  /** Serial number of this side's certificate (hex, as node:crypto shows it): tells a reload took. */
  readonly serialNumber: string;
  /** When the first CA certificate in the bundle expires: after it, no peer is accepted. */
  readonly caValidTo: Date;
}

/** A TLS file is missing, unreadable or wrong; the message names the file and the problem (never its content). */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Reads and checks the CA bundle, certificate and key before any socket is opened, so a bad
 * file stops the program with one clear sentence instead of failing every handshake later:
 * each file must exist and be PEM of the right kind, the CA bundle must hold CA certificates,
 * the key must belong to the certificate, the certificate must be signed by one of the CAs,
 * and it must be within its validity period.
 */
export async function loadTlsFiles(paths: TlsFilePaths, now: Date = new Date()): Promise<LoadedTls> {
  // Read together, but report the first bad file in a fixed order (CA, certificate, key) so the
  // same broken directory always produces the same sentence.
  const read = await Promise.allSettled([
    readPem(paths.caPath, 'CA certificate'),
    readPem(paths.certPath, 'certificate'),
    readPem(paths.keyPath, 'private key'),
  ]);
  const failed = read.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [caText, certText, keyText] = read.map((r) => (r as PromiseFulfilledResult<string>).value) as [string, string, string];

  const cas = parseCertificates(paths.caPath, caText, 'CA certificate');
  const notCa = cas.find((c) => !c.ca);
  if (notCa) throw new TlsFileError(paths.caPath, `${notCa.subject} is not a CA certificate (basicConstraints cA is not set)`);
  const chain = parseCertificates(paths.certPath, certText, 'certificate');
  const leaf = chain[0];
  if (!leaf) throw new TlsFileError(paths.certPath, 'holds no certificate');

  const key = parsePrivateKey(paths.keyPath, keyText);
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsFileError(paths.keyPath, `is not the private key of the certificate in ${paths.certPath} (${leaf.subject})`);
  }
  if (!cas.some((ca) => isIssuedBy(chain, ca))) {
    throw new TlsFileError(
      paths.certPath,
      `${leaf.subject} (issued by ${leaf.issuer}) is not signed by the CA in ${paths.caPath} (${cas.map((c) => c.subject).join('; ')})`,
    );
  }
  const validFrom = new Date(leaf.validFrom);
  const validTo = new Date(leaf.validTo);
  if (now > validTo) throw new TlsFileError(paths.certPath, `${leaf.subject} expired on ${validTo.toISOString()}; issue a new certificate`);
  if (now < validFrom) {
    throw new TlsFileError(paths.certPath, `${leaf.subject} is not valid before ${validFrom.toISOString()}; check this machine's clock`);
  }

  return pemPair(
    {
      caPem: caText,
      certPem: certText,
      paths,
      subject: leaf.subject,
      issuer: leaf.issuer,
      subjectAltName: leaf.subjectAltName ?? '',
      validTo,
      serialNumber: leaf.serialNumber,
      caValidTo: new Date(Math.min(...cas.map((c) => new Date(c.validTo).getTime()))),
    },
    keyText,
  );
}

async function readPem(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TlsFileError(path, `the ${what} file does not exist`);
    if (code === 'EACCES' || code === 'EPERM') throw new TlsFileError(path, `the ${what} file cannot be read (permission denied)`);
    if (code === 'EISDIR') throw new TlsFileError(path, `is a directory, not the ${what} file`);
    throw new TlsFileError(path, `the ${what} file cannot be read (${code ?? 'error'})`);
  }
  if (!text.includes('-----BEGIN ')) throw new TlsFileError(path, `is not PEM (no "-----BEGIN" line); expected the ${what}`);
  return text;
}

function parseCertificates(path: string, text: string, what: string): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsFileError(path, `holds no "BEGIN CERTIFICATE" block; expected the ${what}`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new TlsFileError(path, `certificate #${i + 1} is not a valid X.509 certificate`);
    }
  });
}

function parsePrivateKey(path: string, text: string): KeyObject {
  if (/-----BEGIN (?:ENCRYPTED PRIVATE KEY|[A-Z ]*PRIVATE KEY-----[\s\S]*Proc-Type: 4,ENCRYPTED)/.test(text)) {
    throw new TlsFileError(path, 'the private key is encrypted; vbs-csi needs an unencrypted key (protect it with file permissions)');
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new TlsFileError(path, 'holds no "BEGIN PRIVATE KEY" block (is this a certificate?)');
  }
  try {
    return createPrivateKey(text);
  } catch {
    // node:crypto's message is not shown: nothing derived from a key file reaches an error.
    throw new TlsFileError(path, 'the private key block cannot be parsed (corrupt or unsupported PEM)');
  }
}

/** The leaf, or the last certificate of the chain that follows it, is signed by `ca`. */
function isIssuedBy(chain: readonly X509Certificate[], ca: X509Certificate): boolean {
  const signedBy = (c: X509Certificate, issuer: X509Certificate) => c.checkIssued(issuer) && c.verify(issuer.publicKey);
  const [leaf, ...rest] = chain;
  if (!leaf) return false;
  if (signedBy(leaf, ca)) return true;
  // leaf → intermediates → ca: each must sign the one before it.
  let current = leaf;
  for (const next of rest) {
    if (!signedBy(current, next)) return false;
    current = next;
  }
  return current !== leaf && signedBy(current, ca);
}
