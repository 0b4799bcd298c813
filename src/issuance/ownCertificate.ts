import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { exportPrivateKeyPem, generateKeyPairForLeaf, signLeafCertificate } from '../tls/index.ts';
import type { PemPair, TlsFilePaths } from '../tls/index.ts';
import { pemPair } from '../tls/pemPair.ts';
import { writeTlsFiles } from './writeTlsFiles.ts';

/** The cluster CA as a kubernetes.io/tls Secret mounts it (what cert-manager writes, and the chart's genCA Secret). */
export async function readCaDir(dir: string): Promise<PemPair> {
  const [certPem, keyPem] = await Promise.all(['tls.crt', 'tls.key'].map((f) => readFile(join(dir, f), 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the cluster CA ${join(dir, f)}: ${err.code ?? String(err)}`);
  })));
  return pemPair({ certPem: certPem as string }, keyPem as string);
}

/**
 * The controller's own client certificate (urn:vbs-csi:controller) issued from the CA it signs
 * with: Helm cannot put a URI in a certificate (genSignedCert takes DNS names and IPs only), and the
 * controller holds the CA key anyway. Written where --tls-ca/--client-tls-cert/--client-tls-key
 * point (an in-memory emptyDir in the chart) and renewed at two thirds of its life or when the CA
 * changes; the controller's ReloadingTls takes the new files.
 */
export class OwnCertificate {
  readonly #caDir: string;
  readonly #paths: TlsFilePaths;
  readonly #validSeconds: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #due = 0;
  #caPem = '';

  constructor(opts: { readonly caDir: string; readonly paths: TlsFilePaths; readonly validSeconds: number; readonly log: Logger }) {
    this.#caDir = opts.caDir;
    this.#paths = opts.paths;
    this.#validSeconds = opts.validSeconds;
    this.#log = opts.log;
  }

  /** Issues now when due (first call: always), then checks every `checkMs`. */
  async start(checkMs = 60_000): Promise<void> {
    await this.renewIfDue();
    this.#timer = setInterval(() => {
      this.renewIfDue().catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'cannot renew the controller\'s own certificate; keeping the one in use'));
    }, checkMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** True when a new certificate was written. */
  async renewIfDue(now = new Date()): Promise<boolean> {
    const ca = await readCaDir(this.#caDir);
    if (ca.certPem === this.#caPem && now.getTime() < this.#due) return false;
    const keys = await generateKeyPairForLeaf();
    const certPem = await signLeafCertificate(ca, {
      commonName: 'vbs-csi controller',
      usages: 'client',
      identity: { kind: 'controller' },
      publicKey: keys.publicKey,
      validDays: 1,
      validSeconds: this.#validSeconds,
      capAtCaExpiry: true,
      now,
    });
    const cert = new X509Certificate(certPem);
    const from = new Date(cert.validFrom).getTime();
    this.#due = from + Math.floor(((new Date(cert.validTo).getTime() - from) * 2) / 3);
    this.#caPem = ca.certPem;
    await writeTlsFiles(this.#paths, { caPem: ca.certPem, certPem, keyPem: exportPrivateKeyPem(keys.privateKey) });
    this.#log.info({ serialNumber: cert.serialNumber, validTo: cert.validTo }, 'controller certificate issued from the cluster CA');
    return true;
  }
}
