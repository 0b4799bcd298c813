import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import { InvalidArgumentError } from '../errors.ts';
import { Dmsetup } from './Dmsetup.ts';
import { parseDmTable } from './parseDmsetup.ts';
import { buildRaid1Table, isRaidInSync, parseRaidStatus, raid1TableOf } from './raid.ts';

describe('buildRaid1Table', () => {
  it('writes chunk size 0 and region_size, counting every parameter word, as lvm2 does', () => {
    assert.equal(
      buildRaid1Table({ sectors: 2097152, regionSectors: 4096, legs: [{ meta: '254:1', data: '254:2' }, { meta: '254:3', data: '254:4' }] }),
      '0 2097152 raid raid1 3 0 region_size 4096 2 254:1 254:2 254:3 254:4',
    );
  });

  it('writes a missing leg as "- -" and counts rebuild in the parameters', () => {
    assert.equal(
      buildRaid1Table({ sectors: 8, regionSectors: 4096, legs: [{ meta: '254:1', data: '254:2' }, undefined, { meta: '254:5', data: '254:6' }], rebuild: [2] }),
      '0 8 raid raid1 5 0 region_size 4096 rebuild 2 3 254:1 254:2 - - 254:5 254:6',
    );
  });

  it('refuses what dm-raid would misread or refuse', () => {
    const leg = { meta: '254:1', data: '254:2' };
    assert.throws(() => buildRaid1Table({ sectors: 0, regionSectors: 4096, legs: [leg] }), /positive size/);
    assert.throws(() => buildRaid1Table({ sectors: 8, regionSectors: 3000, legs: [leg] }), /power of two/);
    assert.throws(() => buildRaid1Table({ sectors: 8, regionSectors: 4096, legs: [undefined, undefined] }), /at least one present leg/);
    assert.throws(() => buildRaid1Table({ sectors: 8, regionSectors: 4096, legs: [leg, undefined], rebuild: [1] }), /not present/);
    assert.throws(() => buildRaid1Table({ sectors: 8, regionSectors: 4096, legs: [{ meta: '254:1 254:9', data: '254:2' }] }), /major:minor/);
  });
});

describe('raid1TableOf', () => {
  it('reads back what buildRaid1Table wrote, missing legs and rebuild included', () => {
    const t = { sectors: 8, regionSectors: 4096, legs: [{ meta: '254:1', data: '254:2' }, undefined, { meta: '254:5', data: '254:6' }], rebuild: [2] };
    assert.deepEqual(raid1TableOf(parseDmTable(buildRaid1Table(t))[0]!), t);
    // as the kernel prints an lvm2 raid1 (sync/nosync first, dm-raid.rst "Status Output")
    assert.deepEqual(raid1TableOf(parseDmTable('0 2097152 raid raid1 3 0 region_size 1024 2 253:2 253:3 253:4 253:5')[0]!).legs, [
      { meta: '253:2', data: '253:3' },
      { meta: '253:4', data: '253:5' },
    ]);
    assert.throws(() => raid1TableOf(parseDmTable('0 8 raid raid1 4 0 region_size 1024 nosync 2 - 8:1')[0]!), /not a raid1 table/);
    assert.throws(() => raid1TableOf(parseDmTable('0 8 linear 8:16 0')[0]!), /not a raid1 table/);
    const fresh = { sectors: 8, regionSectors: 4096, legs: [{ meta: '254:1', data: '254:2' }, { meta: '254:3', data: '254:4' }], nosync: true };
    assert.equal(buildRaid1Table(fresh), '0 8 raid raid1 4 0 nosync region_size 4096 2 254:1 254:2 254:3 254:4');
    assert.deepEqual(raid1TableOf(parseDmTable(buildRaid1Table(fresh))[0]!), fresh);
    assert.throws(() => buildRaid1Table({ ...fresh, rebuild: [1] }), /contradict/);
  });
});

