import { parseArgs } from 'node:util';
import { parseEndpoint } from '../grpc/endpoint.ts';
import type { Endpoint } from '../grpc/endpoint.ts';
import { LOG_LEVELS } from '../log/createLogger.ts';
import type { LogLevel } from '../log/createLogger.ts';
import { AGENT_OPTIONS, parseAgentConfig } from './parseAgentConfig.ts';
import type { AgentConfig, AgentOptionName } from './parseAgentConfig.ts';
import { CONTROLLER_OPTIONS, parseControllerConfig, parseHostPort } from './parseControllerConfig.ts';
import { NODE_OPTIONS, parseNodeConfig } from './parseNodeConfig.ts';
import type { NodeConfig, NodeOptionName } from './parseNodeConfig.ts';
import type { ControllerConfig, ControllerOptionName } from './parseControllerConfig.ts';

export const ROLES = ['controller', 'node', 'agent', 'all-in-one'] as const;
export type Role = (typeof ROLES)[number];

export const DEFAULT_DRIVER_NAME = 'vbs.csi.io';
export const DEFAULT_ENDPOINT = 'unix:///csi/csi.sock';

export interface DriverConfig {
  readonly role: Role;
  readonly endpoint: Endpoint;
  readonly driverName: string;
  /** Set for roles that run the node service (node, all-in-one). */
  readonly nodeId: string | undefined;
  readonly logLevel: LogLevel;
  /** How long SIGTERM waits for in-flight calls before forcing the server down. */
  readonly shutdownGraceMs: number;
  /** Set for roles that run the storage agent (agent, all-in-one). */
  readonly agent: AgentConfig | undefined;
  /** Set for roles that run the Controller service (controller, all-in-one). */
  readonly controller: ControllerConfig | undefined;
  /** Set for roles that run the Node service (node, all-in-one). */
  readonly node: NodeConfig | undefined;
  /** Where to serve Prometheus metrics (GET /metrics over HTTP); undefined: not served. */
  readonly metrics?: { readonly host: string; readonly port: number } | undefined;
  /** Where to serve GET /livez (the liveness probe); undefined: not served. */
  readonly health?: { readonly host: string; readonly port: number } | undefined;
  /** Load the role's kernel modules with modprobe at start (src/roles/kernelModules.ts). */
  readonly loadKernelModules?: boolean;
}

export type ParseResult = { readonly ok: true; readonly config: DriverConfig } | { readonly ok: false; readonly errors: readonly string[] };

/** Each option: its flag, its environment variable, and its default. Flags win over the environment. */
const COMMON_OPTIONS = {
  endpoint: { env: 'CSI_ENDPOINT', fallback: DEFAULT_ENDPOINT },
  'driver-name': { env: 'VBS_DRIVER_NAME', fallback: DEFAULT_DRIVER_NAME },
  'node-id': { env: 'VBS_NODE_ID', fallback: undefined },
  'log-level': { env: 'VBS_LOG_LEVEL', fallback: 'info' },
  'shutdown-grace-seconds': { env: 'VBS_SHUTDOWN_GRACE_SECONDS', fallback: '30' },
  'metrics-address': { env: 'VBS_METRICS_ADDRESS', fallback: undefined },
  'health-address': { env: 'VBS_HEALTH_ADDRESS', fallback: undefined },
  'load-kernel-modules': { env: 'VBS_LOAD_KERNEL_MODULES', fallback: 'false' },
} as const;
const OPTIONS = { ...COMMON_OPTIONS, ...AGENT_OPTIONS, ...CONTROLLER_OPTIONS, ...NODE_OPTIONS } as const;
type OptionName = keyof typeof COMMON_OPTIONS | AgentOptionName | ControllerOptionName | NodeOptionName;

/** CSI: at most 63 characters, domain-name notation, alphanumeric at both ends. */
const DRIVER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/;
/** Kubernetes passes the node name; we also refuse whitespace and control characters. */
const NODE_ID = /^[\x21-\x7e]+$/;

export function usageText(): string {
  const lines = [
    'usage: vbs-csi <role> [options]',
    `  roles: ${ROLES.join(', ')}`,
    '  vbs-csi certs --help     (make a CA and mTLS certificates for agents and the controller)',
    '  vbs-csi --version | --help',
    'options (flag, environment variable, default):',
  ];
  const commonUnset: Partial<Record<keyof typeof COMMON_OPTIONS, string>> = { 'node-id': '(required for node, all-in-one)', 'metrics-address': '(off; host:port, e.g. 0.0.0.0:9810)', 'health-address': '(off; host:port for GET /livez and /readyz)' };
  for (const [name, o] of Object.entries(COMMON_OPTIONS)) lines.push(`  --${name.padEnd(28)} ${o.env.padEnd(32)} ${o.fallback ?? commonUnset[name as keyof typeof COMMON_OPTIONS] ?? ''}`);
  lines.push('storage agent options (agent, all-in-one):');
  for (const [name, o] of Object.entries(AGENT_OPTIONS)) lines.push(`  --${name.padEnd(28)} ${o.env.padEnd(32)} ${o.fallback ?? '(required)'}`);
  lines.push('node options (node, all-in-one):');
  for (const [name, o] of Object.entries(NODE_OPTIONS)) lines.push(`  --${name.padEnd(28)} ${o.env.padEnd(32)} ${o.fallback ?? '(see docs/node-plugin.md)'}`);
  lines.push('controller options (controller, all-in-one; also --tls-ca):');
  for (const [name, o] of Object.entries(CONTROLLER_OPTIONS)) lines.push(`  --${name.padEnd(28)} ${o.env.padEnd(32)} ${o.fallback ?? '(see README)'}`);
  return lines.join('\n');
}

