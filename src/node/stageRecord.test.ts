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

describe('StageRecordStore', () => {
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
      assert.throws(() => parseStageRecord('{"version":2}'), /unknown version/);
      assert.throws(() => parseStageRecord(JSON.stringify({ ...RECORD, target: { ...RECORD.target, portal: { ip: 'host', port: 1 } } })), /target.portal/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
