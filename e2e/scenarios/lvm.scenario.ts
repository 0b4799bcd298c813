import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import type { CommandRunner } from '../../src/exec/index.ts';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../../src/errors.ts';
import { LVS_FIELDS, Lvm, encodeTag } from '../../src/lvm/index.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';
import { buildAgentId } from '../../src/agentApi/ids.ts';

const VG = 'vbs-e2e-lvm';
const POOL = 'pool';
const MiB = 1024 * 1024;
/** Written to the volume and compared through snapshot and clone. */
const DATA_BYTES = 16 * MiB;
/** A CSI name LVM could never hold as is: non-ASCII, a 4-byte emoji, a slash, a space, the escape character. */
const CSI_NAME = 'pvc-ünï/cødé 名前 😀 :x';
const SNAPSHOT_NAME = 'snapshot ✓ of 名前';

/**
 * The Lvm adapter against the real lvm2 and device-mapper of the guest: a loop-file VG with a
 * thin pool, then create (size rounding, unicode tag), find by tag, write + checksum, extend
 * (and no shrink), a parked snapshot that plain activation skips and -K activates, a clone,
 * the error mapping for missing/in-use objects, tags, and removal. Every lvm call goes through
 * Lvm with an ExecaRunner, as in the agent; only the VG set-up and teardown run lvm directly.
 */
export const lvmScenario: Scenario = {
  name: 'LVM thin volumes: create, find by tag, extend, snapshot, remove on a loop-file VG',
  timeoutMs: 300_000,
  async run(ctx) {
    const runner = new ExecaRunner({ log: buildLogger(ctx) });
    const sh = (file: string, args: readonly string[], okExitCodes?: readonly number[]) =>
      runner.run({ file, args, timeoutMs: 120_000, ...(okExitCodes ? { okExitCodes } : {}) }, ctx.signal);

    const image = path.join(ctx.workDir, 'pv.img');
    await sh('truncate', ['-s', '2G', image]);
    const loop = (await sh('losetup', ['-f', '--show', image])).stdout.trim();
    ctx.log(`loop device ${loop}`);
    try {
      await sh('lvm', ['pvcreate', '-y', loop]);
      await sh('lvm', ['vgcreate', '-y', VG, loop]);
      await sh('lvm', ['lvcreate', '-y', '--type', 'thin-pool', '-L', '1G', '-n', POOL, VG]);
      await exerciseLvm(ctx, runner);
    } finally {
      await teardown(ctx, runner, loop, image);
    }
  },
};

