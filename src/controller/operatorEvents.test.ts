import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AgentVolume, StorageNodeStatus } from '../agentApi/types.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { formatObjectId } from '../csi/volumeIds.ts';
import { UnavailableError } from '../errors.ts';
import { KubeEventRecorder } from '../kube/eventRecorder.ts';
import type { EventToRecord } from '../kube/eventRecorder.ts';
import { loadKubeClient } from '../kube/kubeClient.ts';
import type { KubeClient } from '../kube/kubeClient.ts';
import { listCsiNodeIds } from '../kube/listCsiNodeIds.ts';
import { FakeKubeApi } from '../kube/testing/FakeKubeApi.ts';
import { captureLog } from '../../test/cluster/controllerHarness.ts';
import { ControllerService } from './ControllerService.ts';
import { StorageNodes } from './StorageNodes.ts';
import { duplicateNodeIdGuard } from './nodeIdGuard.ts';
import { kubeOperatorEvents } from './operatorEvents.ts';
import { UnusedStorageAgent } from './testing/UnusedStorageAgent.ts';

const GiB = 1024 ** 3;
const WORKER = 'iqn.1993-08.org.debian:01:worker-1';
const VOLUME_ID = buildAgentId('pvc-1', 'volume');

/** One storage node: its status, its one volume published to WORKER, and an unexport that may fail. */
class OneVolumeAgent extends UnusedStorageAgent {
  health = 'ok';
  down: string | undefined;
  unexportFails: string | undefined;
  unexported: string[] = [];
  readonly name: string;
  constructor(name: string) {
    super('the operator Events tests');
    this.name = name;
  }
  override async getNodeStatus(): Promise<StorageNodeStatus> {
    if (this.down !== undefined) throw new UnavailableError(this.down);
    return { name: this.name, ready: true, labels: {}, extentSizeBytes: 4 << 20, thinAllocatableBytes: GiB, vgFreeBytes: GiB, thinPoolHealth: this.health, utilization: 0, averageLatencyMs: 0, volumeCount: 1 };
  }
  override getVolume = async (): Promise<AgentVolume> => {
    return {
      id: VOLUME_ID, name: 'pvc-1', sizeBytes: GiB, thin: true, contentSource: undefined, createdAt: new Date(0),
      target: { iqn: 'iqn.2026-11.io.vbs-csi:x', portal: { ip: '10.0.0.1', port: 3260 }, lun: 0, serial: 's' },
      initiators: [{ iqn: WORKER, readOnly: false }] as unknown as AgentVolume['initiators'],
    };
  };
  override unexportVolume = async (req: { volumeId: string; initiatorIqn: string }): Promise<void> => {
    if (this.unexportFails !== undefined) throw new UnavailableError(this.unexportFails);
    this.unexported.push(req.initiatorIqn);
  };
}

