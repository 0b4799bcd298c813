import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createCsr, readCsr } from '../kube/certificateSigningRequests.ts';
import type { KubeClient } from '../kube/kubeClient.ts';
import { describeIdentity, identityOfSubjectAltName, identityUri } from '../tls/identity.ts';
import type { CallerIdentity } from '../tls/identity.ts';
import { createCertificateRequest, pemCertificates } from '../tls/index.ts';
import type { TlsFilePaths } from '../tls/index.ts';
import { writeTlsFiles } from './writeTlsFiles.ts';

export interface CertificateRequesterOptions {
  readonly kube: KubeClient;
  /** e.g. vbs.csi.io/agent */
  readonly signerName: string;
  readonly identity: CallerIdentity;
  readonly dnsNames?: readonly string[];
  /** CertificateSigningRequest spec.usages (signerPolicy ROLE_USAGES). */
  readonly usages: readonly string[];
  /** Where the CA, certificate and key are written; the role reads them from there (ReloadingTls). */
  readonly paths: TlsFilePaths;
  /** CSR names are `<prefix>-<hash of the request>`. */
  readonly namePrefix: string;
  readonly validSeconds: number;
  readonly log: Logger;
  readonly pollMs?: number;
  /** How long one request may stay unsigned before a new one is made. */
  readonly waitMs?: number;
  /** Delay between failed attempts, doubling up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly now?: () => Date;
}

/** The certificate in use: when it was issued and until when it is valid. */
export interface HeldCertificate {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialNumber: string;
}

/**
 * The requester's side of in-cluster issuance (agents and node plugins), as kubelet gets its
 * certificates (k8s.io/client-go/util/certificate: a CSR with its own key, wait for the signer,
 * renew before expiry): makes a key and a CSR for its identity, creates a CertificateSigningRequest
 * with its pod's ServiceAccount token (the API server records who made it and on which node, which
 * is what the controller's signer checks), waits until it is signed, checks the answer, and writes
 * the CA, certificate and key. The role reads them through ReloadingTls, so a renewal needs no
 * restart. Renewal starts at two thirds of the lifetime, so a signer that is down for a while (the
 * controller being rescheduled) costs nothing.
 */
export class CertificateRequester {
  readonly #o: CertificateRequesterOptions;
  #timer: AbortController | undefined;

  constructor(opts: CertificateRequesterOptions) {
    this.#o = opts;
  }

