import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { MAX_STORAGE_NODE_NAME, isStorageNodeName } from '../csi/volumeIds.ts';
import { parseEndpoint } from '../grpc/endpoint.ts';
import type { Endpoint } from '../grpc/endpoint.ts';
import { ZONE } from './parseNodeConfig.ts';
import { HOST_EXEC_OPTION, parseHostExec } from './hostExec.ts';
import type { HostExecMode } from './hostExec.ts';

export interface AgentConfig {
  /** Where the agent API listens (mutual TLS), e.g. tcp://0.0.0.0:9500. */
  readonly listen: Endpoint;
  /** The storage node's name in status reports; the node id / host name by default. */
  readonly nodeName: string;
  readonly vgName: string;
  readonly thinPoolName: string;
  /** Where initiators reach this node's iSCSI targets. */
  readonly portal: { readonly ip: string; readonly port: number };
  /** Target IQNs are `<prefix>:<volume id>`; only targets under this prefix are ours to reconcile. */
  readonly iqnPrefix: string;
  readonly tls: { readonly caPath: string; readonly certPath: string; readonly keyPath: string };
  /** File holding the cluster CHAP key (≥ 32 bytes); per-volume secrets are derived from it. */
  readonly chapKeyPath: string;
  /** Operator labels for placement; `zone` is not among them (see zone). */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The zone reported as labels.zone: --zone, else --labels zone=...; undefined: the Node's
   * topology.kubernetes.io/zone label, read at start (src/roles/resolveZone.ts).
   */
  readonly zone: string | undefined;
  readonly overprovisionRatio: number;
  readonly dataLimitPercent: number;
  readonly metadataLimitPercent: number;
  readonly reconcileIntervalMs: number;
  /**
   * The LIO HBA its backstores live under (core/iblock_<n>). Backstores are named after the
   * volume id, which every copy of a replicated volume shares (docs/replication.md), so agents that
   * share one kernel (the test bed runs several in one VM) need one HBA each; one agent per host
   * keeps the default 0.
   */
  readonly lioHbaIndex: number;
  /**
   * In a cluster with in-cluster issuance: the signer (e.g. vbs.csi.io/agent) the agent asks for its
   * certificate through a CertificateSigningRequest, and the DNS names it asks for; the files at
   * `tls` are then written by the agent itself (docs/security.md). Undefined: the files are given.
   */
  readonly certificateRequest?: { readonly signerName: string; readonly dnsNames: readonly string[] } | undefined;
  /** How lvm runs: in this filesystem (none, the default) or the host's through nsenter (a container). */
  readonly hostExec?: HostExecMode;
}

/** The agent's options: flag name → environment variable and default (undefined = required). */
export const AGENT_OPTIONS = {
  'agent-listen': { env: 'VBS_AGENT_LISTEN', fallback: 'tcp://0.0.0.0:9500' },
  'storage-node-name': { env: 'VBS_STORAGE_NODE_NAME', fallback: undefined },
  vg: { env: 'VBS_VG', fallback: undefined },
  'thin-pool': { env: 'VBS_THIN_POOL', fallback: 'pool' },
  portal: { env: 'VBS_PORTAL', fallback: undefined },
  'iqn-prefix': { env: 'VBS_IQN_PREFIX', fallback: 'iqn.2026-11.io.vbs-csi' },
  'tls-ca': { env: 'VBS_TLS_CA', fallback: undefined },
  'tls-cert': { env: 'VBS_TLS_CERT', fallback: undefined },
  'tls-key': { env: 'VBS_TLS_KEY', fallback: undefined },
  'chap-key-file': { env: 'VBS_CHAP_KEY_FILE', fallback: undefined },
  labels: { env: 'VBS_LABELS', fallback: '' },
  'overprovision-ratio': { env: 'VBS_OVERPROVISION_RATIO', fallback: '5' },
  'data-limit-percent': { env: 'VBS_DATA_LIMIT_PERCENT', fallback: '90' },
  'metadata-limit-percent': { env: 'VBS_METADATA_LIMIT_PERCENT', fallback: '80' },
  'reconcile-interval-seconds': { env: 'VBS_RECONCILE_INTERVAL_SECONDS', fallback: '60' },
  'lio-hba-index': { env: 'VBS_LIO_HBA_INDEX', fallback: '0' },
  'certificate-signer': { env: 'VBS_CERTIFICATE_SIGNER', fallback: undefined },
  'certificate-dns-names': { env: 'VBS_CERTIFICATE_DNS_NAMES', fallback: undefined },
  ...HOST_EXEC_OPTION,
} as const;
export type AgentOptionName = keyof typeof AGENT_OPTIONS;

