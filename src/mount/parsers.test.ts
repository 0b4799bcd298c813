import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseBlkidExport } from './parseBlkidExport.ts';
import { parseFindmntJson } from './parseFindmntJson.ts';
import { parseMountInfo } from './parseMountInfo.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');

describe('parseBlkidExport', () => {
  it('reads the type and uuid of an ext4 filesystem', () => {
    const fields = parseBlkidExport(fixture('blkid/ext4.txt'));
    assert.equal(fields['TYPE'], 'ext4');
    assert.equal(fields['UUID'], 'd6d5ed8c-0ea6-4037-99df-e845bdca06b5');
    assert.equal(fields['USAGE'], 'filesystem');
  });

  it('undoes blkid\'s backslash escaping in values', () => {
    assert.equal(parseBlkidExport(fixture('blkid/ext4-label-with-space.txt'))['LABEL'], 'my "vol"');
  });

  it('reads a partition table as PTTYPE without TYPE', () => {
    const fields = parseBlkidExport(fixture('blkid/dos-partition-table.txt'));
    assert.equal(fields['PTTYPE'], 'dos');
    assert.equal(fields['TYPE'], undefined);
  });

  it('reads empty output as no fields', () => {
    assert.deepEqual(parseBlkidExport(''), {});
  });

  it('refuses a line that is not KEY=value', () => {
    assert.throws(() => parseBlkidExport('TYPE=ext4\nsomething odd\n'), /unexpected line/);
  });
});

describe('parseFindmntJson', () => {
  it('reads target, source, type and options of a mount', () => {
    assert.deepEqual(parseFindmntJson(fixture('findmnt/ext4.json')), [
      { target: '/tmp/mnt-ext4', source: '/dev/loop1', fsType: 'ext4', options: ['rw', 'relatime'], isReadOnly: false },
    ]);
  });

  it('reads a read-only XFS mount with nouuid', () => {
    const [mount] = parseFindmntJson(fixture('findmnt/xfs-ro-nouuid.json'));
    assert.equal(mount?.isReadOnly, true);
    assert.ok(mount?.options.includes('nouuid'));
  });

  it('lists stacked mounts in mount order, the visible one last', () => {
    assert.deepEqual(parseFindmntJson(fixture('findmnt/stacked.json')).map((m) => m.fsType), ['ext4', 'tmpfs']);
  });

  it('reads a device bind-mounted onto a file, whose source names devtmpfs', () => {
    const [mount] = parseFindmntJson(fixture('findmnt/block-bind-ro.json'));
    assert.equal(mount?.source, 'devtmpfs[/loop1]');
    assert.equal(mount?.isReadOnly, true);
  });

  it('keeps a space in the target as it is', () => {
    assert.equal(parseFindmntJson(fixture('findmnt/space-in-target.json'))[0]?.target, '/tmp/sp ace');
  });

  it('refuses output without the filesystems array or with a missing field', () => {
    assert.throws(() => parseFindmntJson('{}'), /filesystems/);
    assert.throws(() => parseFindmntJson('{"filesystems":[{"target":"/x"}]}'), /lacks field/);
  });
});

describe('parseMountInfo', () => {
  const guest = readFileSync(new URL('./fixtures/mountinfo-guest.txt', import.meta.url), 'utf8');
  const byTarget = (target: string) => parseMountInfo(guest).find((m) => m.target === target);

  it('reports a device bound onto a file as findmnt does: source with the subtree, options merged', () => {
    assert.deepEqual(byTarget('/tmp/pm/f'), {
      target: '/tmp/pm/f', source: 'devtmpfs[/dm-0]', fsType: 'devtmpfs',
      options: ['rw', 'relatime', 'size=1481824k', 'nr_inodes=370456', 'mode=755', 'inode64'], isReadOnly: false,
    });
  });

  it('reads a read-only bind mount of a read-write filesystem as read-only', () => {
    assert.deepEqual(byTarget('/tmp/pm/b'), { target: '/tmp/pm/b', source: 'tmpfs', fsType: 'tmpfs', options: ['ro', 'relatime', 'inode64'], isReadOnly: true });
  });

  it('reads a filesystem the kernel made read-only (ro in the superblock options only) as read-only', () => {
    const [m] = parseMountInfo('61 29 254:3 / /var/lib/kubelet/staging rw,relatime - ext4 /dev/mapper/vbs-0123 ro,errors=remount-ro\n');
    assert.equal(m?.isReadOnly, true);
    assert.deepEqual(m?.options, ['ro', 'relatime', 'errors=remount-ro']);
  });

  it('skips optional fields and unescapes octal escapes in paths', () => {
    const [m] = parseMountInfo('70 29 0:40 / /mnt/with\\040space\\134x rw shared:5 master:1 - tmpfs my\\011src rw\n');
    assert.equal(m?.target, '/mnt/with space\\x');
    assert.equal(m?.source, 'my\tsrc');
  });

  it('keeps the file order, so the visible one of stacked mounts comes last', () => {
    const stacked = parseMountInfo('50 29 7:1 / /tmp/mnt-ext4 rw,relatime - ext4 /dev/loop1 rw\n51 50 0:50 / /tmp/mnt-ext4 rw,relatime - tmpfs tmpfs rw,size=1024k\n');
    assert.deepEqual(stacked.map((m) => m.source), ['/dev/loop1', 'tmpfs']);
  });

  it('fails loudly on a line without the separator', () => {
    assert.throws(() => parseMountInfo('29 1 0:24 / / rw,relatime overlay overlay rw\n'), /unexpected shape/);
  });
});