  /** The certificate in the files when it is this identity's, from the same key, and not yet due for renewal. */
  async held(): Promise<HeldCertificate | undefined> {
    const texts = await Promise.all([this.#o.paths.caPath, this.#o.paths.certPath, this.#o.paths.keyPath].map((p) => readFile(p, 'utf8').catch(() => undefined)));
    const [caPem, certPem, keyPem] = texts;
    if (caPem === undefined || certPem === undefined || keyPem === undefined) return undefined;
    try {
      const cert = new X509Certificate(certPem);
      const ca = new X509Certificate(caPem);
      if (!cert.checkPrivateKey(createPrivateKey(keyPem)) || !cert.verify(ca.publicKey)) return undefined;
      const id = identityOfSubjectAltName(cert.subjectAltName);
      if (id === undefined || identityUri(id) !== identityUri(this.#o.identity)) return undefined;
      return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), serialNumber: cert.serialNumber };
    } catch {
      return undefined;
    }
  }

  /** When `held` should be renewed: two thirds into its lifetime. */
  renewalDue(held: HeldCertificate): Date {
    const life = held.notAfter.getTime() - held.notBefore.getTime();
    return new Date(held.notBefore.getTime() + Math.floor((life * 2) / 3));
  }

  /**
   * Until the files hold a usable certificate: the one there when it is not due, else a new one,
   * retrying (with backoff) until it comes or `signal` aborts.
   */
  async ensure(signal?: AbortSignal): Promise<HeldCertificate> {
    const held = await this.held();
    if (held && this.renewalDue(held) > this.#now()) return held;
    return this.#untilIssued(signal);
  }

  /** ensure(), then renews in the background for as long as the process runs. */
  start(): void {
    this.#timer = new AbortController();
    const signal = this.#timer.signal;
    const loop = async () => {
      while (!signal.aborted) {
        const held = await this.ensure(signal).catch(() => undefined);
        if (held === undefined) return;
        const wait = Math.max(1_000, this.renewalDue(held).getTime() - this.#now().getTime());
        // setTimeout's limit is 2^31-1 ms (24.8 days): wake up and look again.
        await sleep(Math.min(wait, 2 ** 31 - 1), undefined, { signal, ref: false }).catch(() => undefined);
      }
    };
    void loop();
  }

  stop(): void {
    this.#timer?.abort();
  }

  async #untilIssued(signal?: AbortSignal): Promise<HeldCertificate> {
    let delay = this.#o.retryMs ?? 5_000;
    for (;;) {
      try {
        return await this.requestOnce(signal);
      } catch (err: unknown) {
        if (signal?.aborted) throw err;
        this.#o.log.warn({ err: (err as Error).message, retryInMs: delay }, 'certificate request failed; retrying');
        await sleep(delay, undefined, signal ? { signal } : {});
        delay = Math.min(delay * 2, this.#o.maxRetryMs ?? 120_000);
      }
    }
  }

  /** One CertificateSigningRequest, from a new key to the files; throws when it is denied or not signed in time. */
  async requestOnce(signal?: AbortSignal): Promise<HeldCertificate> {
    const o = this.#o;
    const pair = await createCertificateRequest({ identity: o.identity, ...(o.dnsNames ? { dnsNames: o.dnsNames } : {}) });
    const name = csrName(o.namePrefix, pair.csrPem);
    let csr = await createCsr(o.kube, { name, requestPem: pair.csrPem, signerName: o.signerName, usages: o.usages, expirationSeconds: o.validSeconds });
    o.log.info({ csr: name, signerName: o.signerName, identity: identityUri(o.identity) }, 'certificate requested');
    const deadline = Date.now() + (o.waitMs ?? 15 * 60_000);
    while (csr.certificatePem === '') {
      if (csr.refused) throw new Error(`CertificateSigningRequest ${name} was ${csr.refused.type.toLowerCase()}: ${csr.refused.reason}: ${csr.refused.message}`);
      if (Date.now() > deadline) throw new Error(`CertificateSigningRequest ${name} was not signed within ${Math.round((o.waitMs ?? 900_000) / 1000)} s (is the vbs-csi controller running with --sign-certificates?)`);
      await sleep(o.pollMs ?? 2_000, undefined, signal ? { signal } : {});
      csr = await readCsr(o.kube, name);
    }
    const issued = checkIssued(csr.certificatePem, pair.keyPem, o.identity);
    await writeTlsFiles(o.paths, { caPem: issued.caPem, certPem: issued.certPem, keyPem: pair.keyPem });
    o.log.info({ csr: name, identity: identityUri(o.identity), serialNumber: issued.held.serialNumber, validTo: issued.held.notAfter }, 'certificate issued and written');
    return issued.held;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }
}

/** A DNS-subdomain name unique per request: the prefix (cut to fit) and a hash of the request. */
export function csrName(prefix: string, csrPem: string): string {
  const hash = createHash('sha256').update(csrPem).digest('hex').slice(0, 12);
  const head = prefix.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253 - 13).replace(/[-.]+$/, '');
  return `${head}-${hash}`;
}

/**
 * The signer's answer checked before it is used: a certificate for our key and identity, then the
 * CA that signed it (the last certificate). A wrong answer is refused, never written.
 */
export function checkIssued(answer: string, keyPem: string, identity: CallerIdentity): { certPem: string; caPem: string; held: HeldCertificate } {
  const certs = pemCertificates(answer);
  if (certs.length < 2) throw new Error('the signed request holds no CA after the certificate; is the signer vbs-csi\'s controller?');
  const certPem = certs[0] as string;
  const caPem = certs.at(-1) as string;
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  if (!ca.ca) throw new Error('the last certificate of the signed request is not a CA');
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the issued certificate is not for the key this request was made with');
  if (!cert.verify(ca.publicKey)) throw new Error('the issued certificate is not signed by the CA that came with it');
  const id = identityOfSubjectAltName(cert.subjectAltName);
  if (id === undefined || identityUri(id) !== identityUri(identity)) throw new Error(`the issued certificate is for ${describeIdentity(id)}, not ${identityUri(identity)}`);
  return { certPem, caPem, held: { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), serialNumber: cert.serialNumber } };
}
