import { isIP } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { parseRemovedStorageNodesSpec } from './removedStorageNodesSpec.ts';
import type { RemovedStorageNodesSpec } from './removedStorageNodesSpec.ts';

export interface ControllerConfig {
  /** Agents at fixed addresses (host:port), or none when DNS discovery is used. */
  readonly agentAddresses: readonly string[];
  /** A DNS name (the agents' headless Service) whose every address is an agent, and their port. */
  readonly agentsDns: { readonly host: string; readonly port: number } | undefined;
  /**
   * The agents' Service whose EndpointSlices are watched through the Kubernetes API (every agent
   * pod, ready or not, with its node); the port is the Service port's name or a number.
   */
  readonly agentsService: { readonly namespace: string; readonly name: string; readonly port: string | number } | undefined;
  /** Check agent certificates against this name instead of the address dialled (DNS discovery gives pod IPs). */
  readonly agentServerName: string | undefined;
  readonly tls: { readonly caPath: string; readonly certPath: string; readonly keyPath: string };
  /**
   * all-in-one without --client-tls-cert/--client-tls-key: the controller certificate is the
   * controller.crt/controller.key that `vbs-csi certs --out DIR --controller controller` writes
   * next to DIR/ca.crt (start-up explains what to do when they are not there).
   */
  readonly clientTlsBesideCa: boolean;
  readonly statusIntervalMs: number;
  /**
   * Where operators record storage nodes removed for good (docs/storage-node-removal.md);
   * undefined: none can be, and a silent node's volumes stay UNAVAILABLE until it answers.
   */
  readonly removedStorageNodes: RemovedStorageNodesSpec | undefined;
  /**
   * In-cluster issuance (docs/security.md): the cluster CA's directory (tls.crt, tls.key, as a
   * kubernetes.io/tls Secret mounts them), with which the controller signs the agents' and node
   * plugins' CertificateSigningRequests from their ServiceAccounts (system:serviceaccount:NS:NAME),
   * and, with `issueOwnCertificate`, its own client certificate, written to `tls` and renewed.
   */
  readonly signer?:
    | { readonly caDir: string; readonly agentRequester: string; readonly nodeRequester: string; readonly issueOwnCertificate: boolean }
    | undefined;
}

/** The controller's options: flag name → environment variable and default (undefined = required or optional, see parse). */
export const CONTROLLER_OPTIONS = {
  agents: { env: 'VBS_AGENTS', fallback: undefined },
  'agents-dns': { env: 'VBS_AGENTS_DNS', fallback: undefined },
  'agents-service': { env: 'VBS_AGENTS_SERVICE', fallback: undefined },
  'agent-server-name': { env: 'VBS_AGENT_SERVER_NAME', fallback: undefined },
  'client-tls-cert': { env: 'VBS_CLIENT_TLS_CERT', fallback: undefined },
  'client-tls-key': { env: 'VBS_CLIENT_TLS_KEY', fallback: undefined },
  'status-interval-seconds': { env: 'VBS_STATUS_INTERVAL_SECONDS', fallback: '10' },
  'removed-storage-nodes': { env: 'VBS_REMOVED_STORAGE_NODES', fallback: undefined },
  'signer-ca-dir': { env: 'VBS_SIGNER_CA_DIR', fallback: undefined },
  'agent-service-account': { env: 'VBS_AGENT_SERVICE_ACCOUNT', fallback: undefined },
  'node-service-account': { env: 'VBS_NODE_SERVICE_ACCOUNT', fallback: undefined },
  'issue-own-certificate': { env: 'VBS_ISSUE_OWN_CERTIFICATE', fallback: 'false' },
} as const;
export type ControllerOptionName = keyof typeof CONTROLLER_OPTIONS;

/** namespace/service:port, DNS-1123 labels, the port a name (IANA_SVC_NAME) or a number. */
const SERVICE_REF = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?):([a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?)$/;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** host:port with an IP, a bracketed IPv6 address or a host name, and a port. */
export function parseHostPort(text: string): { readonly host: string; readonly port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) === 0 && !HOST_NAME.test(host)) return undefined;
  return { host, port };
}

/**
 * Validates the controller section (pure). Agents come from --agents (a fixed list) or
 * --agents-dns (a headless Service), not both. In all-in-one the client certificate defaults to
 * controller.crt and controller.key in --tls-ca's directory: the agent authorizes callers by the
 * identity in their certificate (src/agent/callerPolicy.ts), and its own server certificate
 * (urn:vbs-csi:agent:NAME) may call nothing, so the controller inside needs its own.
 */
