import { isAbsolute, normalize } from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';
import { parseHostPort } from '../config/parseControllerConfig.ts';
import { parseRemovedStorageNodesSpec, REMOVED_STORAGE_NODES_FORMS } from '../config/removedStorageNodesSpec.ts';
import type { RemovedStorageNodesSpec } from '../config/removedStorageNodesSpec.ts';
import { isStorageNodeName } from '../csi/volumeIds.ts';
import { grpcAddress, parseEndpoint } from '../grpc/endpoint.ts';
import { parseSize } from './parseSize.ts';
import { checkRemovalNote } from '../controller/removedStorageNodes/RemovedStorageNodes.ts';
import { DEFAULT_DRIVER_NAME } from '../config/parseConfig.ts';

/** Which role's needs preflight checks: node (worker: iSCSI initiator) or agent (storage node: LIO, thin pools). */
export type PreflightRole = 'node' | 'agent';

/** rwo: one node reads and writes · rwx-block: many nodes write a raw block device (KubeVirt live migration) · rox: many nodes read. */
export type AccessChoice = 'rwo' | 'rwx-block' | 'rox';
export type VolumeKind = { readonly kind: 'mount'; readonly fsType: 'ext4' | 'xfs' } | { readonly kind: 'block' };

export type CliCommand =
  | {
      readonly name: 'volume create';
      readonly volumeName: string;
      readonly sizeBytes: number;
      readonly volume: VolumeKind;
      readonly access: AccessChoice;
      readonly parameters: Readonly<Record<string, string>>;
      readonly source: { readonly kind: 'snapshot' | 'volume'; readonly id: string } | undefined;
    }
  | { readonly name: 'volume list' }
  | { readonly name: 'volume describe'; readonly volumeId: string }
  | {
      readonly name: 'volume expand';
      readonly volumeId: string;
      readonly sizeBytes: number;
      /** Given: NodeExpand at this staging path; otherwise the node plugin's stage record decides. */
      readonly stagingPath: string | undefined;
      readonly nodeStateDir: string;
    }
  | { readonly name: 'volume delete'; readonly volumeId: string }
  | { readonly name: 'snapshot create'; readonly snapshotName: string; readonly volumeId: string }
  | { readonly name: 'snapshot list'; readonly volumeId: string | undefined }
  | { readonly name: 'snapshot delete'; readonly snapshotId: string }
  | {
      readonly name: 'attach';
      readonly volumeId: string;
      readonly volume: VolumeKind;
      readonly access: AccessChoice;
      readonly targetPath: string;
      readonly workDir: string;
    }
  | { readonly name: 'detach'; readonly volumeId: string; readonly targetPath: string; readonly workDir: string }
  | {
      readonly name: 'nodes';
      readonly agents: readonly string[];
      readonly agentServerName: string | undefined;
      readonly tls: { readonly caPath: string; readonly certPath: string; readonly keyPath: string };
    }
  | { readonly name: 'nodes remove'; readonly node: string; readonly note: string; readonly record: RemovedStorageNodesSpec }
  | { readonly name: 'nodes restore'; readonly node: string; readonly record: RemovedStorageNodesSpec }
  | { readonly name: 'nodes removed'; readonly record: RemovedStorageNodesSpec }
  | {
      readonly name: 'preflight';
      readonly roles: readonly PreflightRole[];
      /** Where the host's files are: / on the host, /proc/1/root in a pod with hostPID. */
      readonly hostRoot: string;
      /** Run lvm in the host's namespaces (nsenter -t 1), for a pod whose image lvm reads the container's /etc/lvm. */
      readonly hostExec: boolean;
      /** Also compare this host's initiator name with the CSINodes of the cluster. */
      readonly cluster: boolean;
      /** This host's Kubernetes node name; undefined: NODE_NAME, then the host name (resolved by the command). */
      readonly nodeName: string | undefined;
      readonly driverName: string;
    };

export interface CliGlobals {
  /** grpc-js address of the CSI endpoint (unix:///csi/csi.sock). */
  readonly address: string;
  readonly json: boolean;
  /** Deadline of each gRPC call. */
  readonly timeoutMs: number;
}

export type ParsedCli =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'usage-error'; readonly errors: readonly string[]; readonly usage: string }
  | { readonly kind: 'run'; readonly globals: CliGlobals; readonly command: CliCommand };

