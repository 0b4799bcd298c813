import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LvmReportError } from './LvmReportError.ts';
import { parseLvsReport } from './parseLvsReport.ts';
import { parsePvsReport } from './parsePvsReport.ts';
import { parseVgsReport } from './parseVgsReport.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/lvm/${name}`, import.meta.url), 'utf8');

describe('parseLvsReport', () => {
  const lvs = parseLvsReport(fixture('lvs-vg-mixed.json'));
  const byName = (name: string) => {
    const lv = lvs.find((l) => l.name === name);
    assert.ok(lv, name);
    return lv;
  };

  it('reads every LV of a real report, in lvm order', () => {
    assert.deepEqual(lvs.map((l) => l.name), ['defaultsnap', 'pool', 'thick1', 'vbs-snap-bbbb', 'vbs-vol-aaaa', 'vbs-vol-cccc']);
  });

  it('reads a thin volume with its size, pool, usage, decoded tags and device path', () => {
    const lv = byName('vbs-vol-aaaa');
    assert.equal(lv.vgName, 'vbs');
    assert.equal(lv.uuid, 'JEjgBb-IOHt-j00l-TmQ2-cSLk-7RsH-LJnKRg');
    assert.equal(lv.sizeBytes, 104857600);
    assert.equal(lv.pool, 'pool');
    assert.equal(lv.origin, undefined);
    assert.equal(lv.dataPercent, 20);
    assert.equal(lv.metadataPercent, undefined);
    assert.equal(lv.isThin, true);
    assert.equal(lv.isActive, true);
    assert.equal(lv.devicePath, '/dev/vbs/vbs-vol-aaaa');
    assert.deepEqual(lv.tags, { name: 'pvc-1234', note: 'héllo w:rd' });
    assert.deepEqual(lv.rawTags, ['vbs.name=pvc-1234', 'vbs.note=h:C3:A9llo:20w:3Ard']);
  });

  it('reads a parked snapshot: inactive, skip-flagged, with its origin and no usage figure', () => {
    const lv = byName('vbs-snap-bbbb');
    assert.equal(lv.origin, 'vbs-vol-aaaa');
    assert.equal(lv.isActive, false);
    assert.equal(lv.attr.hasActivationSkip, true);
    assert.equal(lv.dataPercent, undefined);
    assert.deepEqual(lv.tags, { name: 'snapshot-1' });
  });

  it('reads a clone made from a snapshot without the skip flag as an active thin volume', () => {
    const lv = byName('vbs-vol-cccc');
    assert.equal(lv.origin, 'vbs-snap-bbbb');
    assert.equal(lv.isActive, true);
    assert.equal(lv.attr.hasActivationSkip, false);
  });

  it('reads a thick LV with a foreign tag: no pool, no decoded tags, the raw tag kept', () => {
    const lv = byName('thick1');
    assert.equal(lv.isThin, false);
    assert.equal(lv.pool, undefined);
    assert.deepEqual(lv.tags, {});
    assert.deepEqual(lv.rawTags, ['foreign-tag']);
  });

  it('reads the thin pool with data and metadata usage', () => {
    const [pool] = parseLvsReport(fixture('lvs-thin-pool.json'));
    assert.ok(pool);
    assert.equal(pool.attr.volumeType, 'thin-pool');
    assert.equal(pool.sizeBytes, 1073741824);
    assert.equal(pool.dataPercent, 1.95);
    assert.equal(pool.metadataPercent, 11.72);
    assert.equal(pool.metadataSizeBytes, 4194304);
  });

  it('reads an empty report as no LVs', () => {
    assert.deepEqual(parseLvsReport(fixture('lvs-empty.json')), []);
  });

  const broken: Array<{ name: string; stdout: string; error: RegExp }> = [
    { name: 'output that is not JSON', stdout: '  Volume group "vbs" not found', error: /not JSON/ },
    { name: 'a report without the lv section', stdout: '{"report":[{"vg":[]}]}', error: /no "lv" array/ },
    { name: 'a row missing a requested field', stdout: fixture('lvs-thin-pool.json').replace('"lv_metadata_size":"4194304"', '"other":"1"'), error: /lacks field lv_metadata_size/ },
    { name: 'a size with a unit suffix (--nosuffix forgotten)', stdout: fixture('lvs-thin-pool.json').replace('"1073741824"', '"1073741824B"'), error: /not a whole number/ },
    { name: 'a size beyond 2^53', stdout: fixture('lvs-thin-pool.json').replace('"1073741824"', '"9007199254740993"'), error: /too large/ },
    { name: 'a percentage with a comma (a non-C locale)', stdout: fixture('lvs-thin-pool.json').replace('"1.95"', '"1,95"'), error: /not a percentage/ },
    { name: 'a hand-edited vbs tag', stdout: fixture('lvs-thin-volume-open.json').replace('vbs.name=pvc-clone', 'vbs.name=pvc clone'), error: /vbs\/vbs-vol-cccc: .*invalid escape/ },
  ];
  for (const c of broken) {
    it(`fails loudly on ${c.name}`, () => {
      assert.throws(() => parseLvsReport(c.stdout), (err: unknown) => err instanceof LvmReportError && c.error.test(err.message));
    });
  }
});

