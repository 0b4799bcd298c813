import { isAbsolute, normalize } from 'node:path';
import { isValidIqn } from '../lio/iqn.ts';
import { parseCertificateRequest } from './parseAgentConfig.ts';
import { HOST_EXEC_OPTION, parseHostExec } from './hostExec.ts';
import type { HostExecMode } from './hostExec.ts';

export interface NodeConfig {
  /**
   * This worker's iSCSI initiator name (lowercase), which is also its CSI node id. Undefined:
   * read /etc/iscsi/initiatorname.iscsi when the node service starts.
   */
  readonly initiatorName: string | undefined;
  /**
   * An open-iscsi iface to log in through, created with `initiatorName`. Lets one host act as
   * several initiators (the e2e test bed runs two "workers" in one VM this way). Undefined: the
   * default iface, which uses the host's initiatorname.iscsi.
   */
  readonly iscsiIface: string | undefined;
  /**
   * The value of topology.vbs.csi.io/zone in NodeGetInfo (--zone). Undefined: the Node's
   * topology.kubernetes.io/zone label, read at start (src/roles/resolveZone.ts).
   */
  readonly zone: string | undefined;
  /** A host directory for stage records (NodeUnstage gets only the volume id and staging path). */
  readonly stateDir: string;
  /** How long NodeStage and NodeExpand wait for the kernel to attach or resize the LUN. */
  readonly deviceWaitMs: number;
  /**
   * The node's mutual-TLS material for asking agents for CHAP credentials: the cluster CA and a
   * certificate naming urn:vbs-csi:node:<initiator name> (`vbs-csi certs --node`). Role node:
   * --tls-ca/--tls-cert/--tls-key, required. all-in-one: --node-tls-cert/--node-tls-key with
   * --tls-ca, optional: without them the node asks the agent in its own process, and only it.
   */
  readonly tls: { readonly caPath: string; readonly certPath: string; readonly keyPath: string } | undefined;
  /**
   * In a cluster with in-cluster issuance: the signer (e.g. vbs.csi.io/node) the node plugin asks
   * for its certificate through a CertificateSigningRequest; it writes the files at `tls` itself
   * and asks for CHAP credentials only once they exist. Undefined: the files are given.
   */
  readonly certificateRequest?: { readonly signerName: string } | undefined;
  /** open-iscsi's node record directory, where the CHAP secrets are written (never on a command line). */
  readonly iscsiNodeDir: string;
  /** How iscsiadm, dmsetup and udevadm run: in this filesystem (none) or the host's through nsenter. */
  readonly hostExec?: HostExecMode;
  /**
   * Register with kubelet from this process instead of the node-driver-registrar sidecar
   * (src/node/kubeletRegistration.ts): `dir` is kubelet's plugin watcher directory as this process
   * sees it, `csiSocketOnHost` the CSI socket as kubelet sees it. Undefined: the sidecar does it.
   */
  readonly kubeletRegistration?: { readonly dir: string; readonly csiSocketOnHost: string } | undefined;
}

/** The node plugin's options: flag name → environment variable and default (undefined = none). */
export const NODE_OPTIONS = {
  'initiator-name': { env: 'VBS_INITIATOR_NAME', fallback: undefined },
  'iscsi-iface': { env: 'VBS_ISCSI_IFACE', fallback: undefined },
  zone: { env: 'VBS_ZONE', fallback: undefined },
  'state-dir': { env: 'VBS_NODE_STATE_DIR', fallback: '/var/lib/vbs-csi/node' },
  'device-wait-seconds': { env: 'VBS_DEVICE_WAIT_SECONDS', fallback: '60' },
  'iscsi-node-dir': { env: 'VBS_ISCSI_NODE_DIR', fallback: '/etc/iscsi/nodes' },
  'node-tls-cert': { env: 'VBS_NODE_TLS_CERT', fallback: undefined },
  'node-tls-key': { env: 'VBS_NODE_TLS_KEY', fallback: undefined },
  'certificate-signer': { env: 'VBS_CERTIFICATE_SIGNER', fallback: undefined },
  'kubelet-registration-dir': { env: 'VBS_KUBELET_REGISTRATION_DIR', fallback: undefined },
  'kubelet-registration-path': { env: 'VBS_KUBELET_REGISTRATION_PATH', fallback: undefined },
  ...HOST_EXEC_OPTION,
} as const;
export type NodeOptionName = keyof typeof NODE_OPTIONS;

const IFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A Kubernetes label value (the zone becomes a node label through CSINode topology keys). */
export const ZONE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/**
 * Validates the node section of the configuration (pure). `value` returns a flag, else its
 * environment variable, else the default; every problem is appended to `errors`.
 */
export function parseNodeConfig(
  value: (name: NodeOptionName | 'tls-ca' | 'tls-cert' | 'tls-key') => string | undefined,
  errors: string[],
  opts: { readonly role: 'node' | 'all-in-one'; readonly driverName?: string } = { role: 'node' },
): NodeConfig | undefined {
  const start = errors.length;

  const rawInitiator = value('initiator-name');
  const initiatorName = rawInitiator === undefined || rawInitiator === '' ? undefined : rawInitiator.trim().toLowerCase();
  if (initiatorName !== undefined && !isValidIqn(initiatorName)) {
    errors.push(`--initiator-name ${JSON.stringify(rawInitiator)}: expected an iSCSI name iqn.YYYY-MM.reversed.domain[:suffix] (a-z 0-9 . - :, at most 223 bytes)`);
  }

  const rawIface = value('iscsi-iface');
  const iscsiIface = rawIface === undefined || rawIface === '' ? undefined : rawIface;
  if (iscsiIface !== undefined) {
    if (!IFACE_NAME.test(iscsiIface) || iscsiIface === 'default') {
      errors.push(`--iscsi-iface ${JSON.stringify(iscsiIface)}: expected 1-64 characters of A-Z a-z 0-9 _ . - (and not "default")`);
    }
    if (initiatorName === undefined) errors.push('--iscsi-iface needs --initiator-name: the iface logs in under that name, not the host\'s');
  }

  const zoneText = value('zone');
  const zone = zoneText === undefined || zoneText === '' ? undefined : zoneText;
  if (zone !== undefined && !ZONE.test(zone)) errors.push(`--zone ${JSON.stringify(zone)}: expected a Kubernetes label value (1-63 characters of A-Z a-z 0-9 . _ -)`);

  const stateDir = value('state-dir') ?? '';
  if (!isAbsolute(stateDir) || stateDir.split('/').includes('..')) errors.push(`--state-dir ${JSON.stringify(stateDir)}: expected an absolute path`);

  const waitText = value('device-wait-seconds') ?? '';
  const waitSeconds = Number(waitText);
  if (!/^\d+$/.test(waitText) || waitSeconds < 1 || waitSeconds > 600) errors.push(`--device-wait-seconds ${JSON.stringify(waitText)}: expected whole seconds from 1 to 600`);

  const iscsiNodeDir = value('iscsi-node-dir') ?? '';
  if (!isAbsolute(iscsiNodeDir) || iscsiNodeDir.split('/').some((p) => p === '..' || p === '.')) {
    errors.push(`--iscsi-node-dir ${JSON.stringify(iscsiNodeDir)}: expected open-iscsi's node record directory as an absolute path (/etc/iscsi/nodes, or /var/lib/iscsi/nodes on Fedora)`);
  }

  const tls = parseNodeTls(value, errors, opts.role);
  const signer = opts.role === 'node' ? value('certificate-signer') : undefined;
  const certificateRequest = parseCertificateRequest(signer, undefined, errors, false);
  const hostExec = parseHostExec(value('host-exec'), errors);
  const kubeletRegistration = parseKubeletRegistration(value('kubelet-registration-dir'), value('kubelet-registration-path'), opts.driverName, errors);

  if (errors.length > start) return undefined;
  return Object.freeze({
    initiatorName,
    iscsiIface,
    zone,
    stateDir,
    deviceWaitMs: waitSeconds * 1000,
    tls,
    iscsiNodeDir,
    hostExec,
    ...(certificateRequest ? { certificateRequest } : {}),
    ...(kubeletRegistration ? { kubeletRegistration } : {}),
  });
}

