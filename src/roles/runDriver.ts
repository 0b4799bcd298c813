import { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { DriverConfig } from '../config/parseConfig.ts';
import { createIdentityHandlers, createReadinessReporter } from '../csi/identityService.ts';
import type { ReadinessCheck } from '../csi/readiness.ts';
import { loadCsiProto } from '../grpc/loadProtos.ts';
import { serve } from '../grpc/serve.ts';
import type { RunningServer } from '../grpc/serve.ts';
import type { PluginCapability } from '../generated/csi/v1/PluginCapability.ts';
import { createProcessMetrics, serveMetrics } from '../metrics/index.ts';
import type { RunningMetricsServer } from '../metrics/index.ts';
import { initiatorNameCheck, kernelModuleCheck, lioConfigfsCheck } from './checks.ts';
import { AGENT_MODULES, loadKernelModules, NODE_MODULES } from './kernelModules.ts';
import { serveHealth } from './serveHealth.ts';
import type { RunningHealthServer } from './serveHealth.ts';
import { startAgent } from './startAgent.ts';
import { requestNodeCertificate } from './inClusterIssuance.ts';
import { startController } from './startController.ts';
import type { RunningController } from './startController.ts';
import { createNodeService } from '../node/index.ts';
import { grpcChapSource, grpcMirrorRecordSource } from '../node/createNodeService.ts';
import { LocalMirrorRecordSource } from '../node/grpcMirrorRecordSource.ts';
import { LocalChapSource } from '../node/localChapSource.ts';
import { ExecaRunner } from '../exec/index.ts';
import type { CommandRunner } from '../exec/index.ts';
import { serveKubeletRegistration } from '../node/kubeletRegistration.ts';
import { resolveZone } from './resolveZone.ts';
import type { ZoneChoice } from './resolveZone.ts';

/** What one role contributes to the process: readiness checks and plugin capabilities. */
export interface RoleParts {
  readonly readiness: readonly ReadinessCheck[];
  readonly capabilities: readonly PluginCapability[];
}

const CONTROLLER_PLUGIN_CAPABILITIES: readonly PluginCapability[] = [
  { service: { type: 'CONTROLLER_SERVICE' } },
  // Volumes carry a zone and node plugins report theirs (src/csi/nodeIds.ts).
  { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } },
  // A volume grows while published: the LV grows on the agent, the node rescans and grows the filesystem.
  { volume_expansion: { type: 'ONLINE' } },
];

/**
 * The readiness checks and plugin capabilities of each role. The controller has no readiness
 * check of its own: the livenessprobe sidecar restarts a plugin that is not ready, and restarting
 * the controller because a storage node is down would help nobody.
 */
export function roleParts(config: DriverConfig): RoleParts {
  const node: RoleParts = { readiness: [initiatorNameCheck(), kernelModuleCheck('iscsi_tcp')], capabilities: [] };
  const agent: RoleParts = {
    readiness: [lioConfigfsCheck(), kernelModuleCheck('target_core_iblock'), kernelModuleCheck('dm_thin_pool')],
    capabilities: [],
  };
  const controller: RoleParts = { readiness: [], capabilities: CONTROLLER_PLUGIN_CAPABILITIES };
  switch (config.role) {
    case 'controller':
      return controller;
    case 'node':
      return node;
    case 'agent':
      return agent;
    case 'all-in-one':
      return {
        readiness: [...controller.readiness, ...node.readiness, ...agent.readiness],
        capabilities: [...controller.capabilities, ...node.capabilities, ...agent.capabilities],
      };
  }
}

/** The kernel modules a role loads at start with --load-kernel-modules (the same its readiness checks). */
export function roleModules(role: DriverConfig['role']): readonly string[] {
  switch (role) {
    case 'controller':
      return [];
    case 'node':
      return NODE_MODULES;
    case 'agent':
      return AGENT_MODULES;
    case 'all-in-one':
      return [...NODE_MODULES, ...AGENT_MODULES];
  }
}

