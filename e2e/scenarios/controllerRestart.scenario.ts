import assert from 'node:assert/strict';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import { parseTargetName } from '../../src/agent/targetIdentity.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { pollUntil } from '../vm/poll.ts';
import { ControllerBed, MiB, grpcCodeOf, retryCsi } from '../support/controllerBed.ts';
import type { Scenario } from './Scenario.ts';

const BLOCK: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BURST = 20;

/**
 * The controller dies (SIGKILL) while a burst of 20 creates is in flight at the agents; a new
 * controller starts, and the CO retries every name (on ABORTED and UNAVAILABLE, as the
 * external-provisioner does). The agents' LV tags are the only record, so the end state must
 * be exactly 20 volumes, one LV per name across both VGs, each with its LIO target and no
 * target without an LV; then all 20 are deleted and nothing is left.
 *
 * Then issue 15 item 1, a storage node that does not answer is never reported unpublished or
 * deleted. The agents are discovered through a DNS name (lines of the guest's /etc/hosts, one per
 * agent, as the chart's headless Service answers only with ready pods). A published volume's agent
 * is SIGKILLed and leaves discovery: ControllerUnpublishVolume and DeleteVolume answer UNAVAILABLE
 * and the LV and the ACL are still there in lvm and configfs, also from a controller started while
 * the agent is away; back, the same calls succeed and the ACL and LV are really gone. A second
 * volume's node is then declared removed with `vbs-csi nodes remove`: unpublish and delete answer
 * OK without it, publish and get NOT_FOUND, and a restarted controller answers the same (the record
 * is a file here, a ConfigMap in the chart). Restored and back, the volume is deleted for real.
 */
export const controllerRestartScenario: Scenario = {
  name: 'controller restart mid-burst: retried creates converge on exactly one volume per name, no orphan LV or target',
  timeoutMs: 1_800_000,
  async run(ctx) {
    await ControllerBed.run(ctx, { tag: 'restart', poolMiB: [256, 256], overprovisionRatio: 5, nodePlugin: false, agentsDns: true }, async (bed) => {
      const names = Array.from({ length: BURST }, (_, i) => `pvc-restart-${String(i).padStart(2, '0')}`);
      const request = (name: string) => ({ name, capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [BLOCK], parameters: {} });

      // The burst, then SIGKILL as soon as the first LV exists: the rest are in flight.
      const first = bed.csi;
      let settled = 0;
      const outcomes = names.map((name) =>
        first.controller.createVolume(request(name)).then(
          (r) => ({ name, ok: true as const, id: r.volume?.volume_id ?? '' }),
          (err: unknown) => ({ name, ok: false as const, code: grpcCodeOf(err), message: (err as Error).message }),
        ).finally(() => settled++),
      );
      const lvsAtKill = await bed.step('burst sent; wait for the first LV', () =>
        pollUntil(
          async () => {
            if (settled === BURST) {
              const failed = (await Promise.all(outcomes)).flatMap((o) => (o.ok ? [] : [`${o.name}: ${o.message}`]));
              throw new Error(`every create of the burst ended before an LV appeared, so nothing was in flight to kill:\n  ${failed.join('\n  ')}`);
            }
            const n = (await bed.lvs()).filter((lv) => lv.tags['kind'] === 'volume').length;
            return n > 0 ? n : undefined;
          },
          { deadlineMs: Date.now() + 300_000, intervalMs: 200, what: 'the first LV of the burst', signal: ctx.signal },
        ),
      );
      await bed.step('SIGKILL the controller', () => bed.killController());
      const before = await Promise.all(outcomes);
      const succeeded = before.filter((o) => o.ok).length;
      ctx.log(`at the kill: ${lvsAtKill} LV(s) seen; the first controller answered ${succeeded} create(s), the others failed with codes ${[...new Set(before.filter((o) => !o.ok).map((o) => (o.ok ? '' : o.code)))].join(',')}`);
      assert.ok(succeeded < BURST, 'the controller died with creates still in flight');

      // A new controller; the CO retries every name until it gets an answer.
      await bed.step('a new controller sees both agents', () => bed.startController());
      const retries = new Map<number, number>();
      const retried = await bed.step(`retry all ${BURST} creates (ABORTED/UNAVAILABLE retried)`, () =>
        Promise.all(
          names.map((name) =>
            retryCsi(() => bed.csi.controller.createVolume(request(name)), {
              deadlineMs: Date.now() + 300_000,
              signal: ctx.signal,
              onRetry: (code) => retries.set(code, (retries.get(code) ?? 0) + 1),
            }),
          ),
        ),
      );
      ctx.log(`retries: ${[...retries].map(([code, n]) => `${code === grpcStatus.ABORTED ? 'ABORTED' : 'UNAVAILABLE'} ×${n}`).join(', ') || 'none'}`);
      const ids = retried.map((r) => r.volume?.volume_id ?? '');
      assert.equal(new Set(ids).size, BURST, 'twenty distinct volume ids');
      for (const o of before) {
        if (o.ok) assert.equal(ids[names.indexOf(o.name)], o.id, `${o.name}: the retry returns the volume the first controller created`);
      }

      // What lvm and LIO say: exactly one LV per name, a target for each, no other target.
      const lvs = (await bed.lvs()).filter((lv) => lv.tags['kind'] === 'volume');
      assert.deepEqual(lvs.map((lv) => lv.tags['name']).sort(), [...names].sort(), 'exactly one LV per name across both VGs');
      // A target is named `<prefix>:<LV name>.<key of the LV's uuid>` (src/agent/targetIdentity.ts): compare by the LV it names.
      const expectedTargets = lvs.map((lv) => `${bed.nodes.find((n) => n.vg === lv.vg)!.iqnPrefix}:${lv.name}`).sort();
      const targets = (await bed.inspect.lioTargets(bed.iqnPrefixes)).map(targetOfLv).sort();
      assert.deepEqual(targets, expectedTargets, 'one LIO target per LV and no orphan target');
      for (const id of ids) {
        const lv = lvs.find((x) => x.name === id.split('/')[1]);
        assert.equal(lv?.vg, bed.node(id.split('/')[0]!).vg, `${id} names the storage node whose VG holds it`);
      }
      ctx.log(`per VG: ${bed.nodes.map((n) => `${n.name} ${lvs.filter((lv) => lv.vg === n.vg).length}`).join(', ')}`);
      const listed = await bed.csi.controller.listVolumes({ max_entries: 0, starting_token: '' });
      assert.deepEqual(listed.entries.map((e) => e.volume?.volume_id).sort(), [...ids].sort(), 'ListVolumes shows the same twenty');

      await bed.step(`delete all ${BURST}`, () => Promise.all(ids.map((id) => retryCsi(() => bed.csi.controller.deleteVolume({ volume_id: id }), { deadlineMs: Date.now() + 300_000, signal: ctx.signal }))));
      assert.deepEqual(await bed.leftovers(), { lvs: [], targets: [], sessions: [] }, 'no LV, LIO target or session is left');

      await silentStorageNode(bed, ctx.signal);
    });
  },
};

