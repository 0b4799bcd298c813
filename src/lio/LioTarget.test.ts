import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.ts';
import { LioTarget } from './LioTarget.ts';
import { SimulatedLioConfigFs } from './testing/SimulatedLioConfigFs.ts';
import type { AclSpec, ExportSpec } from './types.ts';

const TARGET = 'iqn.2026-11.io.vbs:pvc-1';
const TPG = `iscsi/${TARGET}/tpgt_1`;
const BS = 'core/iblock_0/pvc-1';
const NODE_A = 'iqn.1993-08.org.debian:01:node-a';
const NODE_B = 'iqn.1993-08.org.debian:01:node-b';
const ACL_A: AclSpec = { initiatorIqn: NODE_A, chap: { username: 'user-a', password: 'secret-a-123456' } };
const ACL_B: AclSpec = { initiatorIqn: NODE_B, chap: { username: 'user-b', password: 'secret-b-123456', mutual: { username: 'tgt-b', password: 'mutual-b-123456' } } };
const SPEC: ExportSpec = {
  backstoreName: 'pvc-1',
  devicePath: '/dev/vg0/pvc-1',
  serial: '0a1b2c3d-2345-8678-9abc-def012345678',
  targetIqn: TARGET,
  portal: { ip: '127.0.0.2', port: 3260 },
  thin: true,
  acls: [ACL_A],
};

