import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { OperationPendingError, UnavailableError } from '../../src/errors.ts';
import { readInitiatorName, waitForSessionDisk } from '../../src/iscsi/index.ts';
import type { IscsiTarget, SessionSettings } from '../../src/iscsi/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordChap } from '../support/secretLedger.ts';
import { exportForLogin } from '../support/exportForLogin.ts';
import { inProcessAgent } from '../support/inProcessAgent.ts';
import type { Scenario } from './Scenario.ts';

const VG = 'vbs-stuck';
const PORTAL = { ip: '127.0.0.3', port: 3260 };
const IQN_PREFIX = 'iqn.2026-11.io.vbs-e2e-stuck';
const MiB = 1024 * 1024;
const UNEXPORT_DEADLINE_MS = 3_000;
/** Fail the stuck write upward soon once its target is gone, so the guest's dd ends. */
const SESSION: SessionSettings = { replacementTimeoutS: 5, noopOutIntervalS: 1, noopOutTimeoutS: 2, loginTimeoutS: 10, initialLoginRetryMax: 1 };

/**
 * DeleteVolume whose unexport the kernel blocks, on the real kernel (AgentVolumes.deleteVolume).
 * LIO removes a LUN only once its outstanding commands have completed, so a write the backing LV
 * never finishes holds the configfs writes of the unexport. Made here by suspending the LV's dm
 * device (`dmsetup suspend`: new I/O queues until resume) and writing to the volume through a live
 * session; LIO's port statistics (in_cmds) show the write arrived before the delete starts.
 *  1. DeleteVolume answers UNAVAILABLE after the agent's unexport deadline, not when the kernel lets go;
 *  2. meanwhile another volume is created and expanded (the VG lock is not held), and the same
 *     volume's retry is ABORTED (its lock is);
 *  3. once the LV resumes, the removal ends and the retried delete removes target and LV.
 */