const LV_OR_VG_NAME = /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,62}$/;
const IQN_PREFIX = /^iqn\.\d{4}-\d{2}\.[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9._-]{0,63}$/;

/**
 * Validates the agent section of the configuration (pure). `value` returns a flag, else its
 * environment variable, else the default; every problem is appended to `errors`.
 */
export function parseAgentConfig(value: (name: AgentOptionName | 'zone') => string | undefined, defaultNodeName: string | undefined, errors: string[]): AgentConfig | undefined {
  const start = errors.length;
  const required = (name: AgentOptionName): string => {
    const v = value(name);
    if (v === undefined || v === '') {
      errors.push(`--${name} / ${AGENT_OPTIONS[name].env} is required for the agent`);
      return '';
    }
    return v;
  };
  const number = (name: AgentOptionName, min: number, max: number): number => {
    const text = value(name) ?? '';
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || n < min || n > max) errors.push(`--${name} ${JSON.stringify(text)}: expected a number from ${min} to ${max}`);
    return n;
  };
  const absolutePath = (name: AgentOptionName): string => {
    const p = required(name);
    if (p && !isAbsolute(p)) errors.push(`--${name} ${JSON.stringify(p)}: expected an absolute path`);
    return p;
  };

  let listen: Endpoint | undefined;
  try {
    listen = parseEndpoint(value('agent-listen') ?? '');
  } catch (err: unknown) {
    errors.push(`--agent-listen: ${(err as Error).message}`);
  }

  const nodeName = value('storage-node-name') ?? defaultNodeName ?? '';
  // The name goes into every CSI volume id (<storage node>/<LV>), within CSI's 128 bytes.
  if (!isStorageNodeName(nodeName)) {
    errors.push(`--storage-node-name / VBS_STORAGE_NODE_NAME (or --node-id) ${JSON.stringify(nodeName)} must be a lowercase DNS name (a-z, 0-9, '-', '.') of at most ${MAX_STORAGE_NODE_NAME} characters`);
  }

  const vgName = required('vg');
  if (vgName && !LV_OR_VG_NAME.test(vgName)) errors.push(`--vg ${JSON.stringify(vgName)} is not a valid LVM volume group name`);
  const thinPoolName = value('thin-pool') ?? '';
  if (!LV_OR_VG_NAME.test(thinPoolName)) errors.push(`--thin-pool ${JSON.stringify(thinPoolName)} is not a valid LVM logical volume name`);

  const portal = parsePortalOption(required('portal'), errors);

  const iqnPrefix = value('iqn-prefix') ?? '';
  if (!IQN_PREFIX.test(iqnPrefix) || iqnPrefix.length > 160) {
    errors.push(`--iqn-prefix ${JSON.stringify(iqnPrefix)}: expected lowercase iqn.YYYY-MM.reversed.domain (RFC 3720), at most 160 characters`);
  }

  const tls = { caPath: absolutePath('tls-ca'), certPath: absolutePath('tls-cert'), keyPath: absolutePath('tls-key') };
  const chapKeyPath = absolutePath('chap-key-file');
  const { zone: labelZone, ...labels } = parseLabels(value('labels') ?? '', errors);
  const zoneText = value('zone');
  const flagZone = zoneText === undefined || zoneText === '' ? undefined : zoneText;
  if (flagZone !== undefined && !ZONE.test(flagZone)) errors.push(`--zone ${JSON.stringify(flagZone)}: expected a Kubernetes label value (1-63 characters of A-Z a-z 0-9 . _ -)`);
  if (flagZone !== undefined && labelZone !== undefined && labelZone !== flagZone) errors.push(`--zone ${flagZone} and --labels zone=${labelZone} disagree: give the zone once`);
  if (flagZone === undefined && labelZone !== undefined && !ZONE.test(labelZone)) errors.push(`--labels zone=${JSON.stringify(labelZone)}: expected a Kubernetes label value`);
  const zone = flagZone ?? labelZone;
  const overprovisionRatio = number('overprovision-ratio', 1, 100);
  const dataLimitPercent = number('data-limit-percent', 1, 100);
  const metadataLimitPercent = number('metadata-limit-percent', 1, 100);
  const reconcileIntervalMs = number('reconcile-interval-seconds', 1, 86_400) * 1000;
  const lioHbaIndex = number('lio-hba-index', 0, 1023);
  const hostExec = parseHostExec(value('host-exec'), errors);

  const certificateRequest = parseCertificateRequest(value('certificate-signer'), value('certificate-dns-names'), errors, true);

  if (errors.length > start || !listen || !portal) return undefined;
  return Object.freeze({
    listen,
    nodeName,
    vgName,
    thinPoolName,
    portal,
    iqnPrefix,
    tls,
    chapKeyPath,
    labels,
    zone,
    overprovisionRatio,
    dataLimitPercent,
    metadataLimitPercent,
    reconcileIntervalMs,
    lioHbaIndex,
    ...(certificateRequest ? { certificateRequest } : {}),
    hostExec,
  });
}