export interface RunningDriver {
  /** The CSI endpoint's bound address. */
  readonly address: string;
  /** The metrics server's bound host:port, when --metrics-address is set. */
  readonly metricsAddress: string | undefined;
  /** The /livez and /readyz server's bound host:port, when --health-address is set. */
  readonly healthAddress: string | undefined;
  /** Stops the CSI server and, where it runs, the agent, then the metrics server; in-flight calls get up to graceMs. */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Starts a role: the storage agent first where the role has one (its readiness joins Probe's),
 * then the metrics server if asked for (one registry for every part of the process), then the
 * CSI server on the configured endpoint.
 */
export async function startDriver(
  config: DriverConfig,
  log: Logger,
  opts: { version: string; parts?: RoleParts; runner?: CommandRunner; sysRoot?: string; env?: Readonly<Record<string, string | undefined>> },
): Promise<RunningDriver> {
  // Liveness first: a role whose start is slow (the agent's first LIO rebuild) is alive meanwhile.
  const health = config.health ? await serveHealth({ ...config.health, log }) : undefined;
  try {
    // A module that cannot be loaded is logged, not thrown: readiness says so (src/roles/kernelModules.ts).
    if (config.loadKernelModules) {
      await loadKernelModules(roleModules(config.role), { runner: opts.runner ?? new ExecaRunner({ log }), log, ...(opts.sysRoot ? { sysRoot: opts.sysRoot } : {}) });
    }
    return await startRole(config, log, opts, health);
  } catch (err: unknown) {
    await health?.close();
    throw err;
  }
}

async function startRole(
  config: DriverConfig,
  log: Logger,
  opts: { version: string; parts?: RoleParts; env?: Readonly<Record<string, string | undefined>> },
  health: RunningHealthServer | undefined,
): Promise<RunningDriver> {
  const env = opts.env ?? process.env;
  const metrics = config.metrics ? createProcessMetrics() : undefined;
  const zone = await zoneOf(config, env, log);
  const agent = config.agent ? await startAgent({ ...config.agent, zone }, log, metrics, { driverName: config.driverName }) : undefined;
  let controller: RunningController | undefined;
  let nodeCertificate: { stop(): void } | undefined;
  let runningNode: { stop(): void } | undefined;
  let metricsServer: RunningMetricsServer | undefined;
  try {
    const parts = opts.parts ?? roleParts(config);
    const csi = loadCsiProto();
    const server = new Server();
    const nodeLog = log.child({ component: 'node' });
    // all-in-one: its own agent in-process; other agents only with a node certificate.
    const chapSource =
      config.node && agent && config.agent
        ? new LocalChapSource({ agent: agent.credentials, storageNode: config.agent.nodeName, ...(config.node.tls ? { remote: await grpcChapSource(config.node, nodeLog) } : {}) })
        : undefined;
    const mirrorRecordSource =
      config.node && agent && config.agent
        ? new LocalMirrorRecordSource({ agent: agent.credentials, storageNode: config.agent.nodeName, ...(config.node.tls ? { remote: await grpcMirrorRecordSource(config.node, nodeLog) } : {}) })
        : undefined;
    const node = config.node
      ? await createNodeService({ ...config.node, zone }, nodeLog, { calls: metrics?.calls.forService('csi.v1.Node'), ...(chapSource ? { chapSource } : {}), ...(mirrorRecordSource ? { mirrorRecordSource } : {}) })
      : undefined;
    runningNode = node;
    // In-cluster issuance of the node's certificate, in the background (the signer waits for this node's CSINode).
    nodeCertificate = node && config.node && config.nodeId ? await requestNodeCertificate(config.node, config.nodeId, node.nodeId, nodeLog) : undefined;
    controller = config.controller ? await startController(config.controller, log.child({ component: 'controller' }), metrics, { driverName: config.driverName, env }) : undefined;
    const readiness = [...parts.readiness, ...(node?.readiness ?? []), ...(agent ? [agent.readiness] : [])];
    // One reporter for CSI Probe and GET /readyz, so a change of readiness is logged once either way.
    const report = createReadinessReporter(readiness, log);
    server.addService(
      csi.csi.v1.Identity.service,
      createIdentityHandlers({
        driverName: config.driverName,
        vendorVersion: opts.version,
        capabilities: parts.capabilities,
        readiness,
        report,
        log,
        calls: metrics?.calls.forService('csi.v1.Identity'),
      }),
    );
    health?.setReadiness(report);
    if (controller) server.addService(csi.csi.v1.Controller.service, controller.handlers);
    if (node) server.addService(csi.csi.v1.Node.service, node.handlers);
    if (metrics && config.metrics) metricsServer = await serveMetrics({ registry: metrics.registry, ...config.metrics, log });
    const running: RunningServer = await serve({ server, endpoint: config.endpoint, log });
    // After the CSI socket serves: kubelet calls NodeGetInfo as soon as it has registered the plugin.
    let registration: RunningServer | undefined;
    try {
      registration = config.node?.kubeletRegistration
        ? await serveKubeletRegistration({ ...config.node.kubeletRegistration, driverName: config.driverName, log })
        : undefined;
    } catch (err: unknown) {
      await running.shutdown(0);
      throw err;
    }
    const started = controller;
    const startedMetrics = metricsServer;
    return {
      address: running.address,
      metricsAddress: metricsServer?.address,
      healthAddress: health?.address,
      async shutdown(graceMs: number) {
        // The registration socket goes first, so kubelet deregisters the plugin before its socket closes.
        await registration?.shutdown(Math.min(graceMs, 1_000));
        await Promise.all([running.shutdown(graceMs), agent?.stop(graceMs)]);
        started?.stop();
        node?.stop();
        nodeCertificate?.stop();
        await startedMetrics?.close();
        await health?.close();
      },
    };
  } catch (err: unknown) {
    controller?.stop();
    runningNode?.stop();
    nodeCertificate?.stop();
    await metricsServer?.close();
    await agent?.stop(0);
    throw err;
  }
}

/**
 * The zone of the node plugin and agent of this process (one Node, so one zone): --zone (or the
 * agent's --labels zone=), else the Node's topology.kubernetes.io/zone label (src/roles/resolveZone.ts).
 * The controller has none.
 */
async function zoneOf(config: DriverConfig, env: Readonly<Record<string, string | undefined>>, log: Logger): Promise<string> {
  if (!config.node && !config.agent) return '';
  const configured = config.node?.zone ?? config.agent?.zone;
  let choice: ZoneChoice;
  try {
    choice = await resolveZone({ configured, nodeName: env['NODE_NAME'] || config.nodeId || config.agent?.nodeName, env });
  } catch (err: unknown) {
    throw new Error(`cannot tell this node's zone: ${(err as Error).message}`);
  }
  log.info({ zone: choice.zone, from: choice.from }, 'zone');
  return choice.zone;
}

/**
 * Runs until SIGTERM or SIGINT: then stops accepting calls, lets in-flight ones finish within
 * the grace period and removes the socket, so a restarted pod can bind again at once.
 */
export async function runDriver(config: DriverConfig, log: Logger, version: string): Promise<void> {
  const running = await startDriver(config, log, { version });
  await new Promise<void>((resolve) => {
    let stopping = false;
    // process.on, not once: a second signal while stopping must not fall through to Node's
    // default handler and kill the process half-way through its cleanup.
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.info({ signal }, 'already shutting down');
        return;
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      running.shutdown(config.shutdownGraceMs).then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