async function exerciseLvm(ctx: ScenarioContext, runner: CommandRunner): Promise<void> {
  const { signal } = ctx;
  const lvm = new Lvm({ runner, vgName: VG, thinPoolName: POOL });

  const vg = await lvm.getVolumeGroup(signal);
  ctx.log(`VG ${vg.name}: ${vg.sizeBytes} bytes, ${vg.freeBytes} free, extent ${vg.extentSizeBytes}`);
  const pool = await lvm.getThinPool(signal);
  assert.equal(pool.health, 'ok');
  assert.equal(pool.isActive, true);
  assert.equal(pool.isZeroing, true, 'a new thin pool zeroes new blocks (docs/field-notes.md 3.6)');
  assert.equal(pool.sizeBytes, 1024 * MiB);

  // Create: the size is rounded up to whole extents and the real size comes back.
  const lvName = buildAgentId(CSI_NAME, 'volume');
  const requestedBytes = 100_000_000;
  const created = await lvm.createThinVolume({ lvName, sizeBytes: requestedBytes, tags: { name: CSI_NAME } }, signal);
  ctx.log(`created ${created.name} (${created.sizeBytes} bytes) tags ${JSON.stringify(created.rawTags)}`);
  assert.equal(created.sizeBytes % vg.extentSizeBytes, 0);
  assert.ok(created.sizeBytes >= requestedBytes && created.sizeBytes - requestedBytes < vg.extentSizeBytes);
  assert.equal(created.sizeBytes, 24 * 4 * MiB);
  assert.equal(created.isThin, true);
  assert.equal(created.isActive, true);
  assert.equal(created.pool, POOL);
  assert.deepEqual(created.rawTags, [encodeTag('name', CSI_NAME)]);
  assert.equal(await blockDeviceSize(runner, created.devicePath, signal), created.sizeBytes);

  // Find by the decoded tag, and the raw tag as lvm itself stores it.
  const found = await lvm.findVolumeByTag('name', CSI_NAME, signal);
  assert.equal(found?.uuid, created.uuid);
  assert.equal(await lvm.findVolumeByTag('name', `${CSI_NAME}!`, signal), undefined);
  const rawTags = await runner.run({ file: 'lvm', args: ['lvs', '--noheadings', '-o', 'lv_tags', `${VG}/${lvName}`], timeoutMs: 30_000 }, signal);
  assert.equal(rawTags.stdout.trim(), encodeTag('name', CSI_NAME));
  await assert.rejects(lvm.createThinVolume({ lvName, sizeBytes: requestedBytes }, signal), AlreadyExistsError);

  // Write data and remember its checksum.
  await runner.run({ file: 'dd', args: ['if=/dev/urandom', `of=${created.devicePath}`, 'bs=1M', `count=${DATA_BYTES / MiB}`, 'oflag=direct'], timeoutMs: 120_000 }, signal);
  const checksum = await checksumOf(created.devicePath);
  ctx.log(`sha256 of the first ${DATA_BYTES} bytes: ${checksum}`);

  // Extend, then ask for less: never a shrink, and no lvextend at all.
  const grown = await lvm.extendVolume(lvName, 200_000_000, signal);
  assert.equal(grown.sizeBytes, 48 * 4 * MiB);
  assert.equal(await blockDeviceSize(runner, grown.devicePath, signal), grown.sizeBytes);
  const notShrunk = await lvm.extendVolume(lvName, 50_000_000, signal);
  assert.equal(notShrunk.sizeBytes, grown.sizeBytes);
  assert.equal(await checksumOf(grown.devicePath), checksum, 'extend kept the data');

  // A parked snapshot: skip-flagged and inactive; plain -ay leaves it inactive; -K activates it.
  const snapName = buildAgentId(SNAPSHOT_NAME, 'snapshot');
  const snap = await lvm.createThinSnapshot({ sourceLv: lvName, lvName: snapName, tags: { name: SNAPSHOT_NAME }, activate: false }, signal);
  assert.equal(snap.attr.hasActivationSkip, true);
  assert.equal(snap.isActive, false);
  assert.equal(snap.origin, lvName);
  assert.equal(snap.sizeBytes, grown.sizeBytes);
  await runner.run({ file: 'lvm', args: ['lvchange', '-ay', `${VG}/${snapName}`], timeoutMs: 60_000 }, signal);
  assert.equal((await lvm.findVolume(snapName, signal))?.isActive, false, 'plain lvchange -ay skips a skip-flagged LV (docs/field-notes.md 3.5)');
  const activeSnap = await lvm.activate(snapName, signal);
  assert.equal(activeSnap.isActive, true);
  assert.equal(await checksumOf(activeSnap.devicePath), checksum, 'the snapshot holds the data');

  // Overwrite the origin: the snapshot keeps the old data.
  await runner.run({ file: 'dd', args: ['if=/dev/zero', `of=${grown.devicePath}`, 'bs=1M', 'count=1', 'oflag=direct', 'conv=notrunc'], timeoutMs: 60_000 }, signal);
  assert.notEqual(await checksumOf(grown.devicePath), checksum);
  assert.equal(await checksumOf(activeSnap.devicePath), checksum, 'the snapshot is independent of its origin');

  // A clone from the snapshot (a restore): active, no skip flag, same data.
  const cloneName = buildAgentId(`${CSI_NAME}-restored`, 'volume');
  const clone = await lvm.createThinSnapshot({ sourceLv: snapName, lvName: cloneName, tags: { name: `${CSI_NAME}-restored` }, activate: true }, signal);
  assert.equal(clone.isActive, true);
  assert.equal(clone.attr.hasActivationSkip, false);
  assert.equal(await checksumOf(clone.devicePath), checksum, 'the clone holds the snapshot data');

  // Errors from the real binary map to the domain errors the services expect.
  assert.equal(await lvm.findVolume('vbs-vol-does-not-exist', signal), undefined);
  await lvm.removeVolume('vbs-vol-does-not-exist', signal);
  await assert.rejects(lvm.extendVolume('vbs-vol-does-not-exist', 8 * MiB, signal), NotFoundError);
  await assert.rejects(lvm.createThinSnapshot({ sourceLv: 'vbs-vol-does-not-exist', lvName: 'x', activate: false }, signal), NotFoundError);
  await assert.rejects(new Lvm({ runner, vgName: VG, thinPoolName: 'nopool' }).createThinVolume({ lvName: 'x', sizeBytes: MiB }, signal), FailedPreconditionError);
  await assert.rejects(new Lvm({ runner, vgName: 'vbs-e2e-no-such-vg', thinPoolName: POOL }).removeVolume('x', signal), FailedPreconditionError);
  const holder = await open(clone.devicePath, 'r');
  try {
    await assert.rejects(lvm.removeVolume(cloneName, signal), FailedPreconditionError, 'an open LV is not removed');
  } finally {
    await holder.close();
  }

  // Tags: replace a value, add one, delete one.
  const tagged = await lvm.addTags(lvName, { name: CSI_NAME, note: 'a b/c' }, signal);
  assert.deepEqual(tagged.tags, { name: CSI_NAME, note: 'a b/c' });
  assert.deepEqual((await lvm.deleteTags(lvName, ['note'], signal)).tags, { name: CSI_NAME });

  const listed = (await lvm.listVolumes({}, signal)).map((lv) => lv.name).sort();
  assert.deepEqual(listed, [cloneName, lvName, snapName].sort());
  await logReport(ctx, runner);

  // Remove everything through the adapter; a second remove is a no-op.
  for (const name of [cloneName, snapName, lvName]) {
    await lvm.removeVolume(name, signal);
    await lvm.removeVolume(name, signal);
    assert.equal(await lvm.findVolume(name, signal), undefined);
  }
  assert.deepEqual(await lvm.listVolumes({}, signal), []);
}