/** A CertificateSigningRequest signerName: a domain, a slash, a path (Kubernetes' qualified signer name). */
const SIGNER_NAME = /^(?=.{1,571}$)[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** --certificate-signer and (agents) --certificate-dns-names; shared with the node plugin's parser. */
export function parseCertificateRequest(
  signer: string | undefined,
  dnsText: string | undefined,
  errors: string[],
  server: boolean,
): { readonly signerName: string; readonly dnsNames: readonly string[] } | undefined {
  const dnsNames = (dnsText ?? '').split(',').map((d) => d.trim()).filter((d) => d !== '');
  if (signer === undefined || signer === '') {
    if (dnsNames.length > 0) errors.push('--certificate-dns-names goes with --certificate-signer');
    return undefined;
  }
  if (!SIGNER_NAME.test(signer)) errors.push(`--certificate-signer ${JSON.stringify(signer)}: expected a signer name DOMAIN/NAME, e.g. vbs.csi.io/agent`);
  for (const d of dnsNames) if (!DNS_NAME.test(d)) errors.push(`--certificate-dns-names: ${JSON.stringify(d)} is not a lowercase DNS name`);
  if (server && dnsNames.length === 0) errors.push('--certificate-dns-names is required with --certificate-signer: the controller checks the agent\'s certificate against its --agent-server-name');
  return Object.freeze({ signerName: signer, dnsNames: Object.freeze(dnsNames) });
}

/** `ip` or `ip:port` (IPv6 in brackets); initiators' by-path links carry IPs, so no host names. */
function parsePortalOption(text: string, errors: string[]): { ip: string; port: number } | undefined {
  if (text === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/.exec(text);
  const ip = m?.[1] ?? m?.[2];
  const port = m?.[3] === undefined ? 3260 : Number(m[3]);
  if (!m || !ip || isIP(ip) === 0 || port < 1 || port > 65535) {
    errors.push(`--portal ${JSON.stringify(text)}: expected an IP address with an optional port, e.g. 10.0.0.5:3260`);
    return undefined;
  }
  return { ip, port };
}

/** `key=value,key=value`, Kubernetes label syntax. */
function parseLabels(text: string, errors: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair.trim() : pair.slice(0, eq).trim();
    const val = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (eq < 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(val)) {
      errors.push(`--labels: ${JSON.stringify(pair)} is not key=value with label characters`);
      continue;
    }
    labels[key] = val;
  }
  return labels;
}
