import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import { buildDmName } from '../../src/node/index.ts';
import { withCsiCluster } from '../support/csiCluster.ts';
import type { CsiCluster } from '../support/csiCluster.ts';
import { stageAndPublish, unpublishAndUnstage } from '../support/kubeletCalls.ts';
import { expectedRingFile } from '../support/ringPattern.ts';
import { startRingWriter } from '../support/ringWriter.ts';
import type { RingWriter } from '../support/ringWriter.ts';
import { createStepClock, retryingAsCo } from '../support/stepClock.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;
const EXT4_RWO: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const SLOTS = 64;
const BLOCK_BYTES = 256 * 1024;
/** The writer runs at least this long, across the restart. */
const MIN_WRITE_MS = 60_000;
/** Beyond the node's replacement_timeout (180 s, src/node/sessionSettings.ts) the pod would see errors anyway. */
const RESUME_DEADLINE_MS = 240_000;

/**
 * Issue 5 item 7, a storage node restarted under a pod's writes, through the real roles as
 * processes: an ext4 volume mounted on worker 1 takes write + fsync in a loop (a ring of known
 * blocks, its own process); the owning agent is SIGKILLed and its LIO state wiped with its LVs
 * deactivated (what a reboot leaves), then started again. The agent rebuilds the export from the
 * LV tags; the initiator's session, which queues I/O for up to replacement_timeout, logs in again
 * and the writer carries on with no I/O error. Afterwards the whole file's checksum is what the
 * writer wrote, read back from the disk, and dmesg shows no I/O or ext4 error on that disk.
 */
