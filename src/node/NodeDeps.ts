import type { Logger } from 'pino';
import type { Dmsetup } from '../dm/index.ts';
import type { Iscsiadm, IscsiTarget, SessionSettings } from '../iscsi/index.ts';
import type { Mounter } from '../mount/index.ts';
import type { ChapSource } from './chapSource.ts';
import type { MirrorRecordSource } from './mirrorRecordSource.ts';
import type { StagedTarget, StageRecordStore } from './stageRecord.ts';

/** Everything the node steps act through, injected so unit tests can fake the host. */
export interface NodeDeps {
  readonly iscsiadm: Pick<Iscsiadm, 'ensureIface' | 'ensureNodeRecord' | 'login' | 'logout' | 'deleteNodeRecord' | 'findSession' | 'listSessionDetails' | 'listNodeRecords' | 'rescanSession'>;
  readonly mounter: Pick<Mounter, 'probeFilesystem' | 'formatIfBlank' | 'mount' | 'bindMount' | 'unmount' | 'findMount' | 'growFilesystem' | 'getFilesystemStats' | 'flushBuffers' | 'mountedDevice'>;
  readonly dmsetup: Pick<Dmsetup, 'createLinear' | 'reloadLinear' | 'remove' | 'info' | 'table' | 'createRaid1' | 'reloadRaid1' | 'suspend' | 'resume' | 'raidStatus'>;
  readonly records: StageRecordStore;
  /** Where a volume's CHAP credentials come from: its agent, never publish_context (docs/security.md). */
  readonly chap: ChapSource;
  /** Where a replicated volume's copies' record is read and bumped: each copy's agent (docs/replication.md). */
  readonly mirrorRecords: MirrorRecordSource;
  /** This node's initiator name (lowercase IQN) = its CSI node id. */
  readonly initiatorName: string;
  /** The open-iscsi iface to log in through; undefined = default. */
  readonly iface: string | undefined;
  readonly sessionSettings: SessionSettings;
  /** The session settings of a replicated volume's copies (fail a dead copy fast: sessionSettings.ts). */
  readonly mirrorSessionSettings: SessionSettings;
  /** How long to wait for the kernel to attach or resize a LUN. */
  readonly deviceWaitMs: number;
  /** Default /sys and /dev; unit tests point them at temp dirs. */
  readonly sysRoot?: string;
  readonly devRoot?: string;
  /** Between two looks while waiting for a device; default 200 ms. */
  readonly pollMs?: number;
}

export interface StepContext {
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** The target of a stage record (or of one staged copy) as iscsiadm addresses it. */
export function recordTarget(record: { readonly target: StagedTarget }): IscsiTarget {
  const { targetIqn, portal, iface } = record.target;
  return { targetIqn, portal, ...(iface !== undefined ? { iface } : {}) };
}

/** The sysfs and /dev roots the iscsi and dm helpers take. */
export function sysfs(deps: NodeDeps): { sysRoot?: string; devRoot?: string } {
  return { ...(deps.sysRoot !== undefined ? { sysRoot: deps.sysRoot } : {}), ...(deps.devRoot !== undefined ? { devRoot: deps.devRoot } : {}) };
}