describe('parseRaidStatus', () => {
  it('reads the 6.1 kernel line with data_offset and journal char', () => {
    const s = parseRaidStatus('0 2097152 raid raid1 2 AA 2097152/2097152 idle 0 0 -\n');
    assert.deepEqual(s, { raidType: 'raid1', health: ['A', 'A'], syncedSectors: 2097152, totalSectors: 2097152, syncAction: 'idle', mismatchCount: 0 });
    assert.equal(isRaidInSync(s), true);
  });

  it('reads a dead leg, a recovering leg and a leg missing at creation', () => {
    const dead = parseRaidStatus('0 2097152 raid raid1 2 DA 2097152/2097152 idle 0 0 -');
    assert.deepEqual(dead.health, ['D', 'A']);
    assert.equal(isRaidInSync(dead), false);
    const recovering = parseRaidStatus('0 2097152 raid raid1 2 Aa 1048576/2097152 recover 0 0 -');
    assert.deepEqual([recovering.health, recovering.syncAction, recovering.syncedSectors], [['A', 'a'], 'recover', 1048576]);
    assert.equal(isRaidInSync(recovering), false);
    assert.deepEqual(parseRaidStatus('0 8 raid raid1 3 A-A 8/8 idle 0 0 -').health, ['A', '-', 'A']);
  });

  it('reads the older line without data_offset (dm-raid.rst example)', () => {
    assert.equal(parseRaidStatus('0 1960893648 raid raid4 5 AAAAA 2/490221568 init 0').syncAction, 'init');
  });

  it('fails loudly on anything else', () => {
    assert.throws(() => parseRaidStatus('0 8 linear'), /unexpected raid line/);
    assert.throws(() => parseRaidStatus('0 8 raid raid1 2 A 8/8 idle 0'), /unexpected/);
    assert.throws(() => parseRaidStatus('0 8 raid raid1 2 AX 8/8 idle 0'), /unexpected/);
    assert.throws(() => parseRaidStatus(''), /unexpected/);
  });
});

describe('Dmsetup raid1', () => {
  const table = { sectors: 2048, regionSectors: 4096, legs: [{ meta: '254:1', data: '254:2' }, undefined] };

  it('creates, reloads, suspends and reads the status of a raid1 device', async () => {
    const runner = new FakeRunner().once(['dmsetup', 'status'], { stdout: '0 2048 raid raid1 2 A- 2048/2048 idle 0 0 -\n' }).on(['dmsetup'], {});
    const dm = new Dmsetup({ runner });
    await dm.createRaid1('vbs-abc', table, { uuid: 'VBS-CSI-vbs-abc' });
    await dm.reloadRaid1('vbs-abc', { ...table, sectors: 4096 });
    await dm.suspend('vbs-abc');
    assert.deepEqual((await dm.raidStatus('vbs-abc'))?.health, ['A', '-']);
    assert.deepEqual(runner.argvs, [
      ['dmsetup', 'create', 'vbs-abc', '--noudevsync', '--verifyudev', '-u', 'VBS-CSI-vbs-abc', '--table', '0 2048 raid raid1 3 0 region_size 4096 2 254:1 254:2 - -'],
      ['dmsetup', 'reload', 'vbs-abc', '--noudevsync', '--table', '0 4096 raid raid1 3 0 region_size 4096 2 254:1 254:2 - -'],
      ['dmsetup', 'resume', 'vbs-abc', '--noudevsync'],
      ['dmsetup', 'suspend', 'vbs-abc', '--noudevsync'],
      ['dmsetup', 'status', 'vbs-abc'],
    ]);
  });

  it('answers undefined for the status of a missing device, and refuses a bad table before running anything', async () => {
    const runner = new FakeRunner().on(['dmsetup'], { exitCode: 1, stderr: 'Device does not exist.\nCommand failed.' });
    const dm = new Dmsetup({ runner });
    assert.equal(await dm.raidStatus('vbs-abc'), undefined);
    await assert.rejects(dm.createRaid1('vbs-abc', { ...table, legs: [undefined] }), InvalidArgumentError);
    assert.equal(runner.argvs.length, 1);
  });

  it('creates a linear leg at an offset', async () => {
    const runner = new FakeRunner().on(['dmsetup'], {});
    await new Dmsetup({ runner }).createLinear('vbs-abc-d0', { sectors: 2048, device: '8:16', offsetSector: 8192 });
    assert.deepEqual(runner.argvs[0]?.at(-1), '0 2048 linear 8:16 8192');
  });
});