describe('LioTarget', () => {
  let sim: SimulatedLioConfigFs;
  let lio: LioTarget;
  beforeEach(async () => {
    sim = await SimulatedLioConfigFs.create();
    lio = new LioTarget({ configFs: sim });
  });
  afterEach(async () => sim.destroy());

  const indexOfOp = (prefix: string): number => {
    const i = sim.ops.findIndex((op) => op.startsWith(prefix));
    assert.ok(i >= 0, `no op starting with ${prefix} in:\n${sim.ops.join('\n')}`);
    return i;
  };

  describe('exportVolume', () => {
    test('builds the backstore, target, LUN, portal and ACL with CHAP and enables the TPG', async () => {
      await lio.exportVolume(SPEC);
      assert.equal(await sim.raw(`${BS}/udev_path`), '/dev/vg0/pvc-1\n');
      assert.equal(await sim.raw(`${BS}/enable`), '1\n');
      assert.equal(await sim.raw(`${BS}/wwn/vpd_unit_serial`), `T10 VPD Unit Serial Number: ${SPEC.serial}\n`);
      assert.equal(await sim.readLink(`${TPG}/lun/lun_0/pvc-1`), BS);
      assert.equal(await sim.exists(`${TPG}/np/127.0.0.2:3260`), true);
      assert.equal(await sim.readLink(`${TPG}/acls/${NODE_A}/lun_0/lun_0`), `${TPG}/lun/lun_0`);
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_A}/cmdsn_depth`), '128\n');
      assert.equal(await sim.raw(`${TPG}/enable`), '1\n');
      assert.ok(sim.ops.includes(`write ${BS}/control=udev_path=/dev/vg0/pvc-1`));
    });

    test('writes CHAP values without a trailing newline, which would make the login fail', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_B] });
      const auth = `${TPG}/acls/${NODE_B}/auth`;
      // The simulated show() appends exactly one newline to what was written.
      assert.equal(await sim.raw(`${auth}/userid`), 'user-b\n');
      assert.equal(await sim.raw(`${auth}/password`), 'secret-b-123456\n');
      assert.equal(await sim.raw(`${auth}/userid_mutual`), 'tgt-b\n');
      assert.equal(await sim.raw(`${auth}/password_mutual`), 'mutual-b-123456\n');
    });

    test('puts back authentication=1 and generate_node_acls=0 when someone changed them', async () => {
      await sim.ensureDir(`iscsi/${TARGET}`);
      await sim.ensureDir(TPG);
      await sim.poke(`${TPG}/attrib/generate_node_acls`, '1\n');
      await sim.poke(`${TPG}/attrib/authentication`, '0\n');
      const report = await lio.exportVolume(SPEC);
      assert.ok(report.changes.includes(`write ${TPG}/attrib/authentication=1`));
      assert.ok(report.changes.includes(`write ${TPG}/attrib/generate_node_acls=0`));
      assert.equal(await sim.raw(`${TPG}/attrib/authentication`), '1\n');
      assert.equal(await sim.raw(`${TPG}/attrib/generate_node_acls`), '0\n');
      assert.equal(await sim.raw(`${TPG}/attrib/demo_mode_write_protect`), '1\n');
      assert.equal(await sim.raw(`${TPG}/attrib/cache_dynamic_acls`), '0\n');
    });

    test('sets the serial after udev_path and before enabling the backstore or linking any LUN', async () => {
      await lio.exportVolume(SPEC);
      const control = indexOfOp(`write ${BS}/control=`);
      const serial = indexOfOp(`write ${BS}/wwn/vpd_unit_serial=`);
      assert.ok(control < serial);
      assert.ok(serial < indexOfOp(`write ${BS}/enable=1`));
      assert.ok(serial < indexOfOp(`link ${TPG}/lun/lun_0/`));
    });

    test('enables the TPG last, after every ACL is mapped', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      assert.equal(indexOfOp(`write ${TPG}/enable=1`), sim.ops.length - 1);
    });

    test('advertises UNMAP and WRITE SAME for a thin LV, after enabling the backstore', async () => {
      await lio.exportVolume(SPEC);
      assert.equal(await sim.raw(`${BS}/attrib/emulate_tpu`), '1\n');
      assert.equal(await sim.raw(`${BS}/attrib/emulate_tpws`), '1\n');
      assert.ok(indexOfOp(`write ${BS}/enable=1`) < indexOfOp(`write ${BS}/attrib/emulate_tpu=1`));
    });

    test('never claims that unmapped blocks read as zeroes (LBPRZ): dm-thin leaves a sub-chunk discard undone', async () => {
      await lio.exportVolume(SPEC);
      assert.equal(await sim.raw(`${BS}/attrib/unmap_zeroes_data`), '0\n');
      assert.equal(sim.ops.some((op) => op.includes('unmap_zeroes_data')), false);
    });

    test('reads an export that lost WRITE SAME with UNMAP as not thin, and exporting again puts it back', async () => {
      await lio.exportVolume(SPEC);
      await sim.poke(`${BS}/attrib/emulate_tpws`, '0\n');
      assert.equal((await lio.readExport(TARGET))?.luns[0]?.backstore?.thin, false, 'reconcile compares this flag and re-exports');
      const report = await lio.exportVolume(SPEC);
      assert.deepEqual(report.changes, [`write ${BS}/attrib/emulate_tpws=1`]);
      assert.equal((await lio.readExport(TARGET))?.luns[0]?.backstore?.thin, true);
    });

    test('leaves UNMAP off for a volume that is not thin', async () => {
      await lio.exportVolume({ ...SPEC, thin: false });
      assert.equal(await sim.raw(`${BS}/attrib/emulate_tpu`), '0\n');
      assert.equal(sim.ops.some((op) => op.includes('emulate_tpu')), false);
    });

    test('maps the LUN write-protected for a read-only export', async () => {
      await lio.exportVolume({ ...SPEC, readOnly: true });
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_A}/lun_0/write_protect`), '1\n');
    });

    test('lets each ACL of the spec set its own write protection, over the spec\'s', async () => {
      await lio.exportVolume({ ...SPEC, readOnly: true, acls: [{ ...SPEC.acls[0]!, readOnly: false }, { ...ACL_B, readOnly: true }] });
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_A}/lun_0/write_protect`), '0\n');
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_B}/lun_0/write_protect`), '1\n');
    });

    test('changes nothing when run again on a complete export', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      const before = await sim.snapshot();
      const opsBefore = sim.ops.length;
      const report = await lio.exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      assert.deepEqual(report.changes, []);
      assert.equal(sim.ops.length, opsBefore, sim.ops.slice(opsBefore).join('\n'));
      assert.deepEqual(await sim.snapshot(), before);
    });

    test('adds a missing ACL on a live export without rewriting the existing ACL or the TPG', async () => {
      await lio.exportVolume(SPEC);
      const opsBefore = sim.ops.length;
      const report = await lio.exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      const newOps = sim.ops.slice(opsBefore);
      assert.ok(newOps.length > 0);
      assert.ok(newOps.every((op) => op.includes(`/acls/${NODE_B}`)), newOps.join('\n'));
      assert.equal(report.changes.length, newOps.length);
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_B}/cmdsn_depth`), '128\n');
    });

    test('never rewrites cmdsn_depth on a live ACL, even when the configured depth changed', async () => {
      await lio.exportVolume(SPEC);
      const deeper = new LioTarget({ configFs: sim, cmdsnDepth: 256 });
      await deeper.exportVolume(SPEC);
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_A}/cmdsn_depth`), '128\n');
      assert.equal(sim.ops.filter((op) => op.includes('cmdsn_depth')).length, 1);
    });

    test('rotates a CHAP password on an existing ACL and reports it without the secret', async () => {
      await lio.exportVolume(SPEC);
      const report = await lio.exportVolume({ ...SPEC, acls: [{ ...ACL_A, chap: { ...ACL_A.chap, password: 'rotated-123456' } }] });
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_A}/auth/password`), 'rotated-123456\n');
      assert.deepEqual(report.changes, [`write ${TPG}/acls/${NODE_A}/auth/password`]);
    });

    test('clears mutual CHAP that is no longer wanted by writing NULL', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_B] });
      await lio.exportVolume({ ...SPEC, acls: [{ ...ACL_B, chap: { username: 'user-b', password: 'secret-b-123456' } }] });
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_B}/auth/userid_mutual`), 'NULL\n');
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_B}/auth/password_mutual`), 'NULL\n');
      const again = await lio.exportVolume({ ...SPEC, acls: [{ ...ACL_B, chap: { username: 'user-b', password: 'secret-b-123456' } }] });
      assert.deepEqual(again.changes, []);
    });

    test('stores initiator names in lowercase, since LIO matches ACL names byte for byte', async () => {
      await lio.exportVolume({ ...SPEC, acls: [{ ...ACL_A, initiatorIqn: NODE_A.toUpperCase().replace('IQN', 'iqn') }] });
      assert.equal(await sim.exists(`${TPG}/acls/${NODE_A}`), true);
    });

    test('refuses to change the serial of an existing backstore', async () => {
      await lio.exportVolume(SPEC);
      await assert.rejects(lio.exportVolume({ ...SPEC, serial: '11111111-2222-8333-9444-555555555555' }), FailedPreconditionError);
    });

    test('refuses to re-point an enabled backstore at another device', async () => {
      await lio.exportVolume(SPEC);
      await assert.rejects(lio.exportVolume({ ...SPEC, devicePath: '/dev/vg0/other' }), FailedPreconditionError);
    });

    test('refuses a LUN already linked to another backstore', async () => {
      await lio.exportVolume(SPEC);
      await assert.rejects(lio.exportVolume({ ...SPEC, backstoreName: 'pvc-2', devicePath: '/dev/vg0/pvc-2', serial: '11111111-2222-8333-9444-555555555555' }), FailedPreconditionError);
    });

    test('accepts a LUN link under another name that points at the right backstore, as targetcli makes them', async () => {
      await lio.exportVolume(SPEC);
      await sim.removeIfPresent(`${TPG}/acls/${NODE_A}/lun_0/lun_0`);
      await sim.removeIfPresent(`${TPG}/lun/lun_0/pvc-1`);
      await sim.ensureLink(`${TPG}/lun/lun_0/a1b2c3d4e5`, BS);
      const opsBefore = sim.ops.length;
      await lio.exportVolume(SPEC);
      assert.ok(sim.ops.slice(opsBefore).every((op) => !op.startsWith(`link ${TPG}/lun/`)));
      assert.equal(await sim.readLink(`${TPG}/acls/${NODE_A}/lun_0/lun_0`), `${TPG}/lun/lun_0`);
    });

    test('rejects an invalid spec before touching configfs', async () => {
      await assert.rejects(lio.exportVolume({ ...SPEC, backstoreName: '../x' }), InvalidArgumentError);
      assert.deepEqual(sim.ops, []);
    });
  });

  describe('after a crash part-way through an export', () => {
    test('every prefix of the export converges on a re-run, and unexport cleans every prefix', async () => {
      const reference = await SimulatedLioConfigFs.create();
      await new LioTarget({ configFs: reference }).exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      const expected = await reference.snapshot();
      const total = reference.ops.length;
      const empty = await (await SimulatedLioConfigFs.create()).snapshot();
      await reference.destroy();

      for (let crashAt = 0; crashAt < total; crashAt++) {
        const a = await SimulatedLioConfigFs.create();
        a.crashAtOp = crashAt;
        await assert.rejects(new LioTarget({ configFs: a }).exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] }), /simulated crash/);
        await new LioTarget({ configFs: a }).exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
        assert.deepEqual(await a.snapshot(), expected, `re-run after a crash at op ${crashAt}`);
        await a.destroy();

        const b = await SimulatedLioConfigFs.create();
        b.crashAtOp = crashAt;
        await assert.rejects(new LioTarget({ configFs: b }).exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] }), /simulated crash/);
        await new LioTarget({ configFs: b }).unexportVolume(TARGET, 'pvc-1');
        const left = (await b.snapshot()).filter((line) => !line.startsWith('core/iblock_0'));
        assert.deepEqual(left, empty, `unexport after a crash at op ${crashAt}`);
        await b.destroy();
      }
    });
  });

  describe('addAcl and removeAcl', () => {
    test('adds an ACL to a live export, write-protected when asked', async () => {
      await lio.exportVolume(SPEC);
      const report = await lio.addAcl(TARGET, ACL_B, { readOnly: true });
      assert.ok(report.changes.length > 0);
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_B}/auth/userid`), 'user-b\n');
      assert.equal(await sim.raw(`${TPG}/acls/${NODE_B}/lun_0/write_protect`), '1\n');
      assert.deepEqual((await lio.addAcl(TARGET, ACL_B, { readOnly: true })).changes, []);
    });

    test('refuses to add an ACL to a target that is not exported', async () => {
      await assert.rejects(lio.addAcl(TARGET, ACL_B), NotFoundError);
    });

    test('removes the mapped LUN and then the ACL, and reports false once it is gone', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      assert.equal(await lio.removeAcl(TARGET, NODE_B), true);
      assert.equal(await sim.exists(`${TPG}/acls/${NODE_B}`), false);
      const unlink = sim.ops.indexOf(`remove ${TPG}/acls/${NODE_B}/lun_0/lun_0`);
      const rmdirMapped = sim.ops.indexOf(`remove ${TPG}/acls/${NODE_B}/lun_0`);
      const rmdirAcl = sim.ops.indexOf(`remove ${TPG}/acls/${NODE_B}`);
      assert.ok(unlink >= 0 && unlink < rmdirMapped && rmdirMapped < rmdirAcl, sim.ops.join('\n'));
      assert.equal(await sim.exists(`${TPG}/acls/${NODE_A}/lun_0/lun_0`), true, 'the other initiator keeps its access');
      assert.equal(await lio.removeAcl(TARGET, NODE_B), false);
    });
  });

  describe('unexportVolume', () => {
    test('removes everything in reverse order: TPG disabled first, backstore last', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      const start = sim.ops.length;
      await lio.unexportVolume(TARGET, 'pvc-1');
      const ops = sim.ops.slice(start);
      assert.equal(ops[0], `write ${TPG}/enable=0`);
      assert.equal(ops.at(-1), `remove ${BS}`);
      assert.ok(ops.indexOf(`remove ${TPG}/acls/${NODE_A}`) < ops.indexOf(`remove ${TPG}/lun/lun_0`));
      assert.ok(ops.indexOf(`remove ${TPG}/lun/lun_0`) < ops.indexOf(`remove ${TPG}`));
      assert.deepEqual((await sim.list('iscsi')).map((e) => e.name), ['discovery_auth', 'lio_version']);
      assert.equal(await sim.exists(BS), false);
    });

    test('succeeds with nothing to do when the export is already gone', async () => {
      const report = await lio.unexportVolume(TARGET, 'pvc-1');
      assert.deepEqual(report.changes, []);
    });

    test('leaves another volume\'s export alone', async () => {
      await lio.exportVolume(SPEC);
      const other: ExportSpec = { ...SPEC, backstoreName: 'pvc-2', devicePath: '/dev/vg0/pvc-2', targetIqn: 'iqn.2026-11.io.vbs:pvc-2', serial: '11111111-2222-8333-9444-555555555555' };
      await lio.exportVolume(other);
      await lio.unexportVolume(TARGET, 'pvc-1');
      const left = await lio.listExports();
      assert.deepEqual(left.map((e) => e.targetIqn), ['iqn.2026-11.io.vbs:pvc-2']);
      assert.equal(left[0]!.enabled, true);
    });
  });

  describe('listExports', () => {
    test('reads back target, portal, backstore, device, serial and ACLs, without secrets', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_A, ACL_B] });
      const [summary, ...rest] = await lio.listExports();
      assert.deepEqual(rest, []);
      assert.deepEqual(summary, {
        targetIqn: TARGET,
        tpgTag: 1,
        enabled: true,
        portals: [{ ip: '127.0.0.2', port: 3260 }],
        luns: [{ lun: 0, backstore: { plugin: 'iblock', hbaIndex: 0, name: 'pvc-1', devicePath: '/dev/vg0/pvc-1', serial: SPEC.serial, enabled: true, thin: true } }],
        acls: [
          { initiatorIqn: NODE_A, mappedLuns: [{ lun: 0, readOnly: false }], chapUserid: 'user-a', mutualUserid: undefined, cmdsnDepth: 128 },
          { initiatorIqn: NODE_B, mappedLuns: [{ lun: 0, readOnly: false }], chapUserid: 'user-b', mutualUserid: 'tgt-b', cmdsnDepth: 128 },
        ],
      });
      assert.equal(JSON.stringify(summary).includes('secret-'), false);
    });

    test('includes CHAP passwords only when asked', async () => {
      await lio.exportVolume({ ...SPEC, acls: [ACL_B] });
      const summary = await lio.readExport(TARGET, { includeSecrets: true });
      assert.equal(summary?.acls[0]?.chapPassword, 'secret-b-123456');
      assert.equal(summary?.acls[0]?.mutualPassword, 'mutual-b-123456');
    });

    test('shows a half-built export as it is: disabled, LUN without backstore', async () => {
      await sim.ensureDir(`iscsi/${TARGET}`);
      await sim.ensureDir(TPG);
      await sim.ensureDir(`${TPG}/lun/lun_0`);
      assert.deepEqual(await lio.readExport(TARGET), { targetIqn: TARGET, tpgTag: 1, enabled: false, portals: [], luns: [{ lun: 0, backstore: undefined }], acls: [] });
    });

    test('answers undefined for a target that does not exist', async () => {
      assert.equal(await lio.readExport(TARGET), undefined);
    });
  });
});
