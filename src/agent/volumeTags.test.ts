import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailedPreconditionError } from '../errors.ts';
import { MAX_TAG_LENGTH, encodeTag } from '../lvm/index.ts';
import type { LvTags } from '../lvm/index.ts';
import { InMemoryLvm } from './testing/InMemoryLvm.ts';
import { buildAclTag, buildMirrorRecordTags, buildMirrorTags, buildSnapshotTags, buildVolumeTags, classifyLv, parseMirror, parseSnapshotRecord, parseVolumeRecord } from './volumeTags.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { MAX_STORAGE_NODE_NAME } from '../csi/volumeIds.ts';
import { MIRROR_HEADER_BYTES } from '../replication/mirrorRecord.ts';
import type { AgentMirror } from '../agentApi/types.ts';

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

  describe('the mirror tags of a copy of a replicated volume', () => {
    const MIRROR: AgentMirror = {
      slot: 1,
      headerBytes: MIRROR_HEADER_BYTES,
      record: { generation: 7, copies: [{ node: 'store-a', inSync: true }, { node: 'store-b.zone-1', inSync: false }, { node: 'store-c', inSync: true }], regionBytes: 4 * MiB },
    };
    const base = buildVolumeTags({ name: 'pvc-1', createdAt: CREATED, thin: true, contentSource: undefined });
    const copyLv = (tags: LvTags) => new InMemoryLvm().seed({ name: VOL, sizeBytes: MIRROR_HEADER_BYTES + 8 * MiB, tags: { ...base, ...tags } });

    test('round-trip: slot, header and record; sizeBytes is the LV less the header', () => {
      const tags = buildMirrorTags(MIRROR);
      assert.deepEqual(tags, {
        'mirror.slot': '1', 'mirror.header': String(MIRROR_HEADER_BYTES), 'mirror.generation': '7', 'mirror.region': String(4 * MiB),
        'mirror.copy0': 'in-sync.store-a', 'mirror.copy1': 'out-of-sync.store-b.zone-1', 'mirror.copy2': 'in-sync.store-c',
      });
      const record = parseVolumeRecord(copyLv(tags));
      assert.deepEqual(record?.mirror, MIRROR);
      assert.equal(record?.sizeBytes, 8 * MiB);
      assert.equal(record?.lv.sizeBytes, MIRROR_HEADER_BYTES + 8 * MiB);
      assert.equal(parseVolumeRecord(copyLv({}))?.mirror, undefined, 'no mirror tags: a single-copy volume');
      assert.equal(parseVolumeRecord(copyLv({}))?.sizeBytes, MIRROR_HEADER_BYTES + 8 * MiB);
    });

    test('a snapshot of a copy carries the copy\'s tags and reports the data size', () => {
      const lv = new InMemoryLvm().seed({ name: SNAP, sizeBytes: MIRROR_HEADER_BYTES + 8 * MiB, tags: buildSnapshotTags({ name: 's', createdAt: CREATED, sourceVolumeId: VOL, mirror: MIRROR }) });
      const snap = parseSnapshotRecord(lv);
      assert.deepEqual(snap?.mirror, MIRROR);
      assert.equal(snap?.sizeBytes, 8 * MiB);
    });

    test('a record\'s tags have the same keys for the same copies, so one --deltag/--addtag lvchange replaces it', () => {
      const next = { ...MIRROR.record, generation: 8, copies: MIRROR.record.copies.map((c) => ({ ...c, inSync: true })) };
      assert.deepEqual(Object.keys(buildMirrorRecordTags(next)), Object.keys(buildMirrorRecordTags(MIRROR.record)));
    });

    test('three copies on nodes of the longest name still fit, each tag far within LVM\'s limit', () => {
      const long = (c: string) => `${c}${'a'.repeat(MAX_STORAGE_NODE_NAME - 1)}`;
      const copies = [{ node: long('x'), inSync: true }, { node: long('y'), inSync: false }, { node: long('z'), inSync: false }];
      const mirror: AgentMirror = { ...MIRROR, record: { ...MIRROR.record, copies } };
      for (const [key, value] of Object.entries(buildMirrorTags(mirror))) {
        const tag = encodeTag(key, value);
        assert.ok(tag.length < 200, `${tag} is ${tag.length} characters`);
        assert.ok(!tag.includes(':'), `${tag} needs no escape: readable in lvs -o tags`);
      }
      assert.deepEqual(parseMirror(copyLv(buildMirrorTags(mirror))), mirror);
    });

    test('a partial, inconsistent or invalid set is a FAILED_PRECONDITION naming the LV, never a single-copy volume', () => {
      const good = buildMirrorTags(MIRROR);
      const without = (key: string): LvTags => Object.fromEntries(Object.entries(good).filter(([k]) => k !== key));
      const cases: Array<{ name: string; tags: LvTags }> = [
        { name: 'no slot', tags: without('mirror.slot') },
        { name: 'no header', tags: without('mirror.header') },
        { name: 'no generation', tags: without('mirror.generation') },
        { name: 'no region', tags: without('mirror.region') },
        { name: 'a gap in the copies', tags: without('mirror.copy1') },
        { name: 'no copies at all', tags: { 'mirror.slot': '0', 'mirror.header': '4194304', 'mirror.generation': '1', 'mirror.region': '2097152' } },
        { name: 'a slot past the copies', tags: { ...good, 'mirror.slot': '3' } },
        { name: 'a slot with a leading zero', tags: { ...good, 'mirror.slot': '01' } },
        { name: 'generation 0', tags: { ...good, 'mirror.generation': '0' } },
        { name: 'a region that is no power of two', tags: { ...good, 'mirror.region': String(3 * MiB) } },
        { name: 'a header that is no whole number of sectors', tags: { ...good, 'mirror.header': '1000' } },
        { name: 'a header as large as the LV', tags: { ...good, 'mirror.header': String(MIRROR_HEADER_BYTES + 8 * MiB) } },
        { name: 'a copy flag that is neither', tags: { ...good, 'mirror.copy0': 'maybe.store-a' } },
        { name: 'a copy on no storage node', tags: { ...good, 'mirror.copy0': 'in-sync.Store_A' } },
        { name: 'two copies on one node', tags: { ...good, 'mirror.copy2': 'in-sync.store-a' } },
        { name: 'no copy in sync', tags: { ...good, 'mirror.copy0': 'out-of-sync.store-a', 'mirror.copy2': 'out-of-sync.store-c' } },
        { name: 'a mirror key we never write', tags: { ...good, 'mirror.note': 'x' } },
      ];
      for (const c of cases) {
        assert.throws(() => parseVolumeRecord(copyLv(c.tags)), (err: unknown) => err instanceof FailedPreconditionError && err.message.includes(VOL), c.name);
      }
    });
  });
});
