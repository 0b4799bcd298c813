import type { Logger } from 'pino';
import type { ControllerConfig } from '../config/parseControllerConfig.ts';
import { ControllerService } from '../controller/ControllerService.ts';
import { createControllerHandlers } from '../controller/controllerHandlers.ts';
import { dnsAgents, endpointSliceAgents, staticAgents } from '../controller/agentDiscovery.ts';
import type { AgentDiscovery } from '../controller/agentDiscovery.ts';
import { ServiceEndpoints } from '../kube/endpointSliceWatch.ts';
import { KubeEventRecorder } from '../kube/eventRecorder.ts';
import { kubeOperatorEvents } from '../controller/operatorEvents.ts';
import { connectAgent } from '../agentApi/client.ts';
import { StorageNodes } from '../controller/StorageNodes.ts';
import { ServerIdentityRecorder, withCheckedIdentity } from '../controller/checkAgentIdentity.ts';
import { duplicateNodeIdGuard, watchDuplicateNodeIds } from '../controller/nodeIdGuard.ts';
import { openRemovedStorageNodes } from '../controller/removedStorageNodes/index.ts';
import { findKubeConfig, loadKubeClient } from '../kube/kubeClient.ts';
import { listCsiNodeIds } from '../kube/listCsiNodeIds.ts';
import { parseAnyVolumeId, parseSnapshotId } from '../csi/volumeIds.ts';
import type { ControllerHandlers } from '../generated/csi/v1/Controller.ts';
import { TlsExpiryMetrics, registerStorageNodeGauges } from '../metrics/index.ts';
import type { ProcessMetrics } from '../metrics/index.ts';
import { ReloadingTls, reloadingClientCredentials } from '../tls/index.ts';
import { loadControllerTls } from './loadControllerTls.ts';
import { issueOwnCertificate, startSigner } from './inClusterIssuance.ts';

export interface RunningController {
  readonly handlers: ControllerHandlers;
  stop(): void;
}

/**
 * The controller's composition root: discovery, one mutual-TLS channel per agent, status
 * polling, and the Controller service over them. Agents that do not answer yet are fine: they
 * are left out of placement until they do. With metrics, its calls are counted and the storage
 * nodes' last status is exposed as gauges.
 *
 * The Kubernetes API is used when the controller runs in a pod (or KUBECONFIG names a file): for
 * the removed storage nodes' ConfigMap, to refuse node ids two nodes registered, to watch the
 * agents' EndpointSlices (--agents-service) and to record Events an operator must act on
 * (docs/kubernetes-api.md). Without it there is no such check, no Event, --agents-service is
 * refused, and the removed record must be a file (docs/storage-node-removal.md).
 */