export const DEFAULT_ENDPOINT = 'unix:///csi/csi.sock';
export const DEFAULT_WORK_DIR = '/var/lib/vbs-csi/cli';
export const DEFAULT_NODE_STATE_DIR = '/var/lib/vbs-csi/node';
const DEFAULT_TIMEOUT_SECONDS = 120;

/** The first words that make argv a CLI command (src/main.ts routes them here). */
export { CLI_COMMANDS } from './commandNames.ts';

const GLOBAL_OPTIONS = {
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
  'timeout-seconds': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

const VOLUME_KIND_OPTIONS = {
  fs: { type: 'string' },
  block: { type: 'boolean' },
  access: { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

interface CommandSpec {
  readonly name: CliCommand['name'];
  readonly usage: string;
  readonly positionals: readonly string[];
  readonly options: ParseArgsOptionsConfig;
}

const SPECS: readonly CommandSpec[] = [
  {
    name: 'volume create',
    usage:
      'volume create NAME --size SIZE [--fs ext4|xfs | --block] [--access rwo|rwx-block|rox] [--param KEY=VALUE]... [--from-snapshot ID | --from-volume ID]',
    positionals: ['NAME'],
    options: { ...VOLUME_KIND_OPTIONS, size: { type: 'string' }, param: { type: 'string', multiple: true }, 'from-snapshot': { type: 'string' }, 'from-volume': { type: 'string' } },
  },
  { name: 'volume list', usage: 'volume list', positionals: [], options: {} },
  { name: 'volume describe', usage: 'volume describe ID', positionals: ['ID'], options: {} },
  {
    name: 'volume expand',
    usage: `volume expand ID --size SIZE [--staging-path PATH] [--node-state-dir DIR (default ${DEFAULT_NODE_STATE_DIR})]`,
    positionals: ['ID'],
    options: { size: { type: 'string' }, 'staging-path': { type: 'string' }, 'node-state-dir': { type: 'string' } },
  },
  { name: 'volume delete', usage: 'volume delete ID', positionals: ['ID'], options: {} },
  { name: 'snapshot create', usage: 'snapshot create NAME --volume ID', positionals: ['NAME'], options: { volume: { type: 'string' } } },
  { name: 'snapshot list', usage: 'snapshot list [--volume ID]', positionals: [], options: { volume: { type: 'string' } } },
  { name: 'snapshot delete', usage: 'snapshot delete ID', positionals: ['ID'], options: {} },
  {
    name: 'attach',
    usage: `attach ID --target PATH [--fs ext4|xfs | --block] [--access rwo|rwx-block|rox] [--work-dir DIR (default ${DEFAULT_WORK_DIR})]`,
    positionals: ['ID'],
    options: { ...VOLUME_KIND_OPTIONS, target: { type: 'string' }, 'work-dir': { type: 'string' } },
  },
  { name: 'detach', usage: 'detach ID --target PATH [--work-dir DIR]', positionals: ['ID'], options: { target: { type: 'string' }, 'work-dir': { type: 'string' } } },
  {
    name: 'nodes remove',
    usage: 'nodes remove NAME --confirm-node-is-gone [--note TEXT] [--removed-storage-nodes configmap:NS/NAME|file:PATH]',
    positionals: ['NAME'],
    options: { 'confirm-node-is-gone': { type: 'boolean' }, note: { type: 'string' }, 'removed-storage-nodes': { type: 'string' } },
  },
  { name: 'nodes restore', usage: 'nodes restore NAME [--removed-storage-nodes configmap:NS/NAME|file:PATH]', positionals: ['NAME'], options: { 'removed-storage-nodes': { type: 'string' } } },
  { name: 'nodes removed', usage: 'nodes removed [--removed-storage-nodes configmap:NS/NAME|file:PATH]', positionals: [], options: { 'removed-storage-nodes': { type: 'string' } } },
  {
    name: 'nodes',
    usage: 'nodes --agents HOST:PORT[,...] --tls-ca FILE --client-tls-cert FILE --client-tls-key FILE [--agent-server-name NAME]',
    positionals: [],
    options: { agents: { type: 'string' }, 'agent-server-name': { type: 'string' }, 'tls-ca': { type: 'string' }, 'client-tls-cert': { type: 'string' }, 'client-tls-key': { type: 'string' } },
  },
  {
    name: 'preflight',
    usage: 'preflight [--role node|agent|all (default node)] [--cluster] [--node-name NAME] [--driver-name NAME] [--host-root DIR (default /)] [--host-exec]',
    positionals: [],
    options: { role: { type: 'string' }, cluster: { type: 'boolean' }, 'node-name': { type: 'string' }, 'driver-name': { type: 'string' }, 'host-root': { type: 'string' }, 'host-exec': { type: 'boolean' } },
  },
];

export function cliUsageText(): string {
  return `Usage: vbs-csi <command> [options]

Operator commands over the driver's CSI socket (and, for nodes, the storage agents' API):

${SPECS.map((s) => `  vbs-csi ${s.usage}`).join('\n')}

Global options:
  --endpoint URL         CSI endpoint (env CSI_ENDPOINT, default ${DEFAULT_ENDPOINT})
  --json                 print JSON for scripts instead of tables
  --timeout-seconds N    deadline of each call (default ${DEFAULT_TIMEOUT_SECONDS})
  -h, --help             show this text

Sizes: bytes, or 512Mi, 1Gi, 2Ti (binary), 10G (decimal).
nodes also reads VBS_AGENTS, VBS_TLS_CA, VBS_CLIENT_TLS_CERT, VBS_CLIENT_TLS_KEY, VBS_AGENT_SERVER_NAME;
nodes remove|restore|removed read VBS_REMOVED_STORAGE_NODES (docs/storage-node-removal.md).
preflight checks this host (modules, iscsid, initiator name, lvm filter, multipath) and exits 7 when a check fails.
Exit status: 0 done, 1 failed, 2 usage error, 3 invalid request, 4 not found, 5 already exists,
6 no capacity, 7 failed precondition, 75 try again (busy, unavailable or deadline). See docs/cli.md.`;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Turns argv (starting at the command word) and the environment into a command, or into every
 * usage error found. Pure: nothing is read but its arguments.
 */
export function parseCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedCli {
  const usage = cliUsageText();
  const [first = '', second = ''] = argv;
  // Two words first: `nodes remove` is not `nodes` with an argument.
  const spec = SPECS.find((s) => s.name === `${first} ${second}`) ?? SPECS.find((s) => s.name === first);
  if (!spec) {
    if (argv.length === 0 || argv.some((a) => a === '--help' || a === '-h') || first === 'help') return { kind: 'help', text: usage };
    const group = SPECS.filter((s) => s.name.startsWith(`${first} `));
    const what = group.length > 0 ? `${first} needs one of: ${group.map((s) => s.name.split(' ')[1]).join(', ')}` : `unknown command ${JSON.stringify(first)}`;
    return { kind: 'usage-error', errors: [what], usage };
  }
  const rest = argv.slice(spec.name.split(' ').length);

  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...spec.options }, allowPositionals: true, strict: true }));
  } catch (err: unknown) {
    return { kind: 'usage-error', errors: [(err as Error).message], usage: `Usage: vbs-csi ${spec.usage}` };
  }
  if (values['help'] === true) return { kind: 'help', text: `Usage: vbs-csi ${spec.usage}\n\n${usage}` };

  const errors: string[] = [];
  const str = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  if (positionals.length !== spec.positionals.length) {
    errors.push(
      spec.positionals.length === 0
        ? `${spec.name} takes no arguments (got ${positionals.map((p) => JSON.stringify(p)).join(' ')})`
        : `${spec.name} needs ${spec.positionals.join(' ')}${positionals.length > spec.positionals.length ? ` and nothing more (got ${positionals.length} arguments)` : ''}`,
    );
  }
  const arg = positionals[0] ?? '';
  if (spec.positionals.length > 0 && positionals.length > 0 && arg.trim() === '') errors.push(`${spec.positionals[0]} must not be empty`);

  const globals = parseGlobals(str, values['json'] === true, env, errors);
  const command = buildCommand(spec.name, arg, str, values, env, errors);
  if (errors.length > 0 || !command || !globals) return { kind: 'usage-error', errors, usage: `Usage: vbs-csi ${spec.usage}` };
  return { kind: 'run', globals, command };
}