/** The lvs report Lvm parses, logged so new fixtures can be taken from a real run. */
async function logReport(ctx: ScenarioContext, runner: CommandRunner): Promise<void> {
  const args = ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', LVS_FIELDS.join(','), VG];
  const { stdout } = await runner.run({ file: 'lvm', args, timeoutMs: 30_000 }, ctx.signal);
  ctx.log(`lvm ${args.join(' ')}:\n${stdout}`);
}

/** Best effort, every step on its own: a failed scenario must not leave a VG or loop device behind. */
async function teardown(ctx: ScenarioContext, runner: CommandRunner, loop: string, image: string): Promise<void> {
  const steps: Array<[string, string[]]> = [
    ['lvm', ['lvremove', '-y', VG]],
    ['lvm', ['vgremove', '-y', VG]],
    ['lvm', ['pvremove', '-y', loop]],
    ['losetup', ['-d', loop]],
  ];
  for (const [file, args] of steps) {
    try {
      await runner.run({ file, args, timeoutMs: 60_000 });
    } catch (err: unknown) {
      ctx.log(`teardown: ${file} ${args.join(' ')} failed: ${(err as Error).message}`);
    }
  }
  await rm(image, { force: true });
}

async function blockDeviceSize(runner: CommandRunner, device: string, signal: AbortSignal): Promise<number> {
  return Number((await runner.run({ file: 'blockdev', args: ['--getsize64', device], timeoutMs: 30_000 }, signal)).stdout.trim());
}

/** sha256 of the first DATA_BYTES of a device. */
async function checksumOf(device: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(device, { start: 0, end: DATA_BYTES - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A pino logger whose lines (one per exec, with redacted argv and duration) go to the scenario log. */
function buildLogger(ctx: ScenarioContext) {
  return pino({ level: 'debug', base: null, timestamp: false }, { write: (line: string) => ctx.log(line.trim()) });
}
