import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AgentVolumes } from '../agent/AgentVolumes.ts';
import { createAgentServer } from '../agent/createAgentServer.ts';
import { BlkdiscardZeroer } from '../agent/zeroing/BlkdiscardZeroer.ts';
import { createAgentCredentialsHandlers } from '../agent/handlers/agentCredentialsHandlers.ts';
import { createAgentVolumesHandlers } from '../agent/handlers/agentVolumesHandlers.ts';
import { IoLoadSampler, NodeStatusReporter } from '../agent/status/index.ts';
import type { AgentCredentialsPort, AgentVolumesPort } from '../agentApi/types.ts';
import { classifyLv } from '../agent/volumeTags.ts';
import { MIN_CHAP_KEY_BYTES } from '../chap/index.ts';
import type { AgentConfig } from '../config/parseAgentConfig.ts';
import type { ReadinessCheck } from '../csi/readiness.ts';
import { UnavailableError } from '../errors.ts';
import { checkHostNamespaces, createCommandRunner } from '../exec/index.ts';
import { hostExecPrefix } from '../config/hostExec.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import { adaptUnary } from '../grpc/adaptUnary.ts';
import { loadAgentProto } from '../grpc/loadProtos.ts';
import { serve } from '../grpc/serve.ts';
import { FsConfigFs, LioTarget } from '../lio/index.ts';
import { Lvm } from '../lvm/index.ts';
import { AgentMetrics, TlsExpiryMetrics } from '../metrics/index.ts';
import type { ProcessMetrics } from '../metrics/index.ts';
import { checkOwnIdentity } from '../tls/checkOwnIdentity.ts';
import { ReloadingTls, loadTlsFiles, reloadingServerCredentials } from '../tls/index.ts';
import { requestAgentCertificate } from './inClusterIssuance.ts';

/**
 * How old the lvm report the agent answers lookups, admission and status from may grow
 * (src/lvm/Lvm.ts, "Remembered report"). The agent's own changes are in it at once; reconcile
 * (every 60 s by default) renews it, and so does the first read after it expired. So this bounds
 * how long a change made by hand, or the pool's fill level, can go unseen.
 */
const LVM_REPORT_MAX_AGE_MS = 30_000;

export interface RunningAgent {
  /** Ready once the first reconcile has made LIO match the LV tags. */
  readonly readiness: ReadinessCheck;
  readonly address: string;
  /** The agent's credentials service, for an all-in-one node plugin in the same process. */
  readonly credentials: AgentCredentialsPort;
  stop(graceMs: number): Promise<void>;
}

/**
 * The storage agent's composition root: the one place that builds the real adapters (execa,
 * lvm, configfs) and serves the agent API with mutual TLS. Before the first reconcile finishes
 * (after a reboot LIO is empty until it does) volume calls answer UNAVAILABLE and Probe is not
 * ready; reconcile then repeats on an interval, one object failing never stopping the others.
 * With metrics, its calls and reconcile passes are counted and its readiness, load and last
 * reported capacity are gauges.
 */