/**
 * Turns argv (without node and script) and the environment into a validated, frozen config,
 * or the full list of problems: an operator fixes them all in one go instead of one per restart.
 */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParseResult {
  const errors: string[] = [];
  let parsed: ReturnType<typeof parseArgs<{ options: Record<OptionName, { type: 'string' }>; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(OPTIONS).map((k) => [k, { type: 'string' as const }])) as Record<OptionName, { type: 'string' }>,
      allowPositionals: true,
      strict: true,
    });
  } catch (err: unknown) {
    return { ok: false, errors: [(err as Error).message] };
  }
  const value = (name: OptionName): string | undefined => {
    const flag = parsed.values[name];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[OPTIONS[name].env];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : OPTIONS[name].fallback;
  };

  const [roleText, ...extra] = parsed.positionals;
  const role = ROLES.find((r) => r === roleText);
  if (roleText === undefined) errors.push(`a role is required: one of ${ROLES.join(', ')}`);
  else if (!role) errors.push(`unknown role ${JSON.stringify(roleText)}: expected one of ${ROLES.join(', ')}`);
  if (extra.length > 0) errors.push(`unexpected arguments: ${extra.join(' ')}`);

  let endpoint: Endpoint | undefined;
  try {
    endpoint = parseEndpoint(value('endpoint') ?? DEFAULT_ENDPOINT);
  } catch (err: unknown) {
    errors.push(`--endpoint / CSI_ENDPOINT: ${(err as Error).message}`);
  }

  const driverName = value('driver-name') ?? DEFAULT_DRIVER_NAME;
  if (!DRIVER_NAME.test(driverName)) {
    errors.push(`--driver-name ${JSON.stringify(driverName)}: must be at most 63 characters of letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }

  const needsNodeId = role === 'node' || role === 'all-in-one';
  const nodeId = value('node-id');
  if (needsNodeId && nodeId === undefined) errors.push(`--node-id / VBS_NODE_ID is required for role ${role} (Kubernetes passes spec.nodeName)`);
  if (nodeId !== undefined && (!NODE_ID.test(nodeId) || Buffer.byteLength(nodeId) > 128)) {
    errors.push(`--node-id ${JSON.stringify(nodeId)}: must be 1-128 bytes of printable ASCII without spaces`);
  }

  const logLevel = LOG_LEVELS.find((l) => l === value('log-level'));
  if (!logLevel) errors.push(`--log-level ${JSON.stringify(value('log-level'))}: expected one of ${LOG_LEVELS.join(', ')}`);

  const graceText = value('shutdown-grace-seconds') ?? '30';
  const grace = Number(graceText);
  if (!/^\d+$/.test(graceText) || grace > 3600) errors.push(`--shutdown-grace-seconds ${JSON.stringify(graceText)}: expected a whole number of seconds, at most 3600`);

  // An empty flag is off, like an empty variable: a chart can pass it unconditionally.
  const metricsText = value('metrics-address');
  const metrics = metricsText === undefined || metricsText === '' ? undefined : parseHostPort(metricsText);
  if (metricsText !== undefined && metricsText !== '' && !metrics) {
    errors.push(`--metrics-address ${JSON.stringify(metricsText)}: expected host:port to serve /metrics on, e.g. 0.0.0.0:9810 or [::]:9810`);
  }

  const healthText = value('health-address');
  const health = healthText === undefined || healthText === '' ? undefined : parseHostPort(healthText);
  if (healthText !== undefined && healthText !== '' && !health) {
    errors.push(`--health-address ${JSON.stringify(healthText)}: expected host:port to serve /livez on, e.g. 0.0.0.0:9813`);
  }
  const loadModulesText = value('load-kernel-modules') ?? 'false';
  if (loadModulesText !== 'true' && loadModulesText !== 'false') errors.push(`--load-kernel-modules ${JSON.stringify(loadModulesText)}: expected true or false`);

  const runsAgent = role === 'agent' || role === 'all-in-one';
  const agent = runsAgent ? parseAgentConfig(value, nodeId, errors) : undefined;

  const runsController = role === 'controller' || role === 'all-in-one';
  // all-in-one's controller calls its own agent, over the same mutual TLS as in a cluster.
  const localAgent = role === 'all-in-one' && agent?.listen.kind === 'tcp' ? [`${agent.listen.host === '0.0.0.0' ? '127.0.0.1' : agent.listen.host}:${agent.listen.port}`] : [];
  const controller = runsController ? parseControllerConfig(value, { defaultAgents: localAgent, allInOne: role === 'all-in-one' }, errors) : undefined;

  const node = needsNodeId ? parseNodeConfig(value, errors, { role: role === 'all-in-one' ? 'all-in-one' : 'node', driverName }) : undefined;

  if (errors.length > 0 || !role || !endpoint || !logLevel || (runsAgent && !agent) || (runsController && !controller) || (needsNodeId && !node)) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    config: Object.freeze({
      role,
      endpoint,
      driverName,
      nodeId: needsNodeId ? nodeId : undefined,
      logLevel,
      shutdownGraceMs: grace * 1000,
      agent,
      controller,
      node,
      metrics,
      health,
      loadKernelModules: loadModulesText === 'true',
    }),
  };
}