export function parseControllerConfig(
  value: (name: ControllerOptionName | 'tls-ca' | 'tls-cert' | 'tls-key') => string | undefined,
  opts: { readonly defaultAgents: readonly string[]; readonly allInOne: boolean },
  errors: string[],
): ControllerConfig | undefined {
  const start = errors.length;
  const list = value('agents');
  const dnsText = value('agents-dns');
  const serviceText = value('agents-service');
  const given = [list !== undefined ? '--agents' : undefined, dnsText !== undefined ? '--agents-dns' : undefined, serviceText !== undefined ? '--agents-service' : undefined].filter((x) => x !== undefined);
  if (given.length > 1) errors.push(`${given.join(' and ')} are exclusive: give a fixed list, a DNS name or a Service`);
  let agentsService: ControllerConfig['agentsService'];
  if (serviceText !== undefined) {
    const m = SERVICE_REF.exec(serviceText);
    if (!m) errors.push(`--agents-service ${JSON.stringify(serviceText)}: expected NAMESPACE/SERVICE:PORT, PORT a Service port's name or number (e.g. vbs-system/vbs-csi-agent:agent-api)`);
    else agentsService = { namespace: m[1] ?? '', name: m[2] ?? '', port: /^\d+$/.test(m[3] ?? '') ? Number(m[3]) : (m[3] ?? '') };
  }
  const agentAddresses: string[] = [];
  for (const item of (list ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (parseHostPort(item)) agentAddresses.push(item);
    else errors.push(`--agents: ${JSON.stringify(item)} is not host:port`);
  }
  let agentsDns: ControllerConfig['agentsDns'];
  if (dnsText !== undefined) {
    agentsDns = parseHostPort(dnsText);
    if (!agentsDns) errors.push(`--agents-dns ${JSON.stringify(dnsText)} is not host:port (e.g. vbs-csi-agent.vbs-system.svc:9500)`);
  }
  if (list === undefined && dnsText === undefined && serviceText === undefined) agentAddresses.push(...opts.defaultAgents);
  // Also `--agents ""` or `--agents ,`: a controller with no agent could only fail every call.
  if (dnsText === undefined && serviceText === undefined && agentAddresses.length === 0 && !(list ?? '').split(',').some((s) => s.trim() !== '')) {
    errors.push('the controller needs its storage agents: --agents host:port[,host:port...], --agents-dns <headless service>:<port> or --agents-service <namespace>/<service>:<port>');
  }
  const serverName = value('agent-server-name');
  if (serverName !== undefined && !HOST_NAME.test(serverName)) errors.push(`--agent-server-name ${JSON.stringify(serverName)} is not a host name`);

  const file = (name: 'tls-ca' | 'client-tls-cert' | 'client-tls-key'): string => {
    const v = value(name);
    if (v === undefined || v === '') {
      if (name === 'tls-ca' || !opts.allInOne) errors.push(`--${name} is required: the controller calls the agents with mutual TLS as urn:vbs-csi:controller (vbs-csi certs --controller controller)`);
    } else if (!isAbsolute(v) && !v.startsWith('.')) errors.push(`--${name} ${JSON.stringify(v)}: expected a file path`);
    return v ?? '';
  };
  const caPath = file('tls-ca');
  let certPath = file('client-tls-cert');
  let keyPath = file('client-tls-key');
  const clientTlsBesideCa = opts.allInOne && certPath === '' && keyPath === '' && caPath !== '';
  if (clientTlsBesideCa) {
    certPath = join(dirname(caPath), 'controller.crt');
    keyPath = join(dirname(caPath), 'controller.key');
  } else if (opts.allInOne && (certPath === '') !== (keyPath === '')) {
    errors.push(`--client-tls-cert and --client-tls-key go together (or give neither: the all-in-one then uses controller.crt and controller.key next to --tls-ca)`);
  }
  const tls = { caPath, certPath, keyPath };

  const intervalText = value('status-interval-seconds') ?? '10';
  const interval = Number(intervalText);
  if (!/^\d+$/.test(intervalText) || interval < 1 || interval > 3600) errors.push(`--status-interval-seconds ${JSON.stringify(intervalText)}: expected 1 to 3600`);

  // An empty value is off, like an unset one: a chart can pass it unconditionally.
  const removedText = value('removed-storage-nodes');
  let removedStorageNodes: RemovedStorageNodesSpec | undefined;
  if (removedText !== undefined && removedText !== '') {
    const parsed = parseRemovedStorageNodesSpec(removedText);
    if ('error' in parsed) errors.push(`--removed-storage-nodes ${parsed.error}`);
    else removedStorageNodes = Object.freeze(parsed.spec);
  }

  const signer = parseSigner(value, serverName, errors);

  if (errors.length > start) return undefined;
  return Object.freeze({
    ...(signer ? { signer } : {}),
    agentAddresses: Object.freeze(agentAddresses),
    agentsDns,
    agentsService,
    agentServerName: serverName,
    tls: Object.freeze(tls),
    clientTlsBesideCa,
    statusIntervalMs: interval * 1000,
    removedStorageNodes,
  });
}

const SERVICE_ACCOUNT = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

/** --signer-ca-dir with the two requesters' ServiceAccounts (NAMESPACE/NAME) and --issue-own-certificate. */
function parseSigner(value: (name: ControllerOptionName) => string | undefined, agentServerName: string | undefined, errors: string[]): ControllerConfig['signer'] {
  const caDir = value('signer-ca-dir') ?? '';
  const own = value('issue-own-certificate') ?? 'false';
  if (own !== 'true' && own !== 'false') errors.push(`--issue-own-certificate ${JSON.stringify(own)}: expected true or false`);
  if (caDir === '') {
    if (own === 'true') errors.push('--issue-own-certificate needs --signer-ca-dir (the CA it issues from)');
    return undefined;
  }
  if (!isAbsolute(caDir)) errors.push(`--signer-ca-dir ${JSON.stringify(caDir)}: expected an absolute path`);
  if (agentServerName === undefined) errors.push('--signer-ca-dir needs --agent-server-name: it is the DNS name the agents\' certificates carry');
  const account = (name: 'agent-service-account' | 'node-service-account'): string => {
    const v = value(name) ?? '';
    if (!SERVICE_ACCOUNT.test(v)) errors.push(`--${name} ${JSON.stringify(v)}: expected NAMESPACE/NAME of the ServiceAccount whose certificate requests --signer-ca-dir signs`);
    const [ns, sa] = v.split('/');
    return `system:serviceaccount:${ns}:${sa}`;
  };
  return Object.freeze({ caDir, agentRequester: account('agent-service-account'), nodeRequester: account('node-service-account'), issueOwnCertificate: own === 'true' });
}