export async function startAgent(config: AgentConfig & { readonly zone: string }, rootLog: Logger, metrics?: ProcessMetrics, opts: { readonly driverName?: string } = {}): Promise<RunningAgent> {
  const log = rootLog.child({ component: 'agent', storageNode: config.nodeName });
  const chapKey = await readChapKey(config.chapKeyPath);
  const expiry = metrics ? new TlsExpiryMetrics(metrics.registry) : undefined;
  // In-cluster issuance: the files are this agent's to write, from its signed request.
  const requester = await requestAgentCertificate(config, opts.driverName ?? 'vbs.csi.io', log);
  // Checked at start and at each reload: its certificate must name this storage node.
  const tls = await ReloadingTls.open(
    async () => {
      const loaded = await loadTlsFiles(config.tls);
      checkOwnIdentity(loaded, { kind: 'agent', storageNode: config.nodeName }, `vbs-csi certs --agent ${config.nodeName},ip=ADDRESS (the storage node name is --storage-node-name)`);
      return loaded;
    },
    { log, onLoaded: (loaded) => expiry?.record('agent', loaded) },
  );
  const first = tls.current();
  log.info({ subject: first.subject, subjectAltName: first.subjectAltName, validTo: first.validTo }, 'agent certificate');

  // In a container, lvm must be the host's (udev cookies, locks, lvm.conf): docs/containers.md.
  const hostExec = config.hostExec ?? 'none';
  if (hostExec === 'nsenter') await checkHostNamespaces();
  const runner = createCommandRunner({ log, hostPrefix: hostExecPrefix(hostExec) });
  log.info({ hostExec }, 'host-state tools');
  const lvm = new Lvm({ runner, vgName: config.vgName, thinPoolName: config.thinPoolName, reportMaxAgeMs: LVM_REPORT_MAX_AGE_MS });
  const lio = new LioTarget({ configFs: new FsConfigFs(), hbaIndex: config.lioHbaIndex });
  const volumes = new AgentVolumes({
    lvm,
    lio,
    chapKey,
    portal: config.portal,
    storageNode: config.nodeName,
    iqnPrefix: config.iqnPrefix,
    zeroer: new BlkdiscardZeroer({ runner }),
    overprovisionRatio: config.overprovisionRatio,
    dataLimitPercent: config.dataLimitPercent,
    metadataLimitPercent: config.metadataLimitPercent,
    log,
  });

  let reconciled = false;
  const sampler = new IoLoadSampler({ lvm, log });
  sampler.start();
  const status = new NodeStatusReporter({
    lvm,
    sampler,
    nodeName: config.nodeName,
    labels: { ...config.labels, zone: config.zone },
    portal: config.portal,
    overprovisionRatio: config.overprovisionRatio,
    dataLimitPercent: config.dataLimitPercent,
    metadataLimitPercent: config.metadataLimitPercent,
    isReady: () => reconciled,
    classify: classifyLv,
  });
  let lastStatus: NodeStatus__Output | undefined;
  const agentMetrics = metrics
    ? new AgentMetrics(metrics.registry, { nodeName: config.nodeName, ready: () => reconciled, load: () => sampler.current(), lastStatus: () => lastStatus })
    : undefined;

  const proto = loadAgentProto();
  const server = createAgentServer(log, metrics ? (service) => metrics.calls.forService(service) : undefined);
  server.addService(proto.vbs.agent.v1.AgentStatus.service, {
    GetNodeStatus: adaptUnary('agent.GetNodeStatus', log, async (_req, { signal }) => (lastStatus = await status.getNodeStatus(signal)), {
      calls: metrics?.calls.forService('vbs.agent.v1.AgentStatus'),
    }),
  });
  server.addService(
    proto.vbs.agent.v1.AgentVolumes.service,
    createAgentVolumesHandlers(untilReconciled(volumes, () => reconciled), log, metrics?.calls.forService('vbs.agent.v1.AgentVolumes')),
  );
  const notYet = () => Promise.reject(new UnavailableError('the agent is restoring its iSCSI exports after a start; retry in a few seconds'));
  const credentials: AgentCredentialsPort = {
    chapCredentials: (req, signal) => (reconciled ? volumes.chapCredentials(req, signal) : notYet()),
    mirrorRecord: (req, signal) => (reconciled ? volumes.mirrorRecord(req, signal) : notYet()),
    setMirrorRecord: (req, signal) => (reconciled ? volumes.setMirrorRecord(req, signal) : notYet()),
  };
  // Node plugins ask for the CHAP secrets of what is published to them (docs/security.md), and for the copies' record of a replicated volume (docs/replication.md).
  server.addService(proto.vbs.agent.v1.AgentCredentials.service, createAgentCredentialsHandlers(credentials, log, metrics?.calls.forService('vbs.agent.v1.AgentCredentials')));
  const running = await serve({ server, endpoint: config.listen, log, credentials: reloadingServerCredentials(tls) });

  const stopReconcile = new AbortController();
  /** Why the last pass failed, for readiness: e.g. a thin pool whose zeroing cannot be turned on. */
  let lastReconcileError: string | undefined;
  /** True when the pass ran to the end and the thin pool zeroes; objects that failed are logged and retried next pass. */
  const reconcileOnce = async (): Promise<boolean> => {
    try {
      const report = await volumes.reconcile(stopReconcile.signal);
      agentMetrics?.recordReconcile(report);
      if (report.repaired.length > 0 || report.removed.length > 0 || report.failed.length > 0) log.info({ report }, 'reconciled LIO with the volumes');
      // A pool that does not zero would hand thin volumes deleted volumes' data: not ready until it does.
      const pool = report.failed.find((f) => f.object === `${config.vgName}/${config.thinPoolName}`);
      lastReconcileError = pool?.error;
      return pool === undefined;
    } catch (err: unknown) {
      log.error({ err }, 'reconcile failed');
      lastReconcileError = err instanceof Error ? err.message : String(err);
      agentMetrics?.recordReconcile('error');
      return false;
    }
  };
  // The first complete pass gates readiness: an export missing after a reboot must be back
  // before the controller sends work here. Until then retry every 2 s.
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    if (await reconcileOnce() && !reconciled) {
      reconciled = true;
      log.info('agent ready');
    }
    if (!stopReconcile.signal.aborted) timer = setTimeout(loop, reconciled ? config.reconcileIntervalMs : 2_000).unref();
  };
  void loop();

  return {
    address: running.address,
    credentials,
    readiness: {
      name: 'storage agent',
      check: async () => (reconciled ? undefined : `the first reconcile of LIO with the volumes has not finished${lastReconcileError === undefined ? '' : `: ${lastReconcileError}`}`),
    },
    async stop(graceMs: number) {
      stopReconcile.abort();
      clearTimeout(timer);
      await sampler.stop();
      await running.shutdown(graceMs);
      tls.stop();
      requester?.stop();
    },
  };
}

