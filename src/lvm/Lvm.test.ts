import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import type { FakeResult } from '../../test/fakes/FakeRunner.ts';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from '../errors.ts';
import type { CommandRunner } from '../exec/index.ts';
import { Lvm } from './Lvm.ts';
import { LVS_FIELDS } from './parseLvsReport.ts';
import { PVS_FIELDS } from './parsePvsReport.ts';
import { VGS_FIELDS } from './parseVgsReport.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/lvm/${name}`, import.meta.url), 'utf8');
const failures = JSON.parse(fixture('lvm-failures.json')) as Record<string, { exitCode: number; stderr: string }>;
const failure = (name: string): FakeResult => failures[name]!;

/** Real rows from lvs-vg-mixed.json (VG "vbs", pool "pool"), re-wrapped as the report of the named LVs. */
function lvsReport(...names: string[]): FakeResult {
  const doc = JSON.parse(fixture('lvs-vg-mixed.json')) as { report: [{ lv: Array<{ lv_name: string }> }] };
  const rows = names.map((name) => {
    const row = doc.report[0].lv.find((r) => r.lv_name === name);
    assert.ok(row, name);
    return row;
  });
  return { stdout: JSON.stringify({ report: [{ lv: rows }] }) };
}

const REPORT = ['--reportformat', 'json', '--units', 'b', '--nosuffix'];
const LVS = ['lvm', 'lvs', ...REPORT, '-o', LVS_FIELDS.join(',')];
const VGS = ['lvm', 'vgs', ...REPORT, '-o', VGS_FIELDS.join(','), 'vbs'];
const VG_REPORT = { stdout: fixture('vgs-vg-with-thin-pool.json') };

function setup(): { runner: FakeRunner; lvm: Lvm } {
  const runner = new FakeRunner();
  const lvm = new Lvm({ runner, vgName: 'vbs', thinPoolName: 'pool', readTimeoutMs: 1_000, writeTimeoutMs: 9_000 });
  return { runner, lvm };
}

