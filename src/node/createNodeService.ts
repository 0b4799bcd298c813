import { access, constants, mkdir, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config/parseNodeConfig.ts';
import { parseNodeId } from '../csi/nodeIds.ts';
import type { ReadinessCheck } from '../csi/readiness.ts';
import { Dmsetup } from '../dm/index.ts';
import { hostExecPrefix } from '../config/hostExec.ts';
import { checkHostNamespaces, createCommandRunner } from '../exec/index.ts';
import type { CommandRunner } from '../exec/index.ts';
import type { NodeHandlers } from '../generated/csi/v1/Node.ts';
import type { NodeServiceCapability } from '../generated/csi/v1/NodeServiceCapability.ts';
import type { PluginCapability } from '../generated/csi/v1/PluginCapability.ts';
import type { CallObserver } from '../grpc/adaptUnary.ts';
import { Iscsiadm, readInitiatorName } from '../iscsi/index.ts';
import { Mounter, readBlockDeviceSizeBytes } from '../mount/index.ts';
import type { ChapSource } from './chapSource.ts';
import { GrpcChapSource } from './grpcChapSource.ts';
import { NodeTls } from './nodeTls.ts';
export { checkNodeIdentity } from './checkNodeIdentity.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { createNodeHandlers, NODE_CAPABILITIES } from './nodeService.ts';
import { MIRROR_SESSION_SETTINGS, NODE_SESSION_SETTINGS } from './sessionSettings.ts';
import type { MirrorRecordSource } from './mirrorRecordSource.ts';
import { connectMirrorRecordClient, GrpcMirrorRecordSource } from './grpcMirrorRecordSource.ts';
import type { TlsMaterial } from '../tls/index.ts';
import { FailedPreconditionError } from '../errors.ts';
import { StageRecordStore } from './stageRecord.ts';
import { MirrorWatch } from './mirrorWatch.ts';
import { KeyedLocks } from '../locks/index.ts';

export interface NodeService {
  /** Add to a grpc-js Server with `server.addService(csi.v1.Node.service, handlers)`. */
  readonly handlers: NodeHandlers;
  /** Join these to the role's Probe checks. */
  readonly readiness: readonly ReadinessCheck[];
  /**
   * Plugin capabilities the node service adds: none. (VOLUME_ACCESSIBILITY_CONSTRAINTS belongs with
   * the controller's CreateVolume; the zone this node reports is in NodeGetInfo either way.)
   */
  readonly capabilities: readonly PluginCapability[];
  /** What NodeGetCapabilities answers, for logs and docs. */
  readonly nodeCapabilities: readonly NodeServiceCapability[];
  /** The CSI node id: this node's initiator name. */
  readonly nodeId: string;
  /** Stops the mirror watch (waits for a look in progress). */
  stop(): Promise<void>;
}

/**
 * Builds the CSI Node service from its config: reads the initiator name if none was given (it is
 * the node id, so a bad one fails here, before any socket opens), makes the state directory, and
 * wires iscsiadm, dmsetup and the mount tools through one runner: with --host-exec=nsenter the
 * host-state tools run as the host's (src/exec/HostToolsRunner.ts). `runner` is for tests.
 */
export async function createNodeService(
  config: NodeConfig & { readonly zone: string },
  log: Logger,
  opts: {
    readonly runner?: CommandRunner;
    readonly calls?: CallObserver | undefined;
    /** Where CHAP credentials come from; default: the agents over mutual TLS with config.tls. */
    readonly chapSource?: ChapSource;
    /** Where replicated volumes' records come from; default: the copies' agents over mutual TLS with config.tls. */
    readonly mirrorRecordSource?: MirrorRecordSource;
  } = {},
): Promise<NodeService> {
  // In a container, iscsiadm and dmsetup must be the host's (iscsid, udev cookies): docs/containers.md.
  const hostExec = config.hostExec ?? 'none';
  if (!opts.runner && hostExec === 'nsenter') await checkHostNamespaces();
  const runner = opts.runner ?? createCommandRunner({ log, hostPrefix: hostExecPrefix(hostExec) });
  const initiatorName = config.initiatorName ?? (await readInitiatorName());
  const nodeId = parseNodeId(initiatorName);
  if (!nodeId) throw new Error(`initiator name ${JSON.stringify(initiatorName)} is not a lowercase iSCSI qualified name; it cannot be the CSI node id`);
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  // One node certificate (one file watch) for both agent calls a stage makes.
  const agentTls = !opts.chapSource || (!opts.mirrorRecordSource && config.tls) ? await nodeAgentTls(config, log, nodeId) : undefined;
  const chap = opts.chapSource ?? new GrpcChapSource({ tls: agentTls! });
  const mirrorRecords = opts.mirrorRecordSource ?? (agentTls ? new GrpcMirrorRecordSource({ tls: agentTls, connect: connectMirrorRecordClient }) : noMirrorRecords);
  const deps: NodeDeps = {
    iscsiadm: new Iscsiadm({ runner, nodeRecordDir: config.iscsiNodeDir }),
    // Our own runner runs mount in this process's mount namespace (only the host-state tools go
    // through --host-exec), so the mount table and device sizes are read here instead of spawning
    // findmnt and blockdev. An injected runner (tests) keeps the commands.
    mounter: new Mounter(
      opts.runner ? { runner } : { runner, readMountInfo: () => readFile('/proc/self/mountinfo', 'utf8'), readDeviceSizeBytes: (device) => readBlockDeviceSizeBytes(device) },
    ),
    dmsetup: new Dmsetup({ runner }),
    records: new StageRecordStore({ dir: config.stateDir }),
    chap,
    mirrorRecords,
    initiatorName: nodeId,
    iface: config.iscsiIface,
    sessionSettings: NODE_SESSION_SETTINGS,
    mirrorSessionSettings: MIRROR_SESSION_SETTINGS,
    deviceWaitMs: config.deviceWaitMs,
  };
  log.info({ nodeId, iface: config.iscsiIface ?? 'default', zone: config.zone, stateDir: config.stateDir, hostExec }, 'node service configured');
  // Replicated volumes staged here: a failed copy recorded out of sync, a returning one re-added,
  // a resynced one recorded in sync (mirrorWatch.ts). Its timer does not hold the process open.
  const locks = new KeyedLocks();
  const watch = new MirrorWatch({ deps, log: log.child({ component: 'mirror-watch' }), locks });
  watch.start();
  return {
    stop: () => watch.stop(),
    handlers: createNodeHandlers({ deps, zone: config.zone, log, calls: opts.calls, locks }),
    readiness: [deviceMapperCheck(), stateDirCheck(config.stateDir)],
    capabilities: [],
    nodeCapabilities: NODE_CAPABILITIES,
    nodeId,
  };
}

/**
 * The node's certificate (a bad one fails here, before any socket opens; with in-cluster issuance
 * it is opened at the first stage instead, once issued) as the current material at each call.
 * Reloaded when its files change.
 */
async function nodeAgentTls(config: NodeConfig, log: Logger, initiatorIqn?: string): Promise<() => Promise<TlsMaterial>> {
  if (!config.tls) throw new Error('the node plugin has no certificate to fetch CHAP credentials from the agents with (--tls-ca, --tls-cert, --tls-key)');
  const tls = config.certificateRequest ? NodeTls.later(config.tls, initiatorIqn, log) : await NodeTls.open(config.tls, initiatorIqn, log);
  return () => tls.currentOrUnavailable();
}

/** The node's certificate into a GrpcChapSource (the all-in-one driver's remote source). */
export async function grpcChapSource(config: NodeConfig, log: Logger, initiatorIqn?: string): Promise<GrpcChapSource> {
  return new GrpcChapSource({ tls: await nodeAgentTls(config, log, initiatorIqn) });
}

/** The node's certificate into a GrpcMirrorRecordSource (the all-in-one driver's remote source). */
export async function grpcMirrorRecordSource(config: NodeConfig, log: Logger, initiatorIqn?: string): Promise<GrpcMirrorRecordSource> {
  return new GrpcMirrorRecordSource({ tls: await nodeAgentTls(config, log, initiatorIqn), connect: connectMirrorRecordClient });
}

/** Without a node certificate (an all-in-one driver given only its own agent): replicated volumes are refused. */
const noMirrorRecords: MirrorRecordSource = {
  read: async (req) => {
    throw new FailedPreconditionError(`cannot read the record of ${req.volumeId} on ${req.storageNode}: this node plugin has no certificate to reach the copies' agents (--node-tls-cert, --node-tls-key)`);
  },
  compareAndSet: async (req) => {
    throw new FailedPreconditionError(`cannot write the record of ${req.volumeId} on ${req.storageNode}: this node plugin has no certificate to reach the copies' agents`);
  },
};

/** Ready when device-mapper is usable: every staged volume goes through a dm device. */
function deviceMapperCheck(control = '/dev/mapper/control'): ReadinessCheck {
  return {
    name: 'device-mapper',
    check: async () => (await canAccess(control, constants.R_OK | constants.W_OK)) ? undefined : `${control} is missing: load dm_mod on the host and give the plugin the host's /dev`,
  };
}

function stateDirCheck(dir: string): ReadinessCheck {
  return {
    name: 'node state directory',
    check: async () => ((await canAccess(dir, constants.W_OK)) ? undefined : `${dir} is not writable (mount a host directory there)`),
  };
}

async function canAccess(path: string, mode: number): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}
