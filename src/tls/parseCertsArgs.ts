import { parseArgs } from 'node:util';
import { checkDnsName, checkIpAddress, checkValidDays } from './certificateNames.ts';
import type { CertificateUsage } from './createCertificates.ts';
import { identityUri } from './identity.ts';
import type { CallerIdentity } from './identity.ts';

/** One certificate the command is asked for. */
export interface CertRequest {
  readonly name: string;
  readonly usages: CertificateUsage;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** The identity the certificate carries as its subjectAltName URI (src/tls/identity.ts). */
  readonly identity: CallerIdentity;
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
  return `Usage: vbs-csi certs --out DIR [--agent SPEC]... [--controller NAME] [--node SPEC]... [options]

Makes the cluster CA and the certificates of the storage agents' mutual TLS, for development
and tests. Every certificate names who holds it in one subjectAltName URI, and the agents
authorize by it: the controller (urn:vbs-csi:controller) may call every agent RPC; a node plugin
(urn:vbs-csi:node:<its initiator IQN>) may only fetch the CHAP credentials of its own initiator;
an agent (urn:vbs-csi:agent:<storage node>) may call nothing, and the controller checks that the
agent it reached reports that storage node name.

  --out DIR           directory for the files; created with mode 0700 if missing
  --agent SPEC        a storage agent's TLS server certificate; repeat for each agent
                      SPEC is NAME[,dns=HOST][,ip=ADDRESS]... NAME is the agent's storage node
                      name (its --storage-node-name) and names the files; the certificate lists
                      NAME and every dns= and ip= as subjectAltName, and the controller checks the
                      host it dials against them
  --controller NAME   the controller's client certificate (files NAME.crt, NAME.key); an
                      all-in-one looks for controller.crt and controller.key next to --tls-ca
  --node SPEC         a node plugin's client certificate; repeat for each worker
                      SPEC is NAME,iqn=IQN: NAME names the files, IQN is that worker's initiator
                      name (/etc/iscsi/initiatorname.iscsi, its node id)
  --days N            validity of the certificates made now, in days (default ${DEFAULT_DAYS})
  --ca-days N         validity of a new CA, in days (default ${DEFAULT_CA_DAYS})
  --ca-name TEXT      common name of a new CA (default "${DEFAULT_CA_NAME}")
  --new-ca            make a new CA even though DIR has one (replacing it also needs --force)
  --force             replace files that exist: NAME.crt/NAME.key, and the CA with --new-ca
  -h, --help          show this text

Files: ca.crt, ca.key, NAME.crt, NAME.key; keys are written with mode 0600.
When DIR already holds ca.crt and ca.key they sign the new certificates, so an agent can be
added later by running the command again with just that --agent. Without them, a new CA is made.

Example:
  vbs-csi certs --out ./certs --controller controller \\
    --agent agent-a,ip=127.0.0.2 --agent agent-b,dns=agent-b.vbs-agent.vbs-system.svc,ip=10.0.0.7 \\
    --node worker-1,iqn=iqn.2004-10.com.ubuntu:01:worker1

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
        controller: { type: 'string', multiple: true },
        node: { type: 'string', multiple: true },
        // Gone: a client certificate must say whose it is. Kept only to say what replaced it.
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
  if (values.client) {
    errors.push('--client is gone: a client certificate names who holds it; use --controller NAME for the controller, --node NAME,iqn=IQN for a node plugin');
  }
  if ((values.controller ?? []).length > 1) errors.push('--controller is given twice; the cluster has one controller identity (issue it again with --force to replace it)');
  const days = attempt(() => parseDays(values.days, DEFAULT_DAYS, '--days'), DEFAULT_DAYS);
  const caDays = attempt(() => parseDays(values['ca-days'], DEFAULT_CA_DAYS, '--ca-days'), DEFAULT_CA_DAYS);
  const certs = [
    ...(values.agent ?? []).map((spec) => attempt(() => parseAgentSpec(spec), undefined)),
    ...(values.controller ?? []).slice(0, 1).map((spec) => attempt(() => parseControllerSpec(spec), undefined)),
    ...(values.node ?? []).map((spec) => attempt(() => parseNodeSpec(spec), undefined)),
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

/** NAME[,dns=HOST][,ip=ADDRESS]... An agent's NAME is its storage node name and one of its DNS names. */
function parseAgentSpec(spec: string): CertRequest {
  const [rawName = '', ...fields] = spec.split(',');
  const name = checkName(rawName, spec, '--agent');
  const dnsNames: string[] = [name];
  const ipAddresses: string[] = [];
  for (const field of fields) {
    const { key, value } = splitField(field, spec, '--agent', ['dns', 'ip']);
    const list = key === 'dns' ? dnsNames : ipAddresses;
    try {
      (key === 'dns' ? checkDnsName : checkIpAddress)(value);
    } catch (err: unknown) {
      throw new Error(`--agent ${JSON.stringify(spec)}: ${(err as Error).message}`);
    }
    if (!list.includes(value)) list.push(value);
  }
  return { name, usages: 'server', dnsNames, ipAddresses, identity: checkIdentity({ kind: 'agent', storageNode: name }, spec, '--agent') };
}

/** NAME only: the controller's identity names no host, and it is dialled by nobody. */
function parseControllerSpec(spec: string): CertRequest {
  if (spec.includes(',')) throw new Error(`--controller ${JSON.stringify(spec)}: takes a NAME only (the file name), e.g. --controller controller`);
  const name = checkName(spec, spec, '--controller');
  return { name, usages: 'client', dnsNames: [], ipAddresses: [], identity: { kind: 'controller' } };
}

/** NAME,iqn=IQN: the node plugin of the worker whose initiator is IQN. */
function parseNodeSpec(spec: string): CertRequest {
  const [rawName = '', ...fields] = spec.split(',');
  const name = checkName(rawName, spec, '--node');
  const iqns = fields.map((field) => splitField(field, spec, '--node', ['iqn']).value);
  if (iqns.length !== 1) throw new Error(`--node ${JSON.stringify(spec)}: give exactly one iqn=IQN, the worker's initiator name (its node id)`);
  return { name, usages: 'client', dnsNames: [], ipAddresses: [], identity: checkIdentity({ kind: 'node', initiatorIqn: iqns[0]! }, spec, '--node') };
}

function checkName(name: string, spec: string, flag: string): string {
  if (name.length > 64 || !NAME.test(name) || name === 'ca') {
    throw new Error(`${flag} ${JSON.stringify(spec)}: the name must be lowercase letters, digits, '-' and '.' (at most 64, not "ca"), e.g. agent-a`);
  }
  return name;
}

function splitField(field: string, spec: string, flag: string, keys: readonly string[]): { key: string; value: string } {
  const eq = field.indexOf('=');
  const key = field.slice(0, eq);
  if (eq < 0 || !keys.includes(key)) throw new Error(`${flag} ${JSON.stringify(spec)}: ${JSON.stringify(field)} is not ${keys.map((k) => `${k}=…`).join(' or ')}`);
  return { key, value: field.slice(eq + 1) };
}

/** The identity, if identity.ts accepts it (an IQN, a DNS-1123 storage node name). */
function checkIdentity(identity: CallerIdentity, spec: string, flag: string): CallerIdentity {
  try {
    identityUri(identity);
  } catch (err: unknown) {
    throw new Error(`${flag} ${JSON.stringify(spec)}: ${(err as Error).message}`);
  }
  return identity;
}
