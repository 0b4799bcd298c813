import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseStageRecord, StageRecordStore } from './stageRecord.ts';
import type { StageRecord } from './stageRecord.ts';

const RECORD: StageRecord = {
  version: 1,
  volumeId: 'store-a/vbs-vol-abcdefghijklmnopqrstuvwxyz',
  stagingPath: '/var/lib/kubelet/plugins/x/globalmount',
  dmName: 'vbs-0123456789abcdef0123',
  target: { targetIqn: 'iqn.2026-11.io.vbs-csi:vbs-vol-abcdefghijklmnopqrstuvwxyz', portal: { ip: '10.0.0.5', port: 3260 }, lun: 0, iface: undefined },
  serial: 'c0ffee',
  access: { kind: 'mount', fsType: 'xfs', mountFlags: ['noatime'] },
  accessMode: 'SINGLE_NODE_WRITER',
  readOnly: false,
  publishedPaths: ['/var/lib/kubelet/pods/p/volumes/x/mount'],
};

const { target: _t, serial: _s, version: _v, ...base } = RECORD;
const MIRROR: StageRecord & { version: 2 } = {
  ...base,
  version: 2,
  volumeId: '@mirror/vbs-vol-abcdefghijklmnopqrstuvwxyz',
  lvId: 'vbs-vol-abcdefghijklmnopqrstuvwxyz',
  copies: [
    { slot: 0, node: 'store-a', agentAddress: '10.0.0.5:9500', target: { ...RECORD.target }, serial: 'c0ffee' },
    { slot: 1, node: 'store-b', agentAddress: '10.0.0.6:9500', target: { ...RECORD.target, portal: { ip: '10.0.0.6', port: 3260 } }, serial: 'beef' },
  ],
};

describe('StageRecordStore', () => {
  it('round-trips the record of a replicated volume (version 2) beside single-copy ones (version 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-records-'));
    try {
      const store = new StageRecordStore({ dir });
      await store.write(MIRROR);
      await store.write(RECORD);
      assert.deepEqual(await store.read(MIRROR.volumeId), MIRROR);
      assert.deepEqual(await store.read(RECORD.volumeId), RECORD);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });


  it('round-trips a record through a file named by a hash of the volume id, and removes it twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-records-'));
    try {
      const store = new StageRecordStore({ dir: join(dir, 'state') });
      assert.equal(await store.read(RECORD.volumeId), undefined);
      await store.write(RECORD);
      assert.deepEqual(await store.read(RECORD.volumeId), RECORD);
      const [file] = await readdir(join(dir, 'state'));
      assert.match(file ?? '', /^stage-[0-9a-f]{32}\.json$/);
      assert.doesNotMatch(await readFile(join(dir, 'state', file!), 'utf8'), /password|chap/i, 'no secret on disk');
      await store.remove(RECORD.volumeId);
      await store.remove(RECORD.volumeId);
      assert.equal(await store.read(RECORD.volumeId), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a record that belongs to another volume or has the wrong shape', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-records-'));
    try {
      const store = new StageRecordStore({ dir });
      await store.write(RECORD);
      const [file] = await readdir(dir);
      await writeFile(join(dir, file!), JSON.stringify({ ...RECORD, volumeId: 'store-a/other' }));
      await assert.rejects(store.read(RECORD.volumeId), /belongs to store-a\/other/);
      assert.throws(() => parseStageRecord('{"version":3}'), /unknown version/);
      assert.throws(() => parseStageRecord(JSON.stringify({ ...MIRROR, copies: [] })), /copies/);
      assert.throws(() => parseStageRecord(JSON.stringify({ ...MIRROR, copies: [{ ...MIRROR.copies[0], slot: 1 }] })), /copies\[0\]\.slot/);
      assert.throws(() => parseStageRecord(JSON.stringify({ ...RECORD, target: { ...RECORD.target, portal: { ip: 'host', port: 1 } } })), /target.portal/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
