import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailedPreconditionError } from '../errors.ts';
import { MAX_TAG_LENGTH, encodeTag } from '../lvm/index.ts';
import type { LvTags } from '../lvm/index.ts';
import { InMemoryLvm } from './testing/InMemoryLvm.ts';
import { buildAclTag, buildSnapshotTags, buildVolumeTags, classifyLv, parseSnapshotRecord, parseVolumeRecord } from './volumeTags.ts';
import { buildAgentId } from '../agentApi/ids.ts';

const MiB = 1024 * 1024;
const VOL = buildAgentId('pvc-1', 'volume');
const SNAP = buildAgentId('snap-1', 'snapshot');
const CREATED = new Date('2026-11-23T12:00:00.000Z');
const lvWith = (name: string, tags: LvTags, thin = true) => new InMemoryLvm().seed({ name, sizeBytes: 8 * MiB, thin, tags });

describe('volumeTags', () => {
  test('a volume round-trips through its tags: name, time, provisioning, source and initiators', () => {
    const a = buildAclTag({ iqn: 'iqn.1993-08.org.debian:01:node-b', readOnly: true, mutualChap: false });
    const b = buildAclTag({ iqn: 'iqn.1993-08.org.debian:01:node-a', readOnly: false, mutualChap: true });
    const tags = {
      ...buildVolumeTags({ name: 'pvc-1 ünïcode/😀', createdAt: CREATED, thin: true, contentSource: { kind: 'snapshot', id: SNAP }, sizeBytes: 200 * MiB }),
      [a.key]: a.value,
      [b.key]: b.value,
    };
    const record = parseVolumeRecord(lvWith(VOL, tags));
    assert.equal(record?.name, 'pvc-1 ünïcode/😀');
    assert.deepEqual(record?.createdAt, CREATED);
    assert.equal(record?.thin, true);
    assert.deepEqual(record?.contentSource, { kind: 'snapshot', id: SNAP });
    assert.equal(record?.requestedSizeBytes, 200 * MiB, 'the size the lvextend after lvcreate -s must reach');
    assert.deepEqual(record?.initiators, [
      { iqn: 'iqn.1993-08.org.debian:01:node-a', readOnly: false, mutualChap: true },
      { iqn: 'iqn.1993-08.org.debian:01:node-b', readOnly: true, mutualChap: false },
    ]);
  });

  test('a snapshot round-trips with its source volume', () => {
    const record = parseSnapshotRecord(lvWith(SNAP, buildSnapshotTags({ name: 'snap-1', createdAt: CREATED, sourceVolumeId: VOL })));
    assert.deepEqual({ ...record, lv: undefined }, { id: SNAP, name: 'snap-1', sourceVolumeId: VOL, sizeBytes: 8 * MiB, createdAt: CREATED, mirror: undefined, lv: undefined });
  });

  test('one ACL tag per initiator: the key is a hash of the IQN, the flags are in the value', () => {
    const ro = buildAclTag({ iqn: 'iqn.1993-08.org.debian:01:node-a', readOnly: true, mutualChap: true });
    const rw = buildAclTag({ iqn: 'iqn.1993-08.org.debian:01:node-a', readOnly: false, mutualChap: false });
    assert.equal(ro.key, rw.key);
    assert.match(ro.key, /^acl\.[0-9a-f]{16}$/);
    assert.equal(ro.value, 'ro.mutual.iqn.1993-08.org.debian:01:node-a');
    assert.equal(rw.value, 'rw.chap.iqn.1993-08.org.debian:01:node-a');
  });

  test('the longest IQN still fits one LVM tag', () => {
    const iqn = `iqn.2026-11.io.example:${'a:'.repeat(99)}zz`;
    assert.equal(iqn.length, 223);
    const tag = buildAclTag({ iqn, readOnly: true, mutualChap: true });
    assert.ok(encodeTag(tag.key, tag.value).length < MAX_TAG_LENGTH);
  });

  test('an LV counts as ours only with our name shape and a matching kind tag', () => {
    const cases: Array<{ name: string; lv: ReturnType<typeof lvWith>; want: ReturnType<typeof classifyLv> }> = [
      { name: 'a volume', lv: lvWith(VOL, { kind: 'volume', name: 'x' }), want: 'volume' },
      { name: 'a snapshot', lv: lvWith(SNAP, { kind: 'snapshot', name: 'x' }), want: 'snapshot' },
      { name: 'an operator LV without tags', lv: lvWith('data', {}), want: undefined },
      { name: 'our tag on a foreign name', lv: lvWith('data', { kind: 'volume' }), want: undefined },
      { name: 'a kind that disagrees with the name', lv: lvWith(VOL, { kind: 'snapshot' }), want: undefined },
    ];
    for (const c of cases) assert.equal(classifyLv(c.lv), c.want, c.name);
    assert.equal(parseVolumeRecord(lvWith('data', {})), undefined);
  });

  test('the requested size is written only for a volume made from a content source', () => {
    assert.equal(buildVolumeTags({ name: 'v', createdAt: CREATED, thin: true, contentSource: undefined, sizeBytes: MiB })['requested-size'], undefined);
    assert.equal(parseVolumeRecord(lvWith(VOL, buildVolumeTags({ name: 'v', createdAt: CREATED, thin: true, contentSource: undefined })))?.requestedSizeBytes, undefined);
  });

  test('tags that are ours but make no sense are a FAILED_PRECONDITION naming the LV', () => {
    const acl = buildAclTag({ iqn: 'iqn.1993-08.org.debian:01:node-a', readOnly: false, mutualChap: false });
    const cases: Array<{ name: string; tags: LvTags }> = [
      { name: 'no name', tags: { kind: 'volume' } },
      { name: 'a half source', tags: { kind: 'volume', name: 'x', 'source-kind': 'snapshot' } },
      { name: 'a source of the wrong shape', tags: { kind: 'volume', name: 'x', 'source-kind': 'snapshot', 'source-id': VOL } },
      { name: 'a requested size that is no size', tags: { kind: 'volume', name: 'x', 'requested-size': '0x10' } },
      { name: 'a bad time', tags: { kind: 'volume', name: 'x', created: 'yesterday' } },
      { name: 'bad ACL flags', tags: { kind: 'volume', name: 'x', [acl.key]: acl.value.replace('rw.', 'rx.') } },
      { name: 'an ACL under another IQN\'s key', tags: { kind: 'volume', name: 'x', [acl.key]: 'rw.chap.iqn.1993-08.org.debian:01:node-b' } },
    ];
    for (const c of cases) {
      assert.throws(() => parseVolumeRecord(lvWith(VOL, c.tags)), (err: unknown) => err instanceof FailedPreconditionError && err.message.includes(VOL), c.name);
    }
  });
});
