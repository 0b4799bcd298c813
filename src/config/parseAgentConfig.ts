import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { MAX_STORAGE_NODE_NAME, isStorageNodeName } from '../csi/volumeIds.ts';
import { parseEndpoint } from '../grpc/endpoint.ts';
import type { Endpoint } from '../grpc/endpoint.ts';
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
  readonly labels: Readonly<Record<string, string>>;
  readonly overprovisionRatio: number;
  readonly dataLimitPercent: number;
  readonly metadataLimitPercent: number;
  readonly reconcileIntervalMs: number;
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
export function parseAgentConfig(value: (name: AgentOptionName) => string | undefined, defaultNodeName: string | undefined, errors: string[]): AgentConfig | undefined {
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
  const labels = parseLabels(value('labels') ?? '', errors);
  const overprovisionRatio = number('overprovision-ratio', 1, 100);
  const dataLimitPercent = number('data-limit-percent', 1, 100);
  const metadataLimitPercent = number('metadata-limit-percent', 1, 100);
  const reconcileIntervalMs = number('reconcile-interval-seconds', 1, 86_400) * 1000;
  const hostExec = parseHostExec(value('host-exec'), errors);

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
    overprovisionRatio,
    dataLimitPercent,
    metadataLimitPercent,
    reconcileIntervalMs,
    hostExec,
  });
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
