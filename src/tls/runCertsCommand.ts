import { randomBytes, X509Certificate } from 'node:crypto';
import { access, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkCertificateAuthority, createCertificateAuthority, issueCertificate } from './createCertificates.ts';
import { parseCertsArgs, certsUsageText } from './parseCertsArgs.ts';
import type { CertsArgs } from './parseCertsArgs.ts';
import type { PemPair } from './pemPair.ts';

/** Where the command prints: process.stdout/stderr, or a collector in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** A refusal or failure the operator can act on; printed as is. */
class CertsCommandError extends Error {
  override readonly name = 'CertsCommandError';
}

const CERT_MODE = 0o644;
const KEY_MODE = 0o600;

/**
 * `vbs-csi certs`: makes (or reuses) the cluster CA in --out and issues the requested agent and
 * client certificates. Returns the exit status: 0 done, 1 failed or refused, 2 bad usage.
 * Everything is generated in memory and checked for conflicts before the first file is written;
 * nothing is overwritten without --force. Only file names, subjects and dates are printed,
 * never key material.
 */
export async function runCertsCommand(argv: readonly string[], out: TextSink = process.stdout, err: TextSink = process.stderr): Promise<number> {
  const parsed = parseCertsArgs(argv);
  if (parsed.kind === 'help') {
    out.write(`${certsUsageText()}\n`);
    return 0;
  }
  if (parsed.kind === 'usage-error') {
    err.write(`vbs-csi certs: ${parsed.errors.join('\n  ')}\n\n${certsUsageText()}\n`);
    return 2;
  }
  try {
    await makeCertificates(parsed.args, out);
    return 0;
  } catch (e: unknown) {
    err.write(`vbs-csi certs: ${withoutPem(e instanceof Error ? e.message : String(e))}\n`);
    return 1;
  }
}

async function makeCertificates(args: CertsArgs, out: TextSink): Promise<void> {
  const dir = args.outDir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caCrt = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const [hasCrt, hasKey] = await Promise.all([exists(caCrt), exists(caKey)]);

  // Decide everything, and find every conflict, before writing anything.
  const conflicts: string[] = [];
  const makeCa = args.newCa || (!hasCrt && !hasKey);
  if (makeCa && (hasCrt || hasKey) && !args.force) {
    conflicts.push(`${hasCrt ? caCrt : caKey} exists; pass --force with --new-ca to replace the CA (certificates it issued stop being trusted)`);
  }
  if (!makeCa && hasCrt !== hasKey) {
    throw new CertsCommandError(
      `${hasCrt ? caKey : caCrt} is missing next to ${hasCrt ? caCrt : caKey}; restore it, or make a new CA with --new-ca --force`,
    );
  }
  for (const { name } of args.certs) {
    for (const path of [join(dir, `${name}.crt`), join(dir, `${name}.key`)]) {
      if (!args.force && (await exists(path))) conflicts.push(`${path} exists; pass --force to replace it`);
    }
  }
  if (conflicts.length > 0) throw new CertsCommandError(`refusing to overwrite:\n  ${conflicts.join('\n  ')}`);

  let ca: PemPair;
  const files: { path: string; pem: string; mode: number; describe: string }[] = [];
  if (makeCa) {
    ca = await createCertificateAuthority({ commonName: args.caName, validDays: args.caDays });
    files.push({ path: caKey, pem: ca.keyPem, mode: KEY_MODE, describe: 'CA key' });
    files.push({ path: caCrt, pem: ca.certPem, mode: CERT_MODE, describe: `CA ${describe(ca.certPem)}` });
  } else {
    ca = { certPem: await readFile(caCrt, 'utf8'), keyPem: await readFile(caKey, 'utf8') };
    await checkCertificateAuthority(ca).catch((e: unknown) => {
      throw new CertsCommandError(`cannot use the CA in ${dir}: ${(e as Error).message}`);
    });
    out.write(`using the existing CA ${caCrt} (${describe(ca.certPem)})${args.caDaysGiven ? '; --ca-days applies to new CAs only' : ''}\n`);
  }
  for (const cert of args.certs) {
    const leaf = await issueCertificate(ca, {
      commonName: cert.name,
      dnsNames: cert.dnsNames,
      ipAddresses: cert.ipAddresses,
      usages: cert.usages,
      identity: cert.identity,
      validDays: args.days,
    });
    const role = cert.identity.kind;
    files.push({ path: join(dir, `${cert.name}.key`), pem: leaf.keyPem, mode: KEY_MODE, describe: `${role} key` });
    files.push({ path: join(dir, `${cert.name}.crt`), pem: leaf.certPem, mode: CERT_MODE, describe: `${role} ${describe(leaf.certPem)}` });
  }

  for (const file of files) {
    await writeAtomically(file.path, file.pem, file.mode, args.force);
    out.write(`wrote ${file.path}: ${file.describe}\n`);
  }
  if (files.length === 0) out.write('nothing to issue: pass --agent, --controller or --node\n');
}

/** "CN=agent-a, DNS:agent-a, IP Address:127.0.0.2, valid until 2029-02-25T11:54:57.000Z" */
function describe(certPem: string): string {
  const cert = new X509Certificate(certPem);
  return [cert.subject, cert.subjectAltName, `valid until ${new Date(cert.validTo).toISOString()}`].filter(Boolean).join(', ');
}

/**
 * Writes a temporary file with its final mode, then moves it into place: replacing (rename)
 * with --force, else linking, which fails if the name appeared meanwhile. A reader never sees
 * a half-written key, and a key never exists with wider permissions than `mode`.
 */
async function writeAtomically(path: string, text: string, mode: number, replace: boolean): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, text, { mode, flag: 'wx' });
  try {
    if (replace) {
      await rename(tmp, path);
    } else {
      await link(tmp, path).catch((e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CertsCommandError(`${path} appeared while writing; not overwritten`);
        throw e;
      });
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Defence in depth: no PEM block, however it got into a message, is printed. */
function withoutPem(message: string): string {
  return message.replace(/-----BEGIN [^-]+-----[\s\S]*?(?:-----END [^-]+-----|$)/g, '[PEM block omitted]');
}
