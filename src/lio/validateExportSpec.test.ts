import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.ts';
import type { ExportSpec } from './types.ts';
import { validateExportSpec } from './validateExportSpec.ts';

const valid: ExportSpec = {
  backstoreName: 'pvc-1',
  devicePath: '/dev/vg0/pvc-1',
  serial: '0a1b2c3d-2345-8678-9abc-def012345678',
  targetIqn: 'iqn.2026-11.io.vbs:pvc-1',
  portal: { ip: '127.0.0.2', port: 3260 },
  thin: true,
  acls: [{ initiatorIqn: 'iqn.1993-08.org.debian:01:abc', chap: { username: 'user1', password: 'secret-1234567' } }],
};

describe('validateExportSpec', () => {
  test('lowercases the target and initiator IQNs', () => {
    const out = validateExportSpec({ ...valid, targetIqn: 'IQN.2026-11.io.vbs:PVC-1', acls: [{ ...valid.acls[0]!, initiatorIqn: 'iqn.1993-08.org.debian:01:ABC' }] });
    assert.equal(out.targetIqn, 'iqn.2026-11.io.vbs:pvc-1');
    assert.equal(out.acls[0]!.initiatorIqn, 'iqn.1993-08.org.debian:01:abc');
    assert.equal(out.readOnly, false);
  });

  const chap = valid.acls[0]!.chap;
  const refused: { name: string; spec: ExportSpec }[] = [
    { name: 'refuses a backstore name with a slash', spec: { ...valid, backstoreName: 'vg/lv' } },
    { name: 'refuses a backstore name of ".."', spec: { ...valid, backstoreName: '..' } },
    { name: 'refuses a device path outside /dev', spec: { ...valid, devicePath: '/tmp/disk' } },
    { name: 'refuses a device path with a comma, which the iblock control parser would split', spec: { ...valid, devicePath: '/dev/vg0/a,readonly=1' } },
    { name: 'refuses a device path climbing out with ..', spec: { ...valid, devicePath: '/dev/../etc/passwd' } },
    { name: 'refuses a serial that is not a UUID', spec: { ...valid, serial: 'serial-1' } },
    { name: 'refuses a portal address that is not an IP', spec: { ...valid, portal: { ip: 'storage-1', port: 3260 } } },
    { name: 'refuses port 0', spec: { ...valid, portal: { ip: '127.0.0.2', port: 0 } } },
    { name: 'refuses a CHAP password with a trailing newline', spec: { ...valid, acls: [{ ...valid.acls[0]!, chap: { ...chap, password: 'secret-1234567\n' } }] } },
    { name: 'refuses an empty CHAP userid', spec: { ...valid, acls: [{ ...valid.acls[0]!, chap: { ...chap, username: '' } }] } },
    { name: 'refuses "NULL" as a CHAP password, which the kernel reads as "clear"', spec: { ...valid, acls: [{ ...valid.acls[0]!, chap: { ...chap, password: 'NULL' } }] } },
    { name: 'refuses a mutual userid with an empty mutual password', spec: { ...valid, acls: [{ ...valid.acls[0]!, chap: { ...chap, mutual: { username: 'target', password: '' } } }] } },
    {
      name: 'refuses mutual CHAP that reuses the initiator secret',
      spec: { ...valid, acls: [{ ...valid.acls[0]!, chap: { ...chap, mutual: { username: 'target', password: chap.password } } }] },
    },
    { name: 'refuses the same initiator twice, even in different case', spec: { ...valid, acls: [valid.acls[0]!, { ...valid.acls[0]!, initiatorIqn: 'iqn.1993-08.org.debian:01:ABC' }] } },
    { name: 'refuses a cmdsn_depth above the kernel limit of 512', spec: { ...valid, acls: [{ ...valid.acls[0]!, cmdsnDepth: 1024 }] } },
    { name: 'refuses an initiator IQN with an underscore', spec: { ...valid, acls: [{ ...valid.acls[0]!, initiatorIqn: 'iqn.1993-08.org.debian:01:a_b' }] } },
  ];
  for (const c of refused) test(c.name, () => assert.throws(() => validateExportSpec(c.spec), InvalidArgumentError));
});
