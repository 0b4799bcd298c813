import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseBlkidExport } from './parseBlkidExport.ts';
import { parseFindmntJson } from './parseFindmntJson.ts';

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