export async function startController(
  config: ControllerConfig,
  log: Logger,
  metrics: ProcessMetrics | undefined,
  opts: { readonly driverName: string; readonly env?: Readonly<Record<string, string | undefined>> },
): Promise<RunningController> {
  const env = opts.env ?? process.env;
  const kubeSource = findKubeConfig({ env, allowHomeConfig: false });
  if (config.agentsService && !kubeSource) {
    throw new Error(`--agents-service ${config.agentsService.namespace}/${config.agentsService.name} needs the Kubernetes API: run in a pod with a service account token, or set KUBECONFIG`);
  }
  const expiry = metrics ? new TlsExpiryMetrics(metrics.registry) : undefined;
  // With in-cluster issuance the controller's own certificate comes from the CA it signs with.
  const own = await issueOwnCertificate(config, log);
  const tls = await ReloadingTls.open(() => loadControllerTls(config), { log, onLoaded: (loaded) => expiry?.record('controller', loaded) });
  // One set of credentials per agent, so each remembers the identity its agent's certificate names.
  const connect = (address: string) => {
    const seen = new ServerIdentityRecorder();
    const creds = reloadingClientCredentials(tls, { onServerCertificate: seen.record, ...(config.agentServerName !== undefined ? { expectedServerName: config.agentServerName } : {}) });
    return withCheckedIdentity(address, connectAgent(address, creds), () => seen.current());
  };
  const kube = kubeSource ? await loadKubeClient(kubeSource) : undefined;
  const signer = startSigner(config, opts.driverName, kube, log);
  // Events for what an operator must act on (docs/kubernetes-api.md); without the API, logs only.
  let eventErrorLogged: string | undefined;
  const recorder = kube
    ? new KubeEventRecorder(kube, {
        component: `${opts.driverName}/controller`,
        instance: env['POD_NAME'] || env['HOSTNAME'] || 'controller',
        onError: (message) => {
          if (eventErrorLogged !== message) log.warn({ err: message }, 'cannot record a Kubernetes Event');
          eventErrorLogged = message;
        },
      })
    : undefined;
  const events =
    kube && recorder ? kubeOperatorEvents(recorder, { workerOf: async (nodeId) => (await listCsiNodeIds(kube, opts.driverName)).find((r) => r.nodeId === nodeId)?.node }) : undefined;
  // Cloned initiator names are told as Events before a publish trips on them.
  const stopDuplicateScan =
    kube && events
      ? watchDuplicateNodeIds({
          list: () => listCsiNodeIds(kube, opts.driverName),
          onDuplicate: events.duplicateNodeId,
          onError: (message) => log.debug({ err: message }, 'listing CSINodes for duplicate node ids failed; trying again later'),
          intervalMs: 300_000,
        })
      : undefined;
  const removed = config.removedStorageNodes ? await openRemovedStorageNodes(config.removedStorageNodes, { env, allowHomeConfig: false, ...(kube ? { kube } : {}) }) : undefined;
  let nodes: StorageNodes | undefined;
  let endpoints: ServiceEndpoints | undefined;
  let discover: AgentDiscovery;
  // kube is there: checked at the top.
  if (config.agentsService && kube) {
    let warned: string | undefined;
    endpoints = new ServiceEndpoints(kube, {
      ...config.agentsService,
      service: config.agentsService.name,
      // An agent that turns ready, or goes, is polled now rather than at the next interval.
      onChange: () => void nodes?.refresh(),
      onError: (message) => {
        if (warned !== message) log.warn({ err: message }, 'watch of the agents\' EndpointSlices failed; keeping the agents known, retrying');
        warned = message;
      },
    });
    await endpoints.start();
    discover = endpointSliceAgents(endpoints);
  } else discover = config.agentsDns ? dnsAgents(config.agentsDns.host, config.agentsDns.port) : staticAgents(config.agentAddresses);
  nodes = new StorageNodes({ discover, connect, log, ...(removed ? { removed } : {}), ...(events ? { events } : {}) });
  nodes.start(config.statusIntervalMs);
  if (metrics) registerStorageNodeGauges(metrics.registry, nodes);
  // Twice the interval: the background poll starts an interval after the last one ended, so with
  // the bare interval every call in the poll's own duration would wait for a poll of its own.
  // Reservations account for the creates placed since.
  const service = new ControllerService({
    nodes,
    log,
    statusMaxAgeMs: 2 * config.statusIntervalMs,
    ...(kube ? { nodeIdGuard: duplicateNodeIdGuard({ list: () => listCsiNodeIds(kube, opts.driverName), ...(events ? { onDuplicate: events.duplicateNodeId } : {}) }) } : {}),
    ...(events ? { events } : {}),
  });
  const handlers = createControllerHandlers(
    service,
    log,
    {
      isVolumeId: (id) => parseAnyVolumeId(id) !== undefined,
      isSnapshotId: (id) => parseSnapshotId(id) !== undefined,
    },
    metrics?.calls.forService('csi.v1.Controller'),
  );
  log.info(
    {
      agents: endpoints ? endpoints.where : config.agentsDns ? `${config.agentsDns.host}:${config.agentsDns.port} (DNS)` : config.agentAddresses,
      removedStorageNodes: removed?.where ?? 'none: no storage node can be declared removed',
      certificateSigner: signer ? `${opts.driverName}/agent and ${opts.driverName}/node, CA in ${config.signer?.caDir}` : 'off',
      events: recorder ? `core/v1 Events on Nodes (${kube?.source})` : 'off: no Kubernetes API',
      duplicateNodeIdCheck: kube ? `CSINode objects through the Kubernetes API (${kube.source})` : 'off: no Kubernetes API (not in a pod, no KUBECONFIG)',
    },
    'controller started',
  );
  return {
    handlers,
    stop: () => {
      stopDuplicateScan?.();
      recorder?.stop();
      void endpoints?.stop();
      nodes.stop();
      tls.stop();
      signer?.stop();
      own?.stop();
    },
  };
}
