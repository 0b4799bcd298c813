import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { RecordingZeroer } from '../testing/RecordingZeroer.ts';
import { ZeroingJobs } from './ZeroingJobs.ts';

const MiB = 1024 * 1024;
const log = pino({ level: 'silent' });
const task = { id: 'vbs-vol-x', lvUuid: 'u1', devicePath: '/dev/vg0/vbs-vol-x', fromBytes: 8 * MiB, toBytes: 28 * MiB };

describe('ZeroingJobs', () => {
  test('zeroes the range chunk by chunk, then runs finish', async () => {
    const journal: string[] = [];
    const jobs = new ZeroingJobs({ zeroer: new RecordingZeroer(journal), log, chunkBytes: 8 * MiB });
    const job = jobs.ensure(task, async () => void journal.push('finish'));
    await job.done;
    assert.deepEqual(journal, [`zero /dev/vg0/vbs-vol-x ${8 * MiB}+${8 * MiB}`, `zero /dev/vg0/vbs-vol-x ${16 * MiB}+${8 * MiB}`, `zero /dev/vg0/vbs-vol-x ${24 * MiB}+${4 * MiB}`, 'finish']);
    assert.equal(job.zeroedBytes(), 20 * MiB);
    assert.equal(jobs.isRunning(task.id), false, 'forgotten once done');
  });

  test('a second ensure of the same task joins the running job', async () => {
    const zeroer = new RecordingZeroer();
    const jobs = new ZeroingJobs({ zeroer, log });
    const held = zeroer.hold();
    const a = jobs.ensure(task, async () => {});
    const b = jobs.ensure(task, async () => {});
    assert.equal(a, b);
    held.release();
    await a.done;
    assert.equal(zeroer.journal.length, 1);
  });

  test('cancel stops between chunks, never runs finish, and waits for the job to let go', async () => {
    const zeroer = new RecordingZeroer();
    const jobs = new ZeroingJobs({ zeroer, log, chunkBytes: 4 * MiB });
    const held = zeroer.hold();
    let finished = false;
    const job = jobs.ensure(task, async () => void (finished = true));
    await held.entered;
    await jobs.cancel(task.id);
    await assert.rejects(job.done, /cancelled/);
    assert.equal(finished, false);
    assert.deepEqual(zeroer.journal, []);
    assert.equal(jobs.isRunning(task.id), false);
  });

  test('a failure rejects the job and forgets it, so the next ensure starts over', async () => {
    const zeroer = new RecordingZeroer();
    const jobs = new ZeroingJobs({ zeroer, log });
    zeroer.failNext(new Error('EIO'));
    await assert.rejects(jobs.ensure(task, async () => {}).done, /EIO/);
    await jobs.ensure(task, async () => {}).done;
    assert.equal(zeroer.journal.length, 1);
  });
});