describe('Lvm', () => {
  it('refuses an invalid VG or pool name at construction', () => {
    assert.throws(() => new Lvm({ runner: new FakeRunner(), vgName: '-vg', thinPoolName: 'pool' }), InvalidArgumentError);
    assert.throws(() => new Lvm({ runner: new FakeRunner(), vgName: 'vg', thinPoolName: 'p_tdata' }), InvalidArgumentError);
  });

  describe('getVolumeGroup', () => {
    it('reads the VG with an explicit field list and the read timeout', async () => {
      const { runner, lvm } = setup();
      runner.on(VGS, VG_REPORT);
      const vg = await lvm.getVolumeGroup();
      assert.equal(vg.extentSizeBytes, 4194304);
      assert.equal(vg.freeBytes, 1061158912);
      assert.deepEqual(runner.argvs, [VGS]);
      assert.equal(runner.calls[0]?.timeoutMs, 1_000);
    });

    it('reports a missing VG as FailedPreconditionError', async () => {
      const { runner, lvm } = setup();
      runner.on(VGS, failure('vgs-missing-vg'));
      await assert.rejects(lvm.getVolumeGroup(), FailedPreconditionError);
    });

    it('passes the caller\'s AbortSignal to the runner', async () => {
      const { runner, lvm } = setup();
      runner.on(VGS, VG_REPORT);
      const controller = new AbortController();
      await lvm.getVolumeGroup(controller.signal);
      assert.equal(runner.signals[0], controller.signal);
    });
  });

  describe('listPhysicalVolumes', () => {
    const PVS = ['lvm', 'pvs', ...REPORT, '-o', PVS_FIELDS.join(',')];

    it('lists only the PVs of its own VG, with the read timeout', async () => {
      const { runner, lvm } = setup();
      runner.on(PVS, { stdout: fixture('pvs-two-vgs-and-orphan.json') });
      const pvs = await lvm.listPhysicalVolumes();
      assert.deepEqual(pvs.map((pv) => pv.devicePath), ['/dev/loop1', '/dev/loop2']);
      assert.deepEqual(runner.argvs, [PVS]);
      assert.equal(runner.calls[0]?.timeoutMs, 1_000);
    });

    it('keeps a missing PV of its VG in the list, marked missing', async () => {
      const { runner, lvm } = setup();
      runner.on(PVS, { stdout: fixture('pvs-vg-missing-pv.json') });
      const pvs = await lvm.listPhysicalVolumes();
      assert.deepEqual(pvs.map((pv) => [pv.devicePath, pv.isMissing]), [['/dev/loop1', false], [undefined, true]]);
    });

    it('passes the caller\'s AbortSignal to the runner', async () => {
      const { runner, lvm } = setup();
      runner.on(PVS, { stdout: fixture('pvs-two-vgs-and-orphan.json') });
      const controller = new AbortController();
      await lvm.listPhysicalVolumes(controller.signal);
      assert.equal(runner.signals[0], controller.signal);
    });
  });

  describe('getThinPool', () => {
    it('reads size, usage and health of the pool', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/pool'], { stdout: fixture('lvs-thin-pool.json') });
      assert.deepEqual(await lvm.getThinPool(), {
        vgName: 'vbs',
        name: 'pool',
        sizeBytes: 1073741824,
        dataPercent: 1.95,
        metadataPercent: 11.72,
        metadataSizeBytes: 4194304,
        usedBytes: 20937965,
        health: 'ok',
        isActive: true,
        isZeroing: true,
      });
    });

    it('reports a pool that ran out of data space', async () => {
      const runner = new FakeRunner().on([...LVS, 'vbs/small'], { stdout: fixture('lvs-thin-pool-out-of-data.json') });
      const lvm = new Lvm({ runner, vgName: 'vbs', thinPoolName: 'small' });
      const pool = await lvm.getThinPool();
      assert.equal(pool.health, 'out-of-data');
      assert.equal(pool.dataPercent, 100);
      assert.equal(pool.usedBytes, pool.sizeBytes);
    });

    it('refuses an LV that is not a thin pool', async () => {
      const runner = new FakeRunner().on([...LVS, 'vbs/thick1'], lvsReport('thick1'));
      const lvm = new Lvm({ runner, vgName: 'vbs', thinPoolName: 'thick1' });
      await assert.rejects(lvm.getThinPool(), /not a thin pool/);
    });

    it('reports a missing pool as FailedPreconditionError', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/pool'], failure('lvs-missing-lv'));
      await assert.rejects(lvm.getThinPool(), FailedPreconditionError);
    });
  });

  describe('createThinVolume', () => {
    it('rounds the size up to the extent size, sends tags encoded, and returns the LV as lvm reports it', async () => {
      const { runner, lvm } = setup();
      runner.on(VGS, VG_REPORT);
      runner.on(['lvm', 'lvcreate'], {});
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      const lv = await lvm.createThinVolume({ lvName: 'vbs-vol-aaaa', sizeBytes: 102_000_000, tags: { name: 'pvc-1234', note: 'héllo w:rd' } });
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvcreate']), [
        ['lvm', 'lvcreate', '-y', '-W', 'y', '--type', 'thin', '--thinpool', 'pool', '-V', '104857600b', '-n', 'vbs-vol-aaaa',
          '--addtag', 'vbs.name=pvc-1234', '--addtag', 'vbs.note=h:C3:A9llo:20w:3Ard', 'vbs'],
      ]);
      assert.equal(runner.calls.find((c) => c.args[0] === 'lvcreate')?.timeoutMs, 9_000);
      assert.equal(lv.sizeBytes, 104857600);
      assert.deepEqual(lv.tags, { name: 'pvc-1234', note: 'héllo w:rd' });
      assert.equal(lv.devicePath, '/dev/vbs/vbs-vol-aaaa');
    });

    it('reads the extent size once and reuses it', async () => {
      const { runner, lvm } = setup();
      runner.on(VGS, VG_REPORT).on(['lvm', 'lvcreate'], {}).on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      await lvm.createThinVolume({ lvName: 'vbs-vol-aaaa', sizeBytes: 4194304 });
      await lvm.createThinVolume({ lvName: 'vbs-vol-aaaa', sizeBytes: 4194304 });
      assert.equal(runner.argvsMatching(['lvm', 'vgs']).length, 1);
    });

    it('refuses an invalid LV name or size without running lvm', async () => {
      const { runner, lvm } = setup();
      await assert.rejects(lvm.createThinVolume({ lvName: 'x_tmeta', sizeBytes: 1 }), InvalidArgumentError);
      await assert.rejects(lvm.createThinVolume({ lvName: 'ok', sizeBytes: 0 }), InvalidArgumentError);
      await assert.rejects(lvm.createThinVolume({ lvName: 'ok', sizeBytes: 1.5 }), InvalidArgumentError);
      await assert.rejects(lvm.createThinVolume({ lvName: 'ok', sizeBytes: 1, tags: { Bad: 'x' } }), InvalidArgumentError);
      assert.deepEqual(runner.calls, []);
    });

    const failing: Array<{ name: string; fixture: string; expected: new (...args: never[]) => Error }> = [
      { name: 'reports a full thin pool as ResourceExhaustedError', fixture: 'create-in-full-pool', expected: ResourceExhaustedError },
      { name: 'reports an existing LV of that name as AlreadyExistsError', fixture: 'create-dup', expected: AlreadyExistsError },
      { name: 'reports a missing thin pool as FailedPreconditionError', fixture: 'create-nopool', expected: FailedPreconditionError },
    ];
    for (const c of failing) {
      it(c.name, async () => {
        const { runner, lvm } = setup();
        runner.on(VGS, VG_REPORT).on(['lvm', 'lvcreate'], failure(c.fixture));
        await assert.rejects(lvm.createThinVolume({ lvName: 'vbs-vol-aaaa', sizeBytes: 4194304 }), c.expected);
      });
    }
  });

  describe('createThickVolume', () => {
    it('creates a linear LV with wiping and zeroing, rounded to extents', async () => {
      const { runner, lvm } = setup();
      runner.on(VGS, VG_REPORT).on(['lvm', 'lvcreate'], {}).on([...LVS, 'vbs/thick1'], lvsReport('thick1'));
      const lv = await lvm.createThickVolume({ lvName: 'thick1', sizeBytes: 5_000_000, tags: { name: 't' } });
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvcreate']), [
        ['lvm', 'lvcreate', '-y', '-W', 'y', '-Z', 'y', '-L', '8388608b', '-n', 'thick1', '--addtag', 'vbs.name=t', 'vbs'],
      ]);
      assert.equal(lv.isThin, false);
    });

    it('reports a VG without room as ResourceExhaustedError', async () => {
      const { runner, lvm } = setup();
      runner.on(VGS, VG_REPORT).on(['lvm', 'lvcreate'], failure('create-thick-too-big'));
      await assert.rejects(lvm.createThickVolume({ lvName: 'big', sizeBytes: 10 * 2 ** 30 }), ResourceExhaustedError);
    });
  });

  describe('findVolume', () => {
    it('returns undefined for an LV that does not exist', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/nope'], failure('lvs-missing-lv'));
      assert.equal(await lvm.findVolume('nope'), undefined);
    });

    it('throws FailedPreconditionError when the VG itself is missing', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/nope'], failure('lvs-missing-vg'));
      await assert.rejects(lvm.findVolume('nope'), FailedPreconditionError);
    });

    it('refuses a name that could be read as an option or a path', async () => {
      const { runner, lvm } = setup();
      await assert.rejects(lvm.findVolume('-a'), InvalidArgumentError);
      await assert.rejects(lvm.findVolume('../x'), InvalidArgumentError);
      assert.deepEqual(runner.calls, []);
    });
  });

  describe('listVolumes and findVolumeByTag', () => {
    const everything = () => lvsReport('defaultsnap', 'pool', 'thick1', 'vbs-snap-bbbb', 'vbs-vol-aaaa', 'vbs-vol-cccc');

    it('lists every LV of the VG in one lvs call, without the thin pool', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs'], everything());
      const names = (await lvm.listVolumes()).map((lv) => lv.name);
      assert.deepEqual(names, ['defaultsnap', 'thick1', 'vbs-snap-bbbb', 'vbs-vol-aaaa', 'vbs-vol-cccc']);
      assert.deepEqual(runner.argvs, [[...LVS, 'vbs']]);
    });

    it('filters by a decoded tag value, unicode included', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs'], everything());
      assert.deepEqual((await lvm.listVolumes({ tag: { key: 'note', value: 'héllo w:rd' } })).map((lv) => lv.name), ['vbs-vol-aaaa']);
      assert.equal((await lvm.findVolumeByTag('name', 'snapshot-1'))?.name, 'vbs-snap-bbbb');
      assert.equal(await lvm.findVolumeByTag('name', 'pvc-unknown'), undefined);
    });

    it('refuses to pick when two LVs carry the same tag', async () => {
      const { runner, lvm } = setup();
      const doc = JSON.parse(everything().stdout!) as { report: [{ lv: Array<Record<string, string>> }] };
      doc.report[0].lv.find((r) => r['lv_name'] === 'vbs-vol-cccc')!['lv_tags'] = 'vbs.name=pvc-1234';
      runner.on([...LVS, 'vbs'], { stdout: JSON.stringify(doc) });
      await assert.rejects(lvm.findVolumeByTag('name', 'pvc-1234'), (err: unknown) => err instanceof FailedPreconditionError && /vbs-vol-aaaa, vbs-vol-cccc/.test(err.message));
    });
  });

  describe('physicalExtentRanges', () => {
    it('reads one PV:first-last range per segment', async () => {
      const { runner, lvm } = setup();
      runner.on(['lvm', 'lvs', '--segments'], { stdout: '  /dev/vdb:0-24\n  /dev/vdb:60-84\n' });
      assert.deepEqual(await lvm.physicalExtentRanges('vbs-grow-aaaa'), ['/dev/vdb:0-24', '/dev/vdb:60-84']);
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvs', '--segments']), [['lvm', 'lvs', '--segments', '--noheadings', '-o', 'seg_pe_ranges', 'vbs/vbs-grow-aaaa']]);
    });
  });

  describe('extendVolume', () => {
    /** An LV of 100 MiB that lvextend grows to 200 MiB. */
    const growable = () => {
      const bed = setup();
      const grown = lvsReport('vbs-vol-aaaa').stdout!.replace('"lv_size":"104857600"', '"lv_size":"209715200"');
      bed.runner.on(VGS, VG_REPORT);
      bed.runner.once([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      bed.runner.on(['lvm', 'lvextend'], {});
      bed.runner.once([...LVS, 'vbs/vbs-vol-aaaa'], { stdout: grown });
      return bed;
    };

    it('grows the LV to the rounded size and returns the size lvm reports afterwards', async () => {
      const { runner, lvm } = growable();
      const lv = await lvm.extendVolume('vbs-vol-aaaa', 209_000_000);
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvextend']), [['lvm', 'lvextend', '-L', '209715200b', 'vbs/vbs-vol-aaaa']]);
      assert.equal(lv.sizeBytes, 209715200);
    });

    it('takes the new extents only from the ranges given, and refuses a range that is not one', async () => {
      const { runner, lvm } = growable();
      await lvm.extendVolume('vbs-vol-aaaa', 209715200, undefined, { fromExtents: ['/dev/vdb:25-49'] });
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvextend']), [['lvm', 'lvextend', '-L', '209715200b', 'vbs/vbs-vol-aaaa', '/dev/vdb:25-49']]);
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      for (const bad of ['--alloc=anywhere', '/dev/vdb:49-25', '/dev/../etc:1-2', 'vdb:1-2']) {
        await assert.rejects(lvm.extendVolume('vbs-vol-aaaa', 209715200, undefined, { fromExtents: [bad] }), InvalidArgumentError, bad);
      }
    });

    for (const size of [{ what: 'the same size', bytes: 104857600 }, { what: 'a smaller size', bytes: 4194304 }, { what: 'a size that rounds to the current one', bytes: 104857599 }]) {
      it(`does nothing for ${size.what} and returns the current LV`, async () => {
        const { runner, lvm } = setup();
        runner.on(VGS, VG_REPORT).on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
        const lv = await lvm.extendVolume('vbs-vol-aaaa', size.bytes);
        assert.equal(lv.sizeBytes, 104857600);
        assert.deepEqual(runner.argvsMatching(['lvm', 'lvextend']), []);
      });
    }

    it('reports a missing LV as NotFoundError', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/nope'], failure('lvs-missing-lv'));
      await assert.rejects(lvm.extendVolume('nope', 1), NotFoundError);
    });
  });

  describe('createThinSnapshot', () => {
    it('parks a CSI snapshot: skip flag set, not activated, no signature wiping', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      runner.on(['lvm', 'lvcreate'], {});
      runner.on([...LVS, 'vbs/vbs-snap-bbbb'], lvsReport('vbs-snap-bbbb'));
      const snap = await lvm.createThinSnapshot({ sourceLv: 'vbs-vol-aaaa', lvName: 'vbs-snap-bbbb', tags: { name: 'snapshot-1' }, activate: false });
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvcreate']), [
        ['lvm', 'lvcreate', '-y', '-s', '--setactivationskip', 'y', '--activate', 'n', '-n', 'vbs-snap-bbbb', '--addtag', 'vbs.name=snapshot-1', 'vbs/vbs-vol-aaaa'],
      ]);
      assert.equal(snap.attr.hasActivationSkip, true);
      assert.equal(snap.isActive, false);
      assert.equal(snap.origin, 'vbs-vol-aaaa');
    });

    it('creates a clone without the skip flag and active, so it survives a reboot', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/vbs-snap-bbbb'], lvsReport('vbs-snap-bbbb'));
      runner.on(['lvm', 'lvcreate'], {});
      runner.on([...LVS, 'vbs/vbs-vol-cccc'], lvsReport('vbs-vol-cccc'));
      const clone = await lvm.createThinSnapshot({ sourceLv: 'vbs-snap-bbbb', lvName: 'vbs-vol-cccc', activate: true });
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvcreate']), [
        ['lvm', 'lvcreate', '-y', '-s', '--setactivationskip', 'n', '--activate', 'y', '-n', 'vbs-vol-cccc', 'vbs/vbs-snap-bbbb'],
      ]);
      assert.equal(clone.isActive, true);
    });

    it('reports a missing source as NotFoundError without running lvcreate', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/nope'], failure('lvs-missing-lv'));
      await assert.rejects(lvm.createThinSnapshot({ sourceLv: 'nope', lvName: 's', activate: false }), NotFoundError);
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvcreate']), []);
    });

    it('refuses to snapshot a thick LV', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/thick1'], lvsReport('thick1'));
      await assert.rejects(lvm.createThinSnapshot({ sourceLv: 'thick1', lvName: 's', activate: false }), FailedPreconditionError);
    });

    it('reports a full pool as ResourceExhaustedError', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa')).on(['lvm', 'lvcreate'], failure('snap-in-full-pool'));
      await assert.rejects(lvm.createThinSnapshot({ sourceLv: 'vbs-vol-aaaa', lvName: 's', activate: false }), ResourceExhaustedError);
    });
  });

  describe('activate', () => {
    it('activates with -K so the activation-skip flag does not silently skip it', async () => {
      const { runner, lvm } = setup();
      runner.on(['lvm', 'lvchange'], {}).on([...LVS, 'vbs/vbs-snap-bbbb'], { stdout: fixture('lvs-snapshot-activated-with-K.json') });
      const lv = await lvm.activate('vbs-snap-bbbb');
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvchange']), [['lvm', 'lvchange', '-ay', '-K', 'vbs/vbs-snap-bbbb']]);
      assert.equal(lv.isActive, true);
    });
  });

  describe('enableThinPoolZeroing', () => {
    it('runs lvchange -Z y on the pool and returns the pool as lvm reports it afterwards', async () => {
      const { runner, lvm } = setup();
      runner.on(['lvm', 'lvchange'], {}).on([...LVS, 'vbs/pool'], { stdout: fixture('lvs-thin-pool.json') });
      const pool = await lvm.enableThinPoolZeroing();
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvchange']), [['lvm', 'lvchange', '-Z', 'y', 'vbs/pool']]);
      assert.equal(pool.isZeroing, true);
    });
  });

  describe('removeVolume', () => {
    it('removes without prompting', async () => {
      const { runner, lvm } = setup();
      runner.on(['lvm', 'lvremove'], {});
      await lvm.removeVolume('vbs-vol-aaaa');
      assert.deepEqual(runner.argvs, [['lvm', 'lvremove', '-y', 'vbs/vbs-vol-aaaa']]);
    });

    it('counts an LV that is already gone as removed', async () => {
      const { runner, lvm } = setup();
      runner.on(['lvm', 'lvremove'], failure('remove-missing'));
      await lvm.removeVolume('nope');
    });

    it('does not count a missing VG as a removed LV', async () => {
      const { runner, lvm } = setup();
      runner.on(['lvm', 'lvremove'], failure('remove-missing-vg'));
      await assert.rejects(lvm.removeVolume('nope'), FailedPreconditionError);
    });

    it('reports an LV still in use as FailedPreconditionError', async () => {
      const { runner, lvm } = setup();
      runner.on(['lvm', 'lvremove'], failure('remove-open'));
      await assert.rejects(lvm.removeVolume('vbs-vol-cccc'), FailedPreconditionError);
    });
  });

  describe('addTags and deleteTags', () => {
    it('replaces a tag whose value changed and adds a new one in one lvchange', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa')).on(['lvm', 'lvchange'], {});
      await lvm.addTags('vbs-vol-aaaa', { name: 'pvc-1234', note: 'new', serial: 'abc' });
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvchange']), [
        ['lvm', 'lvchange', '--deltag', 'vbs.note=h:C3:A9llo:20w:3Ard', '--addtag', 'vbs.note=new', '--addtag', 'vbs.serial=abc', 'vbs/vbs-vol-aaaa'],
      ]);
    });

    it('runs nothing when every tag already has its value', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      await lvm.addTags('vbs-vol-aaaa', { name: 'pvc-1234' });
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvchange']), []);
    });

    it('deletes our tags by key and ignores keys that are absent', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa')).on(['lvm', 'lvchange'], {});
      await lvm.deleteTags('vbs-vol-aaaa', ['note', 'absent']);
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvchange']), [['lvm', 'lvchange', '--deltag', 'vbs.note=h:C3:A9llo:20w:3Ard', 'vbs/vbs-vol-aaaa']]);
    });

    it('reports tagging a missing LV as NotFoundError', async () => {
      const { runner, lvm } = setup();
      runner.on([...LVS, 'vbs/nope'], failure('lvs-missing-lv'));
      await assert.rejects(lvm.addTags('nope', { a: 'b' }), NotFoundError);
      await assert.rejects(lvm.deleteTags('nope', ['a']), NotFoundError);
    });
  });
  describe('remembered report (reportMaxAgeMs > 0)', () => {
    const VG_LVS = [...LVS, 'vbs'];
    const before = () => lvsReport('pool', 'vbs-snap-bbbb', 'vbs-vol-cccc');

    function remembering(maxAgeMs = 30_000) {
      const runner = new FakeRunner();
      let now = 1_000;
      const lvm = new Lvm({ runner, vgName: 'vbs', thinPoolName: 'pool', reportMaxAgeMs: maxAgeMs, now: () => now });
      return { runner, lvm, advance: (ms: number) => void (now += ms) };
    }

    it('answers lookups, lists and the pool from one lvs of the VG while it is young enough', async () => {
      const { runner, lvm } = remembering();
      runner.on(VG_LVS, before());
      assert.equal((await lvm.findVolume('vbs-vol-cccc'))?.name, 'vbs-vol-cccc');
      assert.equal(await lvm.findVolume('vbs-vol-aaaa'), undefined);
      assert.deepEqual((await lvm.listVolumes()).map((lv) => lv.name), ['vbs-snap-bbbb', 'vbs-vol-cccc']);
      const { pool, volumes } = await lvm.readPoolAndVolumes();
      assert.equal(pool.dataPercent, 1.95);
      assert.deepEqual(volumes.map((lv) => lv.name), ['vbs-snap-bbbb', 'vbs-vol-cccc']);
      assert.equal((await lvm.getThinPool()).name, 'pool');
      assert.deepEqual(runner.argvs, [VG_LVS]);
    });

    it('lets concurrent readers share one listing', async () => {
      const { runner, lvm } = remembering();
      runner.on(VG_LVS, before());
      await Promise.all([lvm.findVolume('vbs-vol-cccc'), lvm.listVolumes(), lvm.readPoolAndVolumes()]);
      assert.equal(runner.calls.length, 1);
    });

    it('lists again once the report is older than the max age, or when a caller asks for maxAgeMs 0', async () => {
      const { runner, lvm, advance } = remembering(10_000);
      runner.on(VG_LVS, before()).on([...LVS, 'vbs/vbs-vol-cccc'], lvsReport('vbs-vol-cccc'));
      await lvm.listVolumes();
      advance(10_000);
      await lvm.listVolumes();
      assert.equal(runner.calls.length, 1, 'exactly max age old is still young enough');
      advance(1);
      await lvm.listVolumes();
      assert.equal(runner.calls.length, 2);
      await lvm.listVolumes({ maxAgeMs: 0 });
      await lvm.findVolume('vbs-vol-cccc', undefined, { maxAgeMs: 0 });
      assert.deepEqual(runner.argvs, [VG_LVS, VG_LVS, VG_LVS, [...LVS, 'vbs/vbs-vol-cccc']]);
    });

    it('keeps the report true to its own changes: a created LV is re-read by name and found, a removed one is gone', async () => {
      const { runner, lvm } = remembering();
      runner.on(VG_LVS, before()).on(VGS, VG_REPORT).on(['lvm', 'lvcreate'], {}).on(['lvm', 'lvremove'], {});
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      assert.equal(await lvm.findVolume('vbs-vol-aaaa'), undefined);
      await lvm.createThinVolume({ lvName: 'vbs-vol-aaaa', sizeBytes: 104857600 });
      assert.equal((await lvm.findVolume('vbs-vol-aaaa'))?.sizeBytes, 104857600);
      await lvm.removeVolume('vbs-vol-cccc');
      assert.deepEqual((await lvm.listVolumes()).map((lv) => lv.name), ['vbs-snap-bbbb', 'vbs-vol-aaaa']);
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvs']), [VG_LVS, [...LVS, 'vbs/vbs-vol-aaaa']]);
    });

    it('drops the report when a change fails, so the next read lists again', async () => {
      const { runner, lvm } = remembering();
      runner.on(VG_LVS, before()).on(['lvm', 'lvremove'], { exitCode: 5, stderr: '  Logical volume vbs/vbs-vol-cccc contains a filesystem in use.' });
      await lvm.listVolumes();
      await assert.rejects(lvm.removeVolume('vbs-vol-cccc'));
      await lvm.listVolumes();
      assert.deepEqual(runner.argvsMatching(['lvm', 'lvs']), [VG_LVS, VG_LVS]);
    });

    it('does not remember a listing that a change overtook: it may predate the change', async () => {
      const runner = new FakeRunner();
      const listingHeld = Promise.withResolvers<void>();
      let created = false;
      let listings = 0;
      runner.on(VGS, VG_REPORT).on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      runner.on(['lvm', 'lvcreate'], () => ((created = true), {}));
      runner.on(VG_LVS, () => (listings++, created ? lvsReport('pool', 'vbs-vol-aaaa') : before()));
      // The first listing reads lvm's state at once but answers only when released.
      let first = true;
      const heldRunner: CommandRunner = {
        run: async (cmd, signal) => {
          const result = runner.run(cmd, signal);
          if (cmd.args.at(-1) === 'vbs' && cmd.args[0] === 'lvs' && first) {
            first = false;
            await listingHeld.promise;
          }
          return result;
        },
      };
      const lvm = new Lvm({ runner: heldRunner, vgName: 'vbs', thinPoolName: 'pool', reportMaxAgeMs: 30_000 });
      const stale = lvm.findVolume('vbs-vol-aaaa');
      await lvm.createThinVolume({ lvName: 'vbs-vol-aaaa', sizeBytes: 104857600 });
      listingHeld.resolve();
      assert.equal(await stale, undefined, 'the overtaken listing still answers the caller that started it');
      assert.equal((await lvm.findVolume('vbs-vol-aaaa'))?.name, 'vbs-vol-aaaa', 'but it was not remembered');
      assert.equal(listings, 2);
    });

    it('remembers the VG until a change allocates or frees extents: thin creates keep it, a removal drops it', async () => {
      const { runner, lvm } = remembering();
      runner.on(VGS, VG_REPORT).on(['lvm', 'lvcreate'], {}).on(['lvm', 'lvremove'], {});
      runner.on([...LVS, 'vbs/vbs-vol-aaaa'], lvsReport('vbs-vol-aaaa'));
      const vgs = () => runner.argvsMatching(['lvm', 'vgs']).length;
      assert.equal((await lvm.getVolumeGroup()).freeBytes, 1061158912);
      await lvm.getVolumeGroup();
      assert.equal(vgs(), 1);
      await lvm.createThinVolume({ lvName: 'vbs-vol-aaaa', sizeBytes: 104857600 });
      await lvm.getVolumeGroup();
      assert.equal(vgs(), 1, 'a thin LV takes its blocks from the pool, not the VG');
      await lvm.removeVolume('vbs-vol-aaaa');
      await lvm.getVolumeGroup();
      assert.equal(vgs(), 2, 'a removal may free extents');
      await lvm.getVolumeGroup(undefined, { maxAgeMs: 0 });
      assert.equal(vgs(), 3, 'maxAgeMs 0 reads afresh');
    });

    it('refuses a negative max age', () => {
      assert.throws(() => new Lvm({ runner: new FakeRunner(), vgName: 'vbs', thinPoolName: 'pool', reportMaxAgeMs: -1 }), InvalidArgumentError);
    });
  });
});
