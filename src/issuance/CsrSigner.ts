import type { Logger } from 'pino';
import { listCsrs, readCsiNodeId, setCsrApproval, setCsrCertificate, setCsrFailed } from '../kube/certificateSigningRequests.ts';
import { CsrApiError } from '../kube/certificateSigningRequests.ts';
import type { CsrView } from '../kube/certificateSigningRequests.ts';
import type { KubeClient } from '../kube/kubeClient.ts';
import { pemCertificates, readCertificateRequest, signLeafCertificate } from '../tls/index.ts';
import type { PemPair } from '../tls/index.ts';
import { decideCsr } from './signerPolicy.ts';
import type { Decision, SignerPolicy } from './signerPolicy.ts';

export interface CsrSignerOptions {
  readonly kube: KubeClient;
  readonly policy: SignerPolicy;
  readonly driverName: string;
  /** The cluster CA (certificate + key), read at each pass so a renewed CA Secret is taken up. */
  readonly ca: () => Promise<PemPair>;
  readonly log: Logger;
  readonly intervalMs?: number;
}

/** What one pass did with each request it looked at, for tests and logs. */
export type SignerOutcome = { readonly name: string; readonly outcome: 'issued' | 'denied' | 'waiting' | 'failed'; readonly message: string };

/**
 * The controller's side of in-cluster issuance: approves and signs the agents' and node plugins'
 * CertificateSigningRequests for this driver's signers, or denies them, as signerPolicy decides.
 * It both approves and signs, like kube-controller-manager's csrapproving + csrsigning pair for
 * kubelet client certificates, because only it can check the request against what Kubernetes
 * records (the requester's ServiceAccount, its pod's node, that node's CSINode). A request that
 * someone else approved is still signed only when the policy agrees: approval by hand cannot widen
 * what a node may get. Requests are polled (every 5 s): they are rare, and a pass is cheap.
 */
export class CsrSigner {
  readonly #opts: CsrSignerOptions;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Requests already reported as waiting, so the log says it once. */
  readonly #waiting = new Map<string, string>();

  constructor(opts: CsrSignerOptions) {
    this.#opts = opts;
  }

  start(): void {
    const loop = async () => {
      try {
        await this.pass();
      } catch (err: unknown) {
        this.#opts.log.warn({ err: (err as Error).message }, 'certificate signer pass failed; retrying');
      }
      if (!this.#stopped) this.#timer = setTimeout(() => void loop(), this.#opts.intervalMs ?? 5_000).unref();
    };
    void loop();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** One look at every open request of this driver's signers. */
  async pass(): Promise<SignerOutcome[]> {
    const outcomes: SignerOutcome[] = [];
    for (const signerName of Object.keys(this.#opts.policy.signers)) {
      for (const csr of await listCsrs(this.#opts.kube, signerName)) {
        if (csr.certificatePem !== '' || csr.refused !== undefined) continue;
        // 409: another controller replica (or a person) changed it first; the next pass sees what it did.
        const outcome = await this.#handle(csr).catch((err: unknown) =>
          err instanceof CsrApiError && err.status === 409 ? undefined : { name: csr.name, outcome: 'failed' as const, message: (err as Error).message },
        );
        if (outcome) outcomes.push(outcome);
      }
    }
    for (const o of outcomes) {
      if (o.outcome === 'waiting') {
        if (this.#waiting.get(o.name) !== o.message) this.#opts.log.info({ csr: o.name, why: o.message }, 'certificate request waits');
        this.#waiting.set(o.name, o.message);
      } else {
        this.#waiting.delete(o.name);
        const level = o.outcome === 'issued' ? 'info' : 'warn';
        this.#opts.log[level]({ csr: o.name, outcome: o.outcome, detail: o.message }, `certificate request ${o.outcome}`);
      }
    }
    return outcomes;
  }

  async #handle(csr: CsrView): Promise<SignerOutcome> {
    let request;
    try {
      request = await readCertificateRequest(csr.requestPem);
    } catch (err: unknown) {
      return this.#deny(csr, 'BadRequest', (err as Error).message);
    }
    const facts = { ...csr, uris: request.uris, dnsNames: request.dnsNames, otherNames: request.otherNames };
    let decision: Decision = decideCsr(facts, this.#opts.policy);
    if (decision.kind === 'lookup-node-id') decision = decideCsr(facts, this.#opts.policy, await readCsiNodeId(this.#opts.kube, decision.node, this.#opts.driverName));
    switch (decision.kind) {
      case 'deny':
        return this.#deny(csr, decision.reason, decision.message);
      case 'wait':
      case 'lookup-node-id':
        return { name: csr.name, outcome: 'waiting', message: decision.kind === 'wait' ? decision.message : 'node id not looked up' };
      case 'issue': {
        const certPem = await signLeafCertificate(await this.#opts.ca(), {
          commonName: decision.identity.kind === 'agent' ? `agent ${decision.identity.storageNode}`.slice(0, 64) : 'node plugin',
          identity: decision.identity,
          dnsNames: decision.dnsNames,
          usages: decision.usages,
          publicKey: request.publicKey,
          validDays: 1,
          validSeconds: decision.validSeconds,
          capAtCaExpiry: true,
        });
        const approved = csr.approved ? csr : await setCsrApproval(this.#opts.kube, csr, 'Approved', 'VbsCsiPolicy', `vbs-csi controller: ${decision.message}`);
        // The CA follows the certificate in status.certificate: the requester takes it as its trust anchor.
        const ca = await this.#opts.ca();
        // Each PEM on lines of its own: the API server's PEM decoder finds no block in "...-----END CERTIFICATE----------BEGIN..."
        // and refuses the status (422); the fake API missed it, the cluster test bed did not.
        await setCsrCertificate(this.#opts.kube, approved, [certPem, ca.certPem].flatMap(pemCertificates).join(''));
        return { name: csr.name, outcome: 'issued', message: decision.message };
      }
    }
  }

  async #deny(csr: CsrView, reason: string, message: string): Promise<SignerOutcome> {
    // Approved by someone else: Denied may not join Approved, so the request is marked Failed instead.
    if (csr.approved) await setCsrFailed(this.#opts.kube, csr, reason, message);
    else await setCsrApproval(this.#opts.kube, csr, 'Denied', reason, message);
    return { name: csr.name, outcome: 'denied', message: `${reason}: ${message}` };
  }
}