const WORKER = 'iqn.2026-12.io.vbs-e2e:fence-worker';

/** Issue 15 item 1 on the real kernel (see the scenario's comment). */
async function silentStorageNode(bed: ControllerBed, signal: AbortSignal): Promise<void> {
  const csi = () => bed.csi.controller;
  const lio = new LioTarget({ configFs: new FsConfigFs() });
  const codeOf = (call: Promise<unknown>) => call.then(() => grpcStatus.OK, (err: unknown) => grpcCodeOf(err));
  const retry = <T>(fn: () => Promise<T>) => retryCsi(fn, { deadlineMs: Date.now() + 180_000, signal });
  /** The volume's LV and the initiators in its LUN's ACL, read from lvm and configfs. */
  const onDisk = async (volumeId: string) => {
    const [node, lvName] = volumeId.split('/') as [string, string];
    const lv = (await bed.lvs()).find((x) => x.name === lvName);
    const exp = (await lio.listExports()).find((e) => targetOfLv(e.targetIqn) === `${bed.node(node).iqnPrefix}:${lvName}`);
    return { lv: lv !== undefined, acl: exp?.acls.map((a) => a.initiatorIqn) ?? [] };
  };
  const publish = (volumeId: string) => csi().controllerPublishVolume({ volume_id: volumeId, node_id: WORKER, volume_capability: BLOCK, readonly: false });
  const unpublish = (volumeId: string) => csi().controllerUnpublishVolume({ volume_id: volumeId, node_id: WORKER });
  const remove = (volumeId: string) => csi().deleteVolume({ volume_id: volumeId });
  const create = async (name: string) => (await retry(() => csi().createVolume({ name, capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [BLOCK], parameters: {} }))).volume?.volume_id ?? '';
  /** Takes a node's agent down and out of discovery, and waits until the controller has seen it go. */
  const loseNode = async (node: string) => {
    const other = bed.nodes.find((n) => n.name !== node)!.name;
    await bed.step(`SIGKILL ${node}'s agent and drop it from discovery`, async () => {
      await bed.stopAgent(node);
      await bed.setDiscovered([other]);
      await pollUntil(() => (bed.controllerOutput().includes('storage agent no longer discovered') ? true : undefined), {
        deadlineMs: Date.now() + 120_000, intervalMs: 500, what: `the controller to notice ${node} left discovery`, signal,
      });
    });
    return other;
  };
  const restartController = (agents: readonly string[]) =>
    bed.step(`restart the controller (sees ${agents.join(', ')})`, async () => {
      await bed.killController();
      await bed.startController(agents);
    });

  // 1. A silent node: nothing is reported done, nothing is touched.
  const id1 = await bed.step('create and publish pvc-fence-1', async () => {
    const id = await create('pvc-fence-1');
    await retry(() => publish(id));
    return id;
  });
  const node1 = id1.split('/')[0]!;
  assert.deepEqual(await onDisk(id1), { lv: true, acl: [WORKER] }, 'published: the ACL is in configfs');
  const other1 = await loseNode(node1);
  for (const round of ['the controller that saw it leave', 'a controller started while it is away']) {
    assert.equal(await codeOf(unpublish(id1)), grpcStatus.UNAVAILABLE, `${round}: ControllerUnpublishVolume is UNAVAILABLE, not OK`);
    assert.equal(await codeOf(remove(id1)), grpcStatus.UNAVAILABLE, `${round}: DeleteVolume is UNAVAILABLE, not OK`);
    assert.deepEqual(await onDisk(id1), { lv: true, acl: [WORKER] }, `${round}: the LV and the ACL are still there`);
    if (round === 'the controller that saw it leave') await restartController([other1]);
  }
  await bed.step(`start ${node1}'s agent again and put it back in discovery`, async () => {
    await bed.startAgent(node1);
    await bed.setDiscovered(bed.nodes.map((n) => n.name));
  });
  await bed.step('unpublish and delete pvc-fence-1 (retried until the controller sees the agent)', async () => {
    await retry(() => unpublish(id1));
    assert.deepEqual(await onDisk(id1), { lv: true, acl: [] }, 'the ACL is really gone');
    await retry(() => remove(id1));
    assert.deepEqual(await onDisk(id1), { lv: false, acl: [] }, 'the LV is really gone');
  });

  // 2. A node declared removed: deletes and unpublish are OK without it, the rest NOT_FOUND, across a restart.
  const id2 = await bed.step('create and publish pvc-fence-2', async () => {
    const id = await create('pvc-fence-2');
    await retry(() => publish(id));
    return id;
  });
  const node2 = id2.split('/')[0]!;
  const other2 = await loseNode(node2);
  assert.equal(await codeOf(unpublish(id2)), grpcStatus.UNAVAILABLE, 'before the removal: UNAVAILABLE');
  const refused = await bed.cli(['nodes', 'remove', node2]);
  assert.equal(refused.exitCode, 2, 'no removal without --confirm-node-is-gone');
  const removal = await bed.cli(['nodes', 'remove', node2, '--confirm-node-is-gone', '--note', 'e2e: storage node lost']);
  assert.equal(removal.exitCode, 0, removal.stderr);
  assert.match((await bed.cli(['nodes', 'removed'])).stdout, new RegExp(`${node2}\\s+\\S+\\s+e2e: storage node lost`));
  for (const round of ['the running controller', 'a restarted controller']) {
    assert.equal(await codeOf(unpublish(id2)), grpcStatus.OK, `${round}: ControllerUnpublishVolume of a removed node's volume is OK`);
    assert.equal(await codeOf(remove(id2)), grpcStatus.OK, `${round}: DeleteVolume of a removed node's volume is OK`);
    assert.equal(await codeOf(publish(id2)), grpcStatus.NOT_FOUND, `${round}: ControllerPublishVolume is NOT_FOUND`);
    assert.equal(await codeOf(csi().controllerGetVolume({ volume_id: id2 })), grpcStatus.NOT_FOUND, `${round}: ControllerGetVolume is NOT_FOUND`);
    const listed = await csi().listVolumes({ max_entries: 0, starting_token: '' });
    assert.ok(!listed.entries.some((e) => e.volume?.volume_id === id2), `${round}: ListVolumes goes on without it`);
    if (round === 'the running controller') await restartController([other2]);
  }
  // The record is the operator's word: the bed's node was not really gone, so its LV is.
  assert.deepEqual(await onDisk(id2), { lv: true, acl: [WORKER] }, 'nothing was done on the removed node');

  // Undo: restored and back, its volume is unpublished and deleted for real.
  assert.equal((await bed.cli(['nodes', 'restore', node2])).exitCode, 0);
  await bed.step(`start ${node2}'s agent again and put it back in discovery`, async () => {
    await bed.startAgent(node2);
    await bed.setDiscovered(bed.nodes.map((n) => n.name));
  });
  await bed.step('unpublish and delete pvc-fence-2 for real', async () => {
    // Until its next poll the controller still holds the old record, where the node is removed (and its calls OK).
    await pollUntil(async () => ((await codeOf(csi().controllerGetVolume({ volume_id: id2 }))) === grpcStatus.OK ? true : undefined), {
      deadlineMs: Date.now() + 120_000, intervalMs: 500, what: `the controller to route ${node2} again`, signal,
    });
    await retry(() => unpublish(id2));
    assert.deepEqual(await onDisk(id2), { lv: true, acl: [] }, 'the ACL is really gone');
    await retry(() => remove(id2));
  });
  assert.deepEqual(await bed.leftovers(), { lvs: [], targets: [], sessions: [] }, 'nothing is left');
}

/** `<prefix>:<LV name>` of the LV a target IQN names (its uuid key dropped); the IQN itself when it is not one of ours. */
function targetOfLv(targetIqn: string): string {
  const colon = targetIqn.lastIndexOf(':');
  const parsed = parseTargetName(targetIqn.slice(colon + 1));
  return parsed ? `${targetIqn.slice(0, colon)}:${parsed.objectId}` : targetIqn;
}