/** Reads the cluster CHAP key: the file's bytes, as a Kubernetes Secret mounts them. */
async function readChapKey(path: string): Promise<Buffer> {
  const key = await readFile(path).catch((err: unknown) => {
    throw new Error(`cannot read the CHAP key file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  });
  if (key.length < MIN_CHAP_KEY_BYTES) throw new Error(`the CHAP key file ${path} holds ${key.length} bytes; at least ${MIN_CHAP_KEY_BYTES} are needed (e.g. head -c 32 /dev/urandom)`);
  return key;
}

/** Volume calls wait for nothing: before the first reconcile they answer UNAVAILABLE at once. */
function untilReconciled(volumes: AgentVolumesPort, isReconciled: () => boolean): AgentVolumesPort {
  const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
    isReconciled() ? fn(...args) : Promise.reject(new UnavailableError('the agent is restoring its iSCSI exports after a start; retry in a few seconds'));
  return {
    createVolume: guard(volumes.createVolume.bind(volumes)),
    expandVolume: guard(volumes.expandVolume.bind(volumes)),
    deleteVolume: guard(volumes.deleteVolume.bind(volumes)),
    getVolume: guard(volumes.getVolume.bind(volumes)),
    listVolumes: guard(volumes.listVolumes.bind(volumes)),
    createSnapshot: guard(volumes.createSnapshot.bind(volumes)),
    deleteSnapshot: guard(volumes.deleteSnapshot.bind(volumes)),
    getSnapshot: guard(volumes.getSnapshot.bind(volumes)),
    listSnapshots: guard(volumes.listSnapshots.bind(volumes)),
    exportVolume: guard(volumes.exportVolume.bind(volumes)),
    unexportVolume: guard(volumes.unexportVolume.bind(volumes)),
  };
}
