import type { webcrypto } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';
import { exportPrivateKey, generateKeyPair } from './createCertificates.ts';
import { identityUri } from './identity.ts';
import type { CallerIdentity } from './identity.ts';
import { pemPair } from './pemPair.ts';
import type { PemPair } from './pemPair.ts';
import { x509 } from './x509.ts';

/**
 * PKCS#10 certificate signing requests (RFC 2986) for in-cluster issuance (docs/security.md,
 * "Certificates issued in the cluster"): the holder makes its key and asks for a certificate
 * naming its identity; the key never leaves the holder. ECDSA P-256, like every vbs-csi key.
 */

const SAN_OID = '2.5.29.17';
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A new key and a CSR for `identity`, plus the DNS names a server certificate needs. */
export async function createCertificateRequest(opts: { readonly identity: CallerIdentity; readonly dnsNames?: readonly string[] }): Promise<{ readonly csrPem: string } & PemPair> {
  const uri = identityUri(opts.identity);
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [uri.slice(0, 64)] }],
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), { type: 'url' as const, value: uri }])],
  });
  // certPem is empty until the signer answers; keyPem stays out of logs (pemPair).
  return pemPair({ csrPem: csr.toString('pem'), certPem: '' }, exportPrivateKey(keys.privateKey));
}

/** What a signer needs from a CSR: its verified public key and the names it asks for. */
export interface ReadCertificateRequest {
  readonly publicKey: webcrypto.CryptoKey;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  /** Any other subjectAltName entry (IP, e-mail, ...): signers here refuse them. */
  readonly otherNames: readonly string[];
}

/**
 * Parses a PEM CSR and checks its self-signature (proof that the requester holds the key) and
 * that the key is ECDSA P-256. Throws InvalidArgumentError naming the problem, never quoting the input.
 */
export async function readCertificateRequest(pem: string): Promise<ReadCertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new InvalidArgumentError('the request is not a PEM PKCS#10 certificate signing request');
  }
  if (!(await csr.verify().catch(() => false))) throw new InvalidArgumentError('the request\'s signature does not verify with its own public key');
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') throw new InvalidArgumentError(`the request's key is ${algorithm.name ?? '?'} ${algorithm.namedCurve ?? ''}; vbs-csi issues for ECDSA P-256 keys only`.trim());
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const otherNames: string[] = [];
  for (const ext of csr.extensions.filter((e) => e.type === SAN_OID)) {
    for (const name of new x509.SubjectAlternativeNameExtension(ext.rawData).names.items) {
      if (name.type === 'url') uris.push(name.value);
      else if (name.type === 'dns') dnsNames.push(name.value);
      else otherNames.push(`${name.type}:${name.value}`);
    }
  }
  return { publicKey: await csr.publicKey.export(), uris, dnsNames, otherNames };
}

/** The PEM certificates in a text, in order. */
export function pemCertificates(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}