/** An absolute path without . or .. segments, a trailing slash or NUL. */
function isPlainAbsolutePath(p: string): boolean {
  return isAbsolute(p) && normalize(p) === p && !p.endsWith('/') && !p.includes('\0');
}

/**
 * --kubelet-registration-dir and --kubelet-registration-path: both or neither (node-driver-registrar's
 * --plugin-registration-path and --kubelet-registration-path). The socket <dir>/<driver>-reg.sock must
 * fit in sun_path (107 bytes); parseConfig passes the driver name for that check.
 */
function parseKubeletRegistration(dirText: string | undefined, pathText: string | undefined, driverName: string | undefined, errors: string[]): NodeConfig['kubeletRegistration'] {
  const dir = dirText === undefined || dirText === '' ? undefined : dirText;
  const csiSocketOnHost = pathText === undefined || pathText === '' ? undefined : pathText;
  if (dir === undefined && csiSocketOnHost === undefined) return undefined;
  const start = errors.length;
  if (dir === undefined) errors.push('--kubelet-registration-path needs --kubelet-registration-dir: the directory kubelet watches for registration sockets (e.g. /var/lib/kubelet/plugins_registry)');
  else if (!isPlainAbsolutePath(dir)) errors.push(`--kubelet-registration-dir ${JSON.stringify(dir)}: expected an absolute, normalised path, e.g. /var/lib/kubelet/plugins_registry`);
  else if (driverName !== undefined && Buffer.byteLength(`${dir}/${driverName}-reg.sock`) > 107) errors.push(`--kubelet-registration-dir ${JSON.stringify(dir)}: the socket ${dir}/${driverName}-reg.sock is longer than 107 bytes`);
  if (csiSocketOnHost === undefined) errors.push('--kubelet-registration-dir needs --kubelet-registration-path: the CSI socket as kubelet sees it on the host (e.g. /var/lib/kubelet/plugins/vbs.csi.io/csi.sock)');
  else if (!isPlainAbsolutePath(csiSocketOnHost)) errors.push(`--kubelet-registration-path ${JSON.stringify(csiSocketOnHost)}: expected the CSI socket's absolute, normalised host path (no unix://), e.g. /var/lib/kubelet/plugins/vbs.csi.io/csi.sock`);
  else if (Buffer.byteLength(csiSocketOnHost) > 107) errors.push(`--kubelet-registration-path ${JSON.stringify(csiSocketOnHost)}: longer than 107 bytes, kubelet cannot dial it`);
  if (errors.length > start || dir === undefined || csiSocketOnHost === undefined) return undefined;
  return Object.freeze({ dir, csiSocketOnHost });
}

/** The node certificate's files; see NodeConfig.tls for which flags each role reads. */
function parseNodeTls(value: (name: NodeOptionName | 'tls-ca' | 'tls-cert' | 'tls-key') => string | undefined, errors: string[], role: 'node' | 'all-in-one'): NodeConfig['tls'] {
  const [certFlag, keyFlag] = role === 'node' ? (['tls-cert', 'tls-key'] as const) : (['node-tls-cert', 'node-tls-key'] as const);
  const ca = value('tls-ca');
  const cert = value(certFlag);
  const key = value(keyFlag);
  if (role === 'all-in-one' && (cert === undefined || cert === '') && (key === undefined || key === '')) return undefined;
  const why = 'the node plugin fetches CHAP credentials from the agents with mutual TLS and a certificate naming its initiator (vbs-csi certs --node NAME,iqn=IQN)';
  const path = (flag: string, v: string | undefined): string => {
    if (v === undefined || v === '') errors.push(`--${flag} is required: ${why}`);
    else if (!isAbsolute(v)) errors.push(`--${flag} ${JSON.stringify(v)}: expected an absolute path`);
    return v ?? '';
  };
  return { caPath: path('tls-ca', ca), certPath: path(certFlag, cert), keyPath: path(keyFlag, key) };
}