describe('operator Events, written to a fake API server', () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  before(async () => {
    api = await FakeKubeApi.start();
    kube = await loadKubeClient({ kind: 'file', path: api.kubeconfigPath });
  });
  after(async () => api.close());
  beforeEach(() => {
    api.events.clear();
    api.csiNodes = [{ node: 'worker-node-1', drivers: [{ name: 'vbs.csi.io', nodeID: WORKER }] }];
  });
  const eventsIn = () =>
    [...api.events.values()].map((e) => ({ on: (e['involvedObject'] as { name: string }).name, reason: e['reason'] as string, message: e['message'] as string, count: e['count'] as number }));

  function setup() {
    const recorder = new KubeEventRecorder(kube, { component: 'vbs.csi.io/controller', instance: 'test', repeatWriteIntervalMs: 0 });
    const events = kubeOperatorEvents(recorder, { workerOf: async (id) => (await listCsiNodeIds(kube, 'vbs.csi.io')).find((r) => r.nodeId === id)?.node });
    const agent = new OneVolumeAgent('store-a');
    const { log } = captureLog();
    const nodes = new StorageNodes({ discover: async () => ['a:9500'], connect: () => agent, log, events });
    const service = new ControllerService({ nodes, log, statusMaxAgeMs: 10_000, events });
    return { recorder, agent, nodes, service };
  }

  it('a thin pool over its limit and an unreachable storage node: a Warning on its Node, repeats counted in one Event', async () => {
    const { recorder, agent, nodes } = setup();
    agent.health = 'data 91% at or over the 90% limit';
    await nodes.refresh();
    await nodes.refresh();
    agent.down = 'connect ECONNREFUSED 10.0.0.1:9500';
    await nodes.refresh();
    await recorder.flush();
    const got = eventsIn().sort((a, b) => a.reason.localeCompare(b.reason));
    assert.deepEqual(got.map((e) => [e.on, e.reason, e.count]), [['store-a', 'StorageNodeUnreachable', 1], ['store-a', 'ThinPoolOverLimit', 2]]);
    assert.match(got[1]?.message ?? '', /storage node store-a: the thin pool takes no new thin volumes \(data 91% at or over the 90% limit\); free space .* or extend the pool \(lvextend\)/);
    assert.match(got[0]?.message ?? '', /storage node store-a is not answering \(at a:9500: connect ECONNREFUSED 10\.0\.0\.1:9500\).*vbs-csi nodes remove store-a --confirm-node-is-gone/);
    recorder.stop();
    nodes.stop();
  });

  it('ControllerUnpublishVolume that cannot remove the ACL: FenceNotApplied on the worker\'s Node, the call still fails', async () => {
    const { recorder, agent, nodes, service } = setup();
    await nodes.refresh();
    agent.unexportFails = 'writing /sys/kernel/config/target/iscsi/.../acls: timed out after 30 s';
    await assert.rejects(service.unpublishVolume(formatObjectId({ node: 'store-a', id: VOLUME_ID }), WORKER), UnavailableError);
    // The Event waits for the CSINode lookup of the worker.
    for (let i = 0; i < 300 && !eventsIn().some((e) => e.reason === 'FenceNotApplied'); i++) await new Promise((r) => setTimeout(r, 10));
    const fence = eventsIn().find((e) => e.reason === 'FenceNotApplied');
    assert.equal(fence?.on, 'worker-node-1');
    assert.match(fence?.message ?? '', new RegExp(`could not remove the ACL of ${WORKER} on storage node store-a: writing /sys/kernel/config/target/iscsi/\\.\\.\\./acls: timed out after 30 s; that worker may still read and write the volume`));

    // Once it works there is no new Event.
    agent.unexportFails = undefined;
    api.events.clear();
    await service.unpublishVolume(formatObjectId({ node: 'store-a', id: VOLUME_ID }), WORKER);
    await recorder.flush();
    assert.deepEqual(agent.unexported, [WORKER]);
    assert.deepEqual(eventsIn(), []);
    recorder.stop();
    nodes.stop();
  });

  it('duplicate initiator names: DuplicateInitiatorName on each Node that registered it', async () => {
    api.csiNodes = [
      { node: 'worker-1', drivers: [{ name: 'vbs.csi.io', nodeID: WORKER }] },
      { node: 'worker-2', drivers: [{ name: 'vbs.csi.io', nodeID: WORKER }] },
    ];
    const recorder = new KubeEventRecorder(kube, { component: 'vbs.csi.io/controller', instance: 'test' });
    const events = kubeOperatorEvents(recorder);
    const guard = duplicateNodeIdGuard({ list: () => listCsiNodeIds(kube, 'vbs.csi.io'), onDuplicate: events.duplicateNodeId });
    await assert.rejects(guard.checkUnique(WORKER), /registered by 2 Kubernetes nodes/);
    await recorder.flush();
    const got = eventsIn().sort((a, b) => a.on.localeCompare(b.on));
    assert.deepEqual(got.map((e) => [e.on, e.reason]), [['worker-1', 'DuplicateInitiatorName'], ['worker-2', 'DuplicateInitiatorName']]);
    assert.match(got[0]?.message ?? '', new RegExp(`initiator name ${WORKER} .* is registered by worker-1 and worker-2`));
    recorder.stop();
  });

  it('a fence Event goes on the storage node when the worker cannot be found; no secret-shaped text is added', async () => {
    const recorded: EventToRecord[] = [];
    const events = kubeOperatorEvents({ record: (e) => recorded.push(e) }, { workerOf: async () => { throw new Error('API down'); } });
    events.fenceNotApplied({ volumeId: 'store-a/vbs-vol-x', nodeId: WORKER, storageNode: 'store-a', error: 'boom' });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(recorded[0]?.regarding.name, 'store-a');
    assert.doesNotMatch(JSON.stringify(recorded), /password|secret|chap/i);
  });
});