function parseGlobals(str: (n: string) => string | undefined, json: boolean, env: Readonly<Record<string, string | undefined>>, errors: string[]): CliGlobals | undefined {
  const endpointText = str('endpoint') ?? (env['CSI_ENDPOINT'] || undefined) ?? DEFAULT_ENDPOINT;
  let address = '';
  try {
    address = grpcAddress(parseEndpoint(endpointText));
  } catch (err: unknown) {
    errors.push(`--endpoint: ${(err as Error).message}`);
  }
  const timeoutText = str('timeout-seconds') ?? String(DEFAULT_TIMEOUT_SECONDS);
  const timeout = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeout < 1 || timeout > 3600) errors.push(`--timeout-seconds ${JSON.stringify(timeoutText)}: expected 1 to 3600`);
  return address === '' ? undefined : { address, json, timeoutMs: timeout * 1000 };
}

function buildCommand(
  name: CliCommand['name'],
  arg: string,
  str: (n: string) => string | undefined,
  values: Values,
  env: Readonly<Record<string, string | undefined>>,
  errors: string[],
): CliCommand | undefined {
  const size = (): number => {
    const text = str('size');
    if (text === undefined) {
      errors.push('--size is required (e.g. --size 1Gi)');
      return 0;
    }
    try {
      return parseSize(text);
    } catch (err: unknown) {
      errors.push(`--size ${(err as Error).message}`);
      return 0;
    }
  };
  const path = (flag: string, fallback?: string): string => {
    const v = str(flag) ?? fallback;
    if (v === undefined) errors.push(`--${flag} PATH is required`);
    else if (!isAbsolute(v) || normalize(v) !== v || v.includes('\0')) errors.push(`--${flag} ${JSON.stringify(v)}: expected an absolute, normalised path`);
    return v ?? '';
  };
  const nonEmpty = (flag: string): string => {
    const v = str(flag);
    if (v === undefined || v.trim() === '') errors.push(`--${flag} ID is required`);
    return v ?? '';
  };

  switch (name) {
    case 'volume create': {
      const parameters: Record<string, string> = {};
      for (const item of (values['param'] ?? []) as string[]) {
        const eq = item.indexOf('=');
        if (eq <= 0) errors.push(`--param ${JSON.stringify(item)} is not KEY=VALUE`);
        else parameters[item.slice(0, eq)] = item.slice(eq + 1);
      }
      const fromSnapshot = str('from-snapshot');
      const fromVolume = str('from-volume');
      if (fromSnapshot !== undefined && fromVolume !== undefined) errors.push('--from-snapshot and --from-volume are exclusive');
      const source = fromSnapshot !== undefined ? { kind: 'snapshot' as const, id: fromSnapshot } : fromVolume !== undefined ? { kind: 'volume' as const, id: fromVolume } : undefined;
      const { volume, access } = volumeKind(str, values, errors);
      return { name, volumeName: arg, sizeBytes: size(), volume, access, parameters, source };
    }
    case 'volume list':
      return { name };
    case 'volume describe':
    case 'volume delete':
      return { name, volumeId: arg };
    case 'volume expand': {
      const stagingPath = str('staging-path') === undefined ? undefined : path('staging-path');
      return { name, volumeId: arg, sizeBytes: size(), stagingPath, nodeStateDir: path('node-state-dir', env['VBS_NODE_STATE_DIR'] ?? DEFAULT_NODE_STATE_DIR) };
    }
    case 'snapshot create':
      return { name, snapshotName: arg, volumeId: nonEmpty('volume') };
    case 'snapshot list':
      return { name, volumeId: str('volume') };
    case 'snapshot delete':
      return { name, snapshotId: arg };
    case 'attach': {
      const { volume, access } = volumeKind(str, values, errors);
      return { name, volumeId: arg, volume, access, targetPath: path('target'), workDir: path('work-dir', env['VBS_CLI_WORK_DIR'] ?? DEFAULT_WORK_DIR) };
    }
    case 'detach':
      return { name, volumeId: arg, targetPath: path('target'), workDir: path('work-dir', env['VBS_CLI_WORK_DIR'] ?? DEFAULT_WORK_DIR) };
    case 'nodes remove':
    case 'nodes restore':
    case 'nodes removed': {
      const recordText = str('removed-storage-nodes') ?? (env['VBS_REMOVED_STORAGE_NODES'] || undefined);
      let record: RemovedStorageNodesSpec = { kind: 'file', path: '/' };
      if (recordText === undefined) errors.push(`--removed-storage-nodes is required (or VBS_REMOVED_STORAGE_NODES): the controller's value, ${REMOVED_STORAGE_NODES_FORMS}`);
      else {
        const parsed = parseRemovedStorageNodesSpec(recordText);
        if ('error' in parsed) errors.push(`--removed-storage-nodes ${parsed.error}`);
        else record = parsed.spec;
      }
      if (name === 'nodes removed') return { name, record };
      if (arg !== '' && !isStorageNodeName(arg)) errors.push(`${JSON.stringify(arg)} is not a storage node name (the first part of its volume ids: a lowercase DNS name)`);
      if (name === 'nodes restore') return { name, node: arg, record };
      if (values['confirm-node-is-gone'] !== true) {
        errors.push(
          `--confirm-node-is-gone is required: from then on the controller answers deletes and unpublishes of ${arg || 'its'} volumes with success without reaching it, ` +
            'and every other call with NOT_FOUND. Only for a storage node that is gone for good with its data; take its agent down first',
        );
      }
      const note = str('note') ?? '';
      const noteProblem = checkRemovalNote(note);
      if (noteProblem !== undefined) errors.push(`--note: ${noteProblem}`);
      return { name, node: arg, note, record };
    }
    case 'preflight':
      return preflightCommand(str, values, env, errors);
    case 'nodes': {
      const list = str('agents') ?? env['VBS_AGENTS'] ?? '';
      const agents = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (agents.length === 0) errors.push('--agents HOST:PORT[,HOST:PORT...] is required (or VBS_AGENTS)');
      for (const a of agents) if (!parseHostPort(a)) errors.push(`--agents: ${JSON.stringify(a)} is not host:port`);
      const file = (flag: string, envName: string): string => {
        const v = str(flag) ?? env[envName];
        if (v === undefined || v === '') errors.push(`--${flag} FILE is required (or ${envName}): the agents accept only mutual TLS`);
        return v ?? '';
      };
      return {
        name,
        agents,
        agentServerName: str('agent-server-name') ?? env['VBS_AGENT_SERVER_NAME'],
        tls: { caPath: file('tls-ca', 'VBS_TLS_CA'), certPath: file('client-tls-cert', 'VBS_CLIENT_TLS_CERT'), keyPath: file('client-tls-key', 'VBS_CLIENT_TLS_KEY') },
      };
    }
  }
}