describe('parseVgsReport', () => {
  it('reads size, free space and extents of a VG holding a thin pool', () => {
    assert.deepEqual(parseVgsReport(fixture('vgs-vg-with-thin-pool.json')), [
      {
        name: 'vbs',
        uuid: 'yGRKhG-oexr-QeM4-uxiD-oiz8-oLbg-PlXxGS',
        sizeBytes: 2143289344,
        freeBytes: 1061158912,
        extentSizeBytes: 4194304,
        extentCount: 511,
        freeExtentCount: 253,
      },
    ]);
  });

  it('reads a VG captured on a host without device-mapper the same way', () => {
    const [vg] = parseVgsReport(fixture('vgs-vg-without-lvs.json'));
    assert.equal(vg?.freeBytes, vg?.sizeBytes);
  });

  it('fails loudly on a row missing a field', () => {
    assert.throws(() => parseVgsReport('{"report":[{"vg":[{"vg_name":"x"}]}]}'), /lacks field vg_uuid/);
  });
});

describe('parsePvsReport', () => {
  it('reads every PV with its VG, an orphan PV without one', () => {
    assert.deepEqual(parsePvsReport(fixture('pvs-two-vgs-and-orphan.json')), [
      { devicePath: '/dev/loop0', vgName: 'vbsfix', sizeBytes: 1069547520, freeBytes: 1069547520, isMissing: false },
      { devicePath: '/dev/loop1', vgName: 'vbs', sizeBytes: 264241152, freeBytes: 264241152, isMissing: false },
      { devicePath: '/dev/loop2', vgName: 'vbs', sizeBytes: 264241152, freeBytes: 264241152, isMissing: false },
      { devicePath: '/dev/loop3', vgName: undefined, sizeBytes: 268435456, freeBytes: 268435456, isMissing: false },
      { devicePath: '/dev/loop4', vgName: 'other', sizeBytes: 264241152, freeBytes: 264241152, isMissing: false },
    ]);
  });

  it('reads a PV whose device is gone as missing, without a device path', () => {
    const missing = parsePvsReport(fixture('pvs-vg-missing-pv.json')).filter((pv) => pv.isMissing);
    assert.deepEqual(missing, [{ devicePath: undefined, vgName: 'vbs', sizeBytes: 264241152, freeBytes: 264241152, isMissing: true }]);
  });

  it('fails loudly on a report without the pv section or with a size that is not a number', () => {
    assert.throws(() => parsePvsReport('{"report":[{"vg":[]}]}'), /no "pv" array/);
    assert.throws(() => parsePvsReport(fixture('pvs-two-vgs-and-orphan.json').replace('"268435456"', '"256.00m"')), /\/dev\/loop3 pv_size.*not a whole number/);
  });
});
