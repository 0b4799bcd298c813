import { parseArgs } from 'node:util';
import { checkDnsName, checkIpAddress, checkValidDays } from './certificateNames.ts';
import type { CertificateUsage } from './createCertificates.ts';

/** One certificate the command is asked for. */
export interface CertRequest {
  readonly name: string;
  readonly usages: CertificateUsage;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export interface CertsArgs {
  readonly outDir: string;
  readonly caName: string;
  readonly caDays: number;
  /** Whether --ca-days was given (it only matters when a new CA is made). */
  readonly caDaysGiven: boolean;
  readonly days: number;
  readonly newCa: boolean;
  readonly force: boolean;
  readonly certs: readonly CertRequest[];
}

export type ParsedCertsArgs = { readonly kind: 'help' } | { readonly kind: 'run'; readonly args: CertsArgs } | { readonly kind: 'usage-error'; readonly errors: readonly string[] };

export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_DAYS = 825;
export const DEFAULT_CA_NAME = 'vbs-csi cluster CA';

/** File base names: a DNS-1123 subdomain (so an agent's name is also a valid host name), at most 64 characters. */
const NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

export function certsUsageText(): string {
  return `Usage: vbs-csi certs --out DIR [--agent SPEC]... [--client SPEC]... [options]

Makes the cluster CA and the certificates of the storage agents' mutual TLS, for development
and tests: the agents accept only clients whose certificate chains to this CA, and the
controller accepts only agents whose certificate does.

  --out DIR          directory for the files; created with mode 0700 if missing
  --agent SPEC       a certificate for a storage agent (TLS server); repeat for each agent
  --client SPEC      a certificate for a client of the agents (the controller); repeatable
                     SPEC is NAME[,dns=HOST][,ip=ADDRESS]... NAME names the files and the
                     certificate; an agent's certificate lists NAME and every dns= and ip= as
                     subjectAltName, and the controller checks the host it dials against them
  --days N           validity of the certificates made now, in days (default ${DEFAULT_DAYS})
  --ca-days N        validity of a new CA, in days (default ${DEFAULT_CA_DAYS})
  --ca-name TEXT     common name of a new CA (default "${DEFAULT_CA_NAME}")
  --new-ca           make a new CA even though DIR has one (replacing it also needs --force)
  --force            replace files that exist: NAME.crt/NAME.key, and the CA with --new-ca
  -h, --help         show this text

Files: ca.crt, ca.key, NAME.crt, NAME.key; keys are written with mode 0600.
When DIR already holds ca.crt and ca.key they sign the new certificates, so an agent can be
added later by running the command again with just that --agent. Without them, a new CA is made.

Example:
  vbs-csi certs --out ./certs --client controller \\
    --agent agent-a,ip=127.0.0.2 --agent agent-b,dns=agent-b.vbs-agent.vbs-system.svc,ip=10.0.0.7

Exit status: 0 done, 1 failed (nothing is overwritten without --force), 2 bad usage.`;
}

/** Turns argv (after "certs") into a request, or into every usage error found. Pure. */
export function parseCertsArgs(argv: readonly string[]): ParsedCertsArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        agent: { type: 'string', multiple: true },
        client: { type: 'string', multiple: true },
        days: { type: 'string' },
        'ca-days': { type: 'string' },
        'ca-name': { type: 'string' },
        'new-ca': { type: 'boolean' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err: unknown) {
    return { kind: 'usage-error', errors: [(err as Error).message] };
  }
  if (values.help) return { kind: 'help' };

  const errors: string[] = [];
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err: unknown) {
      errors.push((err as Error).message);
      return fallback;
    }
  };
  if (!values.out) errors.push('--out DIR is required');
  const days = attempt(() => parseDays(values.days, DEFAULT_DAYS, '--days'), DEFAULT_DAYS);
  const caDays = attempt(() => parseDays(values['ca-days'], DEFAULT_CA_DAYS, '--ca-days'), DEFAULT_CA_DAYS);
  const certs = [
    ...(values.agent ?? []).map((spec) => attempt(() => parseSpec(spec, 'server', '--agent'), undefined)),
    ...(values.client ?? []).map((spec) => attempt(() => parseSpec(spec, 'client', '--client'), undefined)),
  ].filter((c) => c !== undefined);
  const seen = new Set<string>();
  for (const { name } of certs) {
    if (seen.has(name)) errors.push(`the name ${JSON.stringify(name)} is given twice; each certificate needs its own name`);
    seen.add(name);
  }
  if (errors.length > 0) return { kind: 'usage-error', errors };
  return {
    kind: 'run',
    args: {
      outDir: values.out!,
      caName: values['ca-name'] ?? DEFAULT_CA_NAME,
      caDays,
      caDaysGiven: values['ca-days'] !== undefined,
      days,
      newCa: values['new-ca'] ?? false,
      force: values.force ?? false,
      certs,
    },
  };
}

function parseDays(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`${flag} ${JSON.stringify(text)} is not a whole number of days`);
  return checkValidDays(Number(text), flag);
}

/** NAME[,dns=HOST][,ip=ADDRESS]... An agent's NAME is also one of its DNS names. */
function parseSpec(spec: string, usages: CertificateUsage, flag: string): CertRequest {
  const [name = '', ...fields] = spec.split(',');
  if (name.length > 64 || !NAME.test(name) || name === 'ca') {
    throw new Error(
      `${flag} ${JSON.stringify(spec)}: the name must be lowercase letters, digits, '-' and '.' (at most 64, not "ca"), e.g. agent-a`,
    );
  }
  const dnsNames: string[] = usages === 'server' ? [name] : [];
  const ipAddresses: string[] = [];
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (eq < 0 || (key !== 'dns' && key !== 'ip')) {
      throw new Error(`${flag} ${JSON.stringify(spec)}: ${JSON.stringify(field)} is not dns=HOST or ip=ADDRESS`);
    }
    const list = key === 'dns' ? dnsNames : ipAddresses;
    try {
      (key === 'dns' ? checkDnsName : checkIpAddress)(value);
    } catch (err: unknown) {
      throw new Error(`${flag} ${JSON.stringify(spec)}: ${(err as Error).message}`);
    }
    if (!list.includes(value)) list.push(value);
  }
  return { name, usages, dnsNames, ipAddresses };
}