export const kubernetesSequenceAgentRestartScenario: Scenario = {
  name: 'kubernetes sequence: agent SIGKILLed and LIO wiped while a mounted ext4 volume is written; I/O resumes without error, data verified',
  timeoutMs: 1_800_000,
  async run(ctx) {
    const clock = retryingAsCo(createStepClock(ctx), ctx.signal);
    await withCsiCluster(ctx, clock, { vgPrefix: 'vbs-kr', iqnPrefix: 'iqn.2026-11.io.vbs-kr', workers: [{ name: 'worker-1' }] }, async (cluster) => {
      let writer: RingWriter | undefined;
      try {
        const { controller: ctl, kubeletDir, runner } = cluster;
        const w1 = cluster.workers[0]!;
        const vol = (await clock.timed('CreateVolume pvc-kr (256 MiB ext4)', () =>
          ctl.createVolume({ name: 'pvc-kr', capacity_range: { required_bytes: 256 * MiB }, volume_capabilities: [EXT4_RWO], parameters: {} }),
        )).volume!;
        const owner = vol.volume_context['storageNode']!;
        const pub = await clock.timed('ControllerPublishVolume to worker-1', () =>
          ctl.controllerPublishVolume({ volume_id: vol.volume_id, node_id: w1.nodeId, volume_capability: EXT4_RWO, readonly: false }),
        );
        const att = await stageAndPublish(clock, kubeletDir, w1, { volumeId: vol.volume_id, pvName: 'pvc-kr', podUid: 'pod-writer', capability: EXT4_RWO, publishContext: pub.publish_context });
        const disk = await diskNames(runner, buildDmName(w1.nodeId, vol.volume_id));
        clock.note(`volume ${vol.volume_id} on ${owner}; the pod's disk is ${disk.dm} over ${disk.scsi.join(', ')}`);
        const dmesgFrom = await lastKernelTimestamp(runner);

        const file = join(att.target, 'ring.bin');
        writer = startRingWriter({ projectRoot: ctx.projectRoot, workDir: ctx.workDir, file, slots: SLOTS, blockBytes: BLOCK_BYTES });
        const writingSince = performance.now();
        const w = writer;
        /** Waits until `done(progress)`, failing at once if the writer reports an error or exits. */
        const watchWriter = (done: (p: { readonly written: number }) => boolean, what: string, deadlineMs: number) =>
          pollUntil(
            () => {
              const p = w.progress();
              if (p.error !== undefined || p.exited) throw new Error(`the writer stopped: ${p.error ?? 'exited'} after ${p.written} blocks`);
              return done(p) ? p : undefined;
            },
            { deadlineMs: Date.now() + deadlineMs, intervalMs: 250, what, signal: ctx.signal },
          );
        const progressed = (atLeast: number, what: string, deadlineMs: number) => watchWriter((p) => p.written >= atLeast, what, deadlineMs);
        await clock.timed('writer: first 20 blocks of 256 KiB (write + fsync each)', () => progressed(20, 'the writer to write 20 blocks', 60_000));

        // The storage node "reboots" under the writes.
        const before = writer.progress().written;
        const restart = await clock.timed(`SIGKILL ${owner}'s agent, wipe its LIO targets, deactivate its VG, restart it until ready`, () =>
          cluster.restartAgent(owner, { wipeLio: true }),
        );
        const atReady = writer.progress().written;
        clock.note(`agent down ${restart.downMs} ms (start to ready ${restart.readyMs} ms); the writer wrote ${atReady - before} blocks meanwhile`);
        const resumed = await clock.timed('writer: 20 more blocks after the agent is back', () => progressed(atReady + 20, 'the writer to resume after the agent restart', RESUME_DEADLINE_MS));
        const health = await w1.csi.node.nodeGetVolumeHealth({ volume_id: vol.volume_id });
        assert.deepEqual(health.volume_health?.health_statuses, [], 'the node reports the volume healthy again');
        await watchWriter((p) => p.written > resumed.written && performance.now() - writingSince >= MIN_WRITE_MS, 'the writer to run its minimum time', MIN_WRITE_MS + RESUME_DEADLINE_MS);
        const end = await clock.timed('stop the writer', () => w.stop());
        writer = undefined;
        assert.equal(end.error, undefined, `the writer saw an error: ${end.error}`);
        assert.equal(end.exitCode, 0, `the writer exited with ${end.exitCode}: ${end.output}`);
        clock.note(`writer: ${end.written} blocks in ${Math.round((performance.now() - writingSince) / 1000)} s, longest write + fsync ${end.maxMs} ms (the outage)`);

        // Read back from the disk, not the page cache.
        await writeFile('/proc/sys/vm/drop_caches', '3');
        const expected = expectedRingFile(end.written, SLOTS, BLOCK_BYTES);
        const actual = await readFile(file);
        assert.equal(actual.length, expected.length, 'file length');
        assert.equal(sha256(actual), sha256(expected), 'the whole file is what the writer wrote');
        const kernel = await kernelLinesSince(runner, dmesgFrom);
        const diskNamesPattern = new RegExp(`\\b(${[basename(disk.dm), ...disk.scsi].join('|')})\\b`);
        const errors = kernel.filter((l) => (diskNamesPattern.test(l) && /error|fail|read-only/i.test(l)) || /EXT4-fs error|Buffer I\/O error|Aborting journal/i.test(l));
        ctx.log(`kernel log since the writes began (${kernel.length} lines), iSCSI lines: ${kernel.filter((l) => /connection|session|iscsi/i.test(l)).slice(0, 12).join(' | ')}`);
        assert.deepEqual(errors, [], 'no I/O or filesystem error on the disk');
        clock.note('data verified; no I/O error in dmesg');

        await unpublishAndUnstage(clock, att);
        await clock.timed('ControllerUnpublishVolume', () => ctl.controllerUnpublishVolume({ volume_id: vol.volume_id, node_id: w1.nodeId }));
        await clock.timed('DeleteVolume', () => ctl.deleteVolume({ volume_id: vol.volume_id }));
        assert.deepEqual(await cluster.findResidue(), [], 'nothing is left');
        ctx.log(`timings: ${clock.summary()}`);
      } catch (err: unknown) {
        // CI shows the end of a failure's output, where the scenario error is repeated: carry the state there.
        const state = await sessionDiagnostics(cluster).catch((diagErr: unknown) => [`diagnostics failed: ${String(diagErr)}`]);
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n${state.join('\n')}`, { cause: err });
      } finally {
        writer?.kill();
      }
    });
  },
};

/**
 * What a failed run needs to tell a dead session from a missing export: the initiator's view of
 * its sessions, the targets LIO holds, and the kernel's last iSCSI lines.
 */
async function sessionDiagnostics(cluster: CsiCluster): Promise<string[]> {
  const { runner, iqnPrefix } = cluster;
  const lines: string[] = [];
  const sessions = await runner.run({ file: 'iscsiadm', args: ['-m', 'session', '-P', '1'], timeoutMs: 30_000, okExitCodes: [0, 21] });
  const sessionLines = sessions.stdout.split('\n').filter((l) => /Target:|SID:|Session State|Connection State/.test(l)).map((l) => l.trim());
  lines.push(`initiator: ${sessionLines.join(' | ') || 'no session'}`);
  const iscsiRoot = '/sys/kernel/config/target/iscsi';
  const targets = (await readdir(iscsiRoot).catch(() => [] as string[])).filter((t) => t.startsWith(`${iqnPrefix}:`));
  for (const t of targets) {
    const tpg = join(iscsiRoot, t, 'tpgt_1');
    const enable = (await readFile(join(tpg, 'enable'), 'utf8').catch(() => '?')).trim();
    const list = (dir: string) => readdir(join(tpg, dir)).then((names) => names.join(',')).catch(() => '-');
    lines.push(`LIO ${t}: enable=${enable} np=[${await list('np')}] acls=[${await list('acls')}] luns=[${await list('lun')}]`);
  }
  if (targets.length === 0) lines.push(`LIO: no target under ${iqnPrefix}`);
  lines.push(...(await dmesgLines(runner)).filter((l) => /iscsi|connection|session|login|target/i.test(l)).slice(-8));
  return lines;
}

/** The dm device's kernel name (dm-N) and the SCSI disks under it. */
async function diskNames(runner: CommandRunner, dmName: string): Promise<{ readonly dm: string; readonly scsi: readonly string[] }> {
  // /dev/mapper/<name> is a device node of its own (the driver creates it without udev), not a link to dm-N.
  const dm = (await runner.run({ file: 'dmsetup', args: ['info', '-c', '--noheadings', '-o', 'blkdevname', dmName], timeoutMs: 30_000 })).stdout.trim();
  return { dm, scsi: await readdir(`/sys/block/${dm}/slaves`) };
}

async function dmesgLines(runner: CommandRunner): Promise<string[]> {
  return (await runner.run({ file: 'dmesg', args: [], timeoutMs: 30_000 })).stdout.split('\n');
}

function kernelTimestamp(line: string): number | undefined {
  const m = /^\[\s*(\d+\.\d+)\]/.exec(line);
  return m ? Number(m[1]) : undefined;
}

async function lastKernelTimestamp(runner: CommandRunner): Promise<number> {
  const stamps = (await dmesgLines(runner)).map(kernelTimestamp).filter((t): t is number => t !== undefined);
  return stamps[stamps.length - 1] ?? 0;
}

async function kernelLinesSince(runner: CommandRunner, since: number): Promise<string[]> {
  return (await dmesgLines(runner)).filter((l) => (kernelTimestamp(l) ?? 0) > since);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