export const agentStuckUnexportScenario: Scenario = {
  name: 'agent stuck unexport: a target the kernel cannot remove (its LV suspended under a write) makes DeleteVolume answer UNAVAILABLE at the deadline while other volumes change; after resume the retry deletes it',
  timeoutMs: 300_000,
  async run(ctx) {
    const { signal } = ctx;
    const { runner, sh, lvm, lio, iscsiadm, agent } = inProcessAgent(ctx, { vg: VG, portal: PORTAL, iqnPrefix: IQN_PREFIX, unexportDeadlineMs: UNEXPORT_DEADLINE_MS });
    const initiator = await readInitiatorName();
    let disk: LoopVolumeGroup | undefined;
    let suspended: string | undefined;
    let it: IscsiTarget | undefined;
    const ids: string[] = [];
    try {
      disk = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: VG, fileMiB: 256, poolMiB: 128, signal });
      await agent.reconcile(signal);
      const vol = await agent.createVolume({ name: 'pvc-stuck', sizeBytes: 16 * MiB, thick: false }, signal);
      ids.push(vol.id);
      const { chap } = await exportForLogin(agent, { volumeId: vol.id, initiatorIqn: initiator, readOnly: false, mutualChap: true }, signal);
      recordChap('exported by the stuck-unexport agent', chap);
      it = { targetIqn: vol.target.iqn, portal: vol.target.portal };
      await iscsiadm.ensureNodeRecord({ target: it, chap, settings: SESSION }, signal);
      await iscsiadm.login(it, signal);
      const session = await iscsiadm.findSession(it, signal);
      assert.ok(session, 'logged in');
      const device = await waitForSessionDisk(session.sid, vol.target.lun, { deadlineMs: 30_000, pollMs: 100, signal });
      ctx.log(`logged in: ${device}`);

      // The write LIO cannot finish: the LV's dm device suspended, then a write through the session.
      const dmPath = (await sh('lvm', ['lvs', '--noheadings', '-o', 'lv_dm_path', `${VG}/${vol.id}`])).stdout.trim();
      suspended = basename(dmPath);
      const inCmds = `/sys/kernel/config/target/iscsi/${vol.target.iqn}/tpgt_1/lun/lun_0/statistics/scsi_tgt_port/in_cmds`;
      const before = Number((await readFile(inCmds, 'utf8')).trim());
      await sh('dmsetup', ['suspend', suspended]);
      const write = sh('dd', ['if=/dev/zero', `of=${device}`, 'bs=4096', 'count=1', 'oflag=direct'], 240_000).then(
        () => 'completed',
        (err: unknown) => `failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      );
      await pollUntil(async () => Number((await readFile(inCmds, 'utf8')).trim()) > before, 30_000, 'the write never reached the target');
      ctx.log(`the write reached LIO (in_cmds ${before} → more) and waits on the suspended ${suspended}`);

      // 1. The delete answers at its deadline.
      const started = performance.now();
      await assert.rejects(agent.deleteVolume(vol.id, signal), (err: unknown) => err instanceof UnavailableError && /has not finished after 3 s/.test(err.message));
      const answeredMs = performance.now() - started;
      assert.ok(answeredMs < UNEXPORT_DEADLINE_MS + 10_000, `DeleteVolume answered after ${Math.round(answeredMs)} ms, not at its ${UNEXPORT_DEADLINE_MS} ms deadline`);
      ctx.log(`DeleteVolume answered UNAVAILABLE after ${Math.round(answeredMs)} ms; the removal goes on in the kernel`);

      // 2. Other volumes change meanwhile; the same volume waits.
      const other = await agent.createVolume({ name: 'pvc-other', sizeBytes: 8 * MiB, thick: false }, signal);
      ids.push(other.id);
      assert.equal((await agent.expandVolume(other.id, 16 * MiB, signal)).sizeBytes, 16 * MiB);
      await assert.rejects(agent.deleteVolume(vol.id, signal), OperationPendingError, 'the retry is ABORTED while the removal runs');
      assert.ok(await lvm.findVolume(vol.id, signal, { maxAgeMs: 0 }), 'no lvremove under a target that may still hold the LV');
      ctx.log('another volume was created and expanded meanwhile; the stuck volume\'s retry was ABORTED');

      // 3. The LV resumes: the write completes, the removal ends, the retry deletes.
      await sh('dmsetup', ['resume', suspended]);
      suspended = undefined;
      ctx.log(`the guest's write ${await write}`);
      await pollUntil(
        async () => {
          try {
            await agent.deleteVolume(vol.id, signal);
            return true;
          } catch (err: unknown) {
            if (err instanceof OperationPendingError) return false;
            throw err;
          }
        },
        60_000,
        'the retried delete never went through after the LV resumed',
      );
      assert.equal(await lio.readExport(vol.target.iqn), undefined, 'the target is gone');
      assert.equal(await lvm.findVolume(vol.id, signal, { maxAgeMs: 0 }), undefined, 'the LV is gone');
      ctx.log('after resume the retried delete removed target and LV');
    } finally {
      if (suspended) await sh('dmsetup', ['resume', suspended]).catch((err: unknown) => ctx.log(`resume: ${String(err)}`));
      if (it) {
        await iscsiadm.logout(it, signal).catch((err: unknown) => ctx.log(`logout: ${String(err)}`));
        await iscsiadm.deleteNodeRecord(it, signal).catch((err: unknown) => ctx.log(`delete record: ${String(err)}`));
      }
      for (const id of ids.reverse()) await agent.deleteVolume(id, signal).catch((err: unknown) => ctx.log(`delete ${id}: ${String(err)}`));
      await disk?.destroy(ctx.log);
    }

    async function pollUntil(check: () => Promise<boolean>, deadlineMs: number, message: string): Promise<void> {
      const end = Date.now() + deadlineMs;
      while (!(await check())) {
        if (Date.now() > end) throw new Error(message);
        await new Promise((resolve) => setTimeout(resolve, 100));
        signal.throwIfAborted();
      }
    }
  },
};
