import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.ts';
import { aclDir, backstoreDir, buildPortalName, lunDir, mappedLunDir, parseBackstorePath, parsePortalName, portalDir, tpgDir } from './lioPaths.ts';

const IQN = 'iqn.2026-11.io.vbs:vol1';
const INITIATOR = 'iqn.1993-08.org.debian:01:abc';

describe('lioPaths', () => {
  const cases: { name: string; path: string; expected: string }[] = [
    { name: 'puts a backstore under its iblock HBA', path: backstoreDir(0, 'lv1'), expected: 'core/iblock_0/lv1' },
    { name: 'puts the TPG under the target', path: tpgDir(IQN), expected: 'iscsi/iqn.2026-11.io.vbs:vol1/tpgt_1' },
    { name: 'numbers LUN 0 by default', path: lunDir(IQN), expected: 'iscsi/iqn.2026-11.io.vbs:vol1/tpgt_1/lun/lun_0' },
    { name: 'names an IPv4 portal ip:port', path: portalDir(IQN, { ip: '127.0.0.2', port: 3260 }), expected: 'iscsi/iqn.2026-11.io.vbs:vol1/tpgt_1/np/127.0.0.2:3260' },
    { name: 'puts an ACL under acls', path: aclDir(IQN, INITIATOR), expected: 'iscsi/iqn.2026-11.io.vbs:vol1/tpgt_1/acls/iqn.1993-08.org.debian:01:abc' },
    { name: 'puts the mapped LUN inside the ACL', path: mappedLunDir(IQN, INITIATOR), expected: 'iscsi/iqn.2026-11.io.vbs:vol1/tpgt_1/acls/iqn.1993-08.org.debian:01:abc/lun_0' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(c.path, c.expected));

  const refused: { name: string; build: () => string }[] = [
    { name: 'refuses a backstore name with a slash', build: () => backstoreDir(0, 'a/b') },
    { name: 'refuses ".." as a backstore name', build: () => backstoreDir(0, '..') },
    { name: 'refuses a target name with a space', build: () => tpgDir('iqn x') },
    { name: 'refuses a negative HBA index', build: () => backstoreDir(-1, 'lv') },
    { name: 'refuses a fractional LUN', build: () => lunDir(IQN, 0.5) },
  ];
  for (const c of refused) test(c.name, () => assert.throws(c.build, InvalidArgumentError));

  test('brackets an IPv6 portal and parses it back', () => {
    const name = buildPortalName({ ip: 'fd00::1', port: 3260 });
    assert.equal(name, '[fd00::1]:3260');
    assert.deepEqual(parsePortalName(name), { ip: 'fd00::1', port: 3260 });
    assert.deepEqual(parsePortalName('127.0.0.2:3261'), { ip: '127.0.0.2', port: 3261 });
    assert.equal(parsePortalName('iser'), undefined);
  });

  test('parses a LUN link target into HBA and backstore name', () => {
    assert.deepEqual(parseBackstorePath('core/iblock_3/lv-1'), { plugin: 'iblock', hbaIndex: 3, name: 'lv-1' });
    assert.equal(parseBackstorePath('iscsi/x'), undefined);
  });
});