function preflightCommand(str: (n: string) => string | undefined, values: Values, env: Readonly<Record<string, string | undefined>>, errors: string[]): CliCommand {
  const roleText = str('role') ?? 'node';
  const roles: PreflightRole[] = roleText === 'all' ? ['node', 'agent'] : roleText === 'node' || roleText === 'agent' ? [roleText] : [];
  if (roles.length === 0) errors.push(`--role ${JSON.stringify(roleText)}: expected node (a worker), agent (a storage node) or all`);
  const hostRoot = str('host-root') ?? '/';
  if (!isAbsolute(hostRoot) || normalize(hostRoot) !== hostRoot || hostRoot.includes('\0')) errors.push(`--host-root ${JSON.stringify(hostRoot)}: expected an absolute, normalised path`);
  const nodeName = str('node-name') ?? (env['NODE_NAME'] || undefined);
  if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) errors.push(`--node-name ${JSON.stringify(nodeName)}: expected a Kubernetes node name`);
  const driverName = str('driver-name') ?? DEFAULT_DRIVER_NAME;
  return { name: 'preflight', roles, hostRoot, hostExec: values['host-exec'] === true, cluster: values['cluster'] === true, nodeName, driverName };
}

function volumeKind(str: (n: string) => string | undefined, values: Values, errors: string[]): { volume: VolumeKind; access: AccessChoice } {
  const fs = str('fs');
  const block = values['block'] === true;
  if (fs !== undefined && block) errors.push('--fs and --block are exclusive: a volume is a filesystem or a raw block device');
  if (fs !== undefined && fs !== 'ext4' && fs !== 'xfs') errors.push(`--fs ${JSON.stringify(fs)}: expected ext4 or xfs`);
  const accessText = str('access') ?? 'rwo';
  if (accessText !== 'rwo' && accessText !== 'rwx-block' && accessText !== 'rox') errors.push(`--access ${JSON.stringify(accessText)}: expected rwo, rwx-block or rox`);
  if (accessText === 'rwx-block' && !block) errors.push('--access rwx-block needs --block: several writers are only safe on a raw block device');
  const volume: VolumeKind = block ? { kind: 'block' } : { kind: 'mount', fsType: fs === 'xfs' ? 'xfs' : 'ext4' };
  return { volume, access: accessText as AccessChoice };
}
