import { KeyObject, X509Certificate as NodeX509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';
import { checkCommonName, checkDnsName, checkIpAddress, checkValidDays } from './certificateNames.ts';
import { identityUri } from './identity.ts';
import type { CallerIdentity } from './identity.ts';
import { pemPair } from './pemPair.ts';
import type { PemPair } from './pemPair.ts';
import { x509 } from './x509.ts';

/**
 * The cluster's certificates: one CA, and leaves it issues to agents (TLS servers) and to the
 * controller (TLS client). ECDSA P-256 keys (fast to make, supported by OpenSSL and so grpc-js),
 * ECDSA-SHA256 signatures, random 128-bit serial numbers, and validity starting 5 minutes in the
 * past so that a peer whose clock is a little behind accepts a certificate made just now.
 */

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CLOCK_SKEW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export type CertificateUsage = 'server' | 'client' | 'both';

export interface CertificateAuthorityOptions {
  readonly commonName: string;
  readonly validDays: number;
  /** The clock; tests pass a past date to make certificates that have already expired. */
  readonly now?: Date;
}

export interface LeafCertificateOptions {
  readonly commonName: string;
  /** Host names the peer may dial this certificate's owner by (subjectAltName dNSName). */
  readonly dnsNames?: readonly string[];
  /** Addresses the peer may dial this certificate's owner at (subjectAltName iPAddress). */
  readonly ipAddresses?: readonly string[];
  /** server: TLS server authentication (agents); client: TLS client authentication (the controller). */
  readonly usages: CertificateUsage;
  /**
   * Who the holder is (src/tls/identity.ts), written as the one subjectAltName URI peers authorize
   * by. An agent's identity needs usages 'server'; the controller's and a node's need 'client':
   * one certificate is never both, so an agent's key cannot call another agent.
   */
  readonly identity?: CallerIdentity;
  readonly validDays: number;
  readonly now?: Date;
}

/** A new self-signed CA: basicConstraints cA=true, pathLen 0 (it signs leaves only), keyCertSign + cRLSign. */
export async function createCertificateAuthority(opts: CertificateAuthorityOptions): Promise<PemPair> {
  const commonName = checkCommonName(opts.commonName);
  const { notBefore, notAfter } = validity(opts.now ?? new Date(), checkValidDays(opts.validDays, 'CA'));
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: [{ CN: [commonName] }],
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return pemPair({ certPem: cert.toString('pem') }, exportPrivateKey(keys.privateKey));
}

/**
 * A leaf certificate signed by `ca`: basicConstraints cA=false, keyUsage digitalSignature,
 * extKeyUsage serverAuth and/or clientAuth, and the DNS names and IP addresses as subjectAltName.
 * A server certificate needs at least one of them: clients check the host they dialled against
 * the subjectAltName, never the common name. The leaf may not outlive the CA.
 */
export async function issueCertificate(ca: PemPair, opts: LeafCertificateOptions): Promise<PemPair> {
  const keys = await generateKeyPair();
  const certPem = await signLeafCertificate(ca, { ...opts, publicKey: keys.publicKey });
  return pemPair({ certPem }, exportPrivateKey(keys.privateKey));
}

/**
 * The leaf certificate of issueCertificate for a public key made elsewhere (a certificate signing
 * request: the holder's key never leaves the holder). `notAfterCap` shortens the validity to the
 * CA's own end instead of refusing, for a signer that must issue whatever its CA still covers.
 */
export async function signLeafCertificate(
  ca: PemPair,
  opts: LeafCertificateOptions & { readonly publicKey: webcrypto.CryptoKey; readonly validSeconds?: number; readonly capAtCaExpiry?: boolean },
): Promise<string> {
  const commonName = checkCommonName(opts.commonName);
  const dnsNames = (opts.dnsNames ?? []).map(checkDnsName);
  const ipAddresses = (opts.ipAddresses ?? []).map(checkIpAddress);
  if (opts.usages !== 'client' && dnsNames.length + ipAddresses.length === 0) {
    throw new InvalidArgumentError(
      `certificate ${JSON.stringify(commonName)} is for a server but names no DNS name or IP address; clients check the address they dial against these`,
    );
  }
  const uri = opts.identity === undefined ? undefined : identityUriFor(commonName, opts.identity, opts.usages);
  const now = opts.now ?? new Date();
  let { notBefore, notAfter } =
    opts.validSeconds === undefined ? validity(now, checkValidDays(opts.validDays, 'certificate')) : { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + opts.validSeconds * 1000) };
  const { certificate: caCert, signingKey } = await openCertificateAuthority(ca);
  if (notAfter > caCert.notAfter) {
    if (!opts.capAtCaExpiry) {
      throw new InvalidArgumentError(
        `certificate ${JSON.stringify(commonName)} would be valid until ${notAfter.toISOString()}, after its CA expires (${caCert.notAfter.toISOString()}); ask for fewer days or make a new CA`,
      );
    }
    notAfter = caCert.notAfter;
  }
  if (notAfter <= now) throw new InvalidArgumentError(`the CA expired at ${caCert.notAfter.toISOString()}; make a new CA`);
  if (notBefore < caCert.notBefore) notBefore = caCert.notBefore;

  const publicKey = opts.publicKey;
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(extendedKeyUsages(opts.usages), false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (dnsNames.length + ipAddresses.length > 0 || uri !== undefined) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
        ...(uri === undefined ? [] : [{ type: 'url' as const, value: uri }]),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: [{ CN: [commonName] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey,
    signingKey,
    extensions,
  });
  return cert.toString('pem');
}

/** Throws InvalidArgumentError unless `ca` can sign: a CA certificate and its own ECDSA P-256 key. */
export async function checkCertificateAuthority(ca: PemPair): Promise<void> {
  await openCertificateAuthority(ca);
}

/** Parses the CA pair and checks that it can sign: a CA certificate, and its own P-256 key. */
async function openCertificateAuthority(ca: PemPair): Promise<{ certificate: x509.X509Certificate; signingKey: webcrypto.CryptoKey }> {
  let certificate: x509.X509Certificate;
  let nodeCertificate: NodeX509Certificate;
  try {
    certificate = new x509.X509Certificate(x509.PemConverter.decodeFirst(ca.certPem));
    nodeCertificate = new NodeX509Certificate(ca.certPem);
  } catch {
    throw new InvalidArgumentError('the CA certificate is not a PEM X.509 certificate');
  }
  if (!nodeCertificate.ca) throw new InvalidArgumentError(`the CA certificate (${nodeCertificate.subject}) is not a CA (basicConstraints cA is not set)`);
  let key: KeyObject;
  try {
    key = createPrivateKey(ca.keyPem);
  } catch {
    // The library's message may quote parts of the input; ours names the problem only.
    throw new InvalidArgumentError('the CA key is not an unencrypted PEM private key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new InvalidArgumentError(`the CA key is ${key.asymmetricKeyType ?? 'unknown'}; vbs-csi signs with ECDSA P-256 CA keys only`);
  }
  if (!nodeCertificate.checkPrivateKey(key)) throw new InvalidArgumentError('the CA key does not belong to the CA certificate');
  return { certificate, signingKey: key.toCryptoKey(KEY_ALGORITHM, false, ['sign']) };
}

/** The identity's URI, after checking that the usages fit the role (agents serve, the others call). */
function identityUriFor(commonName: string, identity: CallerIdentity, usages: CertificateUsage): string {
  let uri: string;
  try {
    uri = identityUri(identity);
  } catch (err: unknown) {
    throw new InvalidArgumentError(`certificate ${JSON.stringify(commonName)}: ${(err as Error).message}`);
  }
  const needed: CertificateUsage = identity.kind === 'agent' ? 'server' : 'client';
  if (usages !== needed) {
    throw new InvalidArgumentError(`certificate ${JSON.stringify(commonName)} for ${uri} must have usages '${needed}' only, not '${usages}'`);
  }
  return uri;
}

function extendedKeyUsages(usages: CertificateUsage): x509.ExtendedKeyUsage[] {
  const server = usages === 'server' || usages === 'both' ? [x509.ExtendedKeyUsage.serverAuth] : [];
  const client = usages === 'client' || usages === 'both' ? [x509.ExtendedKeyUsage.clientAuth] : [];
  return [...server, ...client];
}

function validity(now: Date, validDays: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + validDays * DAY_MS) };
}

/** 128 random bits as a positive DER INTEGER with no leading zero byte (RFC 5280: at most 20 octets, positive). */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await globalThis.crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** PKCS#8 PEM ("BEGIN PRIVATE KEY"), which OpenSSL, grpc-js and node:crypto all read. */
export function exportPrivateKey(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}
