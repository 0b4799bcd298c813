import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandFailedError } from '../../exec/index.ts';
import { FakeRunner } from '../../../test/fakes/FakeRunner.ts';
import { gatherPreflightFacts } from './facts.ts';
import { hostFilesUnder } from './hostFiles.ts';
import { FakeHostFiles } from './testing/FakeHostFiles.ts';

const LVMCONFIG = 'devices {\n\tuse_devicesfile=1\n\tdevicesfile="system.devices"\n\tfilter=["a|.*|"]\n\tglobal_filter=["a|.*|"]\n}\n';
const BY_PATH = 'ip-10.0.0.5:3260-iscsi-iqn.2026-11.io.vbs-csi:store-a-lun-0';

function host(): FakeHostFiles {
  return new FakeHostFiles()
    .file('/proc/modules', 'iscsi_tcp 24576 0 - Live 0x0\nlibiscsi_tcp 32768 1 iscsi_tcp, Live 0x0\n')
    .file('/sys/module/dm_mod/parameters/major', '0\n')
    .file('/proc/1/comm', 'systemd\n')
    .file('/proc/812/comm', 'iscsid\n')
    .file('/proc/self/comm', 'node\n')
    .file('/proc/net/unix', 'Num       RefCount Protocol Flags    Type St Inode Path\n0000: 00000002 00000000 00010000 0001 01 1234 @ISCSIADM_ABSTRACT_NAMESPACE\n')
    .file('/etc/iscsi/initiatorname.iscsi', 'InitiatorName=iqn.2026-11.io.example:w1\n')
    .file('/etc/lvm/devices/system.devices', 'IDTYPE=devname IDNAME=/dev/vda2 DEVNAME=/dev/vda2 PVID=x\n')
    .file('/dev/sdb', '')
    .file('/dev/dm-3', '')
    .link(`/dev/disk/by-path/${BY_PATH}`, '../../sdb')
    .link('/dev/disk/by-id/wwn-0x6001405aa', '../../sdb')
    .link('/dev/disk/by-id/dm-name-vbs-abc', '../../dm-3')
    .link('/dev/mapper/vbs-abc', '../dm-3')
    .file('/sys/block/sdb/device/vendor', 'LIO-ORG \n')
    .file('/sys/block/sdb/holders/dm-3', '')
    .file('/sys/block/dm-3/dm/name', 'vbs-abc\n')
    .file('/sys/block/dm-3/dm/uuid', 'VBS-abc\n');
}

describe('gatherPreflightFacts', () => {
  it('reads modules, processes, the iscsid socket, the initiator file, lvm, the iSCSI disks with all their names, and holders', async () => {
    const runner = new FakeRunner().on(['lvm', 'lvmconfig', '--typeconfig', 'full', 'devices'], { stdout: LVMCONFIG });
    const facts = await gatherPreflightFacts({ files: host(), runner });
    assert.ok(facts.modules.has('iscsi_tcp') && facts.modules.has('libiscsi_tcp') && facts.modules.has('dm_mod'));
    assert.deepEqual([...facts.processes].sort(), ['iscsid', 'systemd'], '/proc/self is not a process of its own');
    assert.equal(facts.pid1, 'systemd');
    assert.equal(facts.iscsidSocket, true);
    assert.match(facts.initiatorNameFile ?? '', /w1/);
    assert.equal(facts.lvm.kind, 'config');
    assert.match(facts.lvm.kind === 'config' ? (facts.lvm.devicesFileText ?? '') : '', /vda2/, 'the devices file is read when enabled');
    assert.deepEqual(facts.iscsiDisks, [
      {
        device: '/dev/sdb',
        names: ['/dev/sdb', `/dev/disk/by-path/${BY_PATH}`, '/dev/disk/by-id/wwn-0x6001405aa'],
        vendor: 'LIO-ORG',
        holders: [{ device: '/dev/dm-3', dmName: 'vbs-abc', dmUuid: 'VBS-abc' }],
      },
    ]);
    assert.deepEqual(facts.vbsDmDevices.map((d) => d.names), [['/dev/dm-3', '/dev/disk/by-id/dm-name-vbs-abc', '/dev/mapper/vbs-abc']]);
    assert.equal(facts.cluster, undefined, 'the cluster is only asked with --cluster');
  });

  it('a host without lvm reads as absent; a failing lvmconfig as an error; a failing CSINode list as the cluster error', async () => {
    const missing = new FakeRunner().on(['lvm'], () => {
      throw new CommandFailedError({ file: 'lvm', args: ['lvmconfig'], exitCode: undefined, stdout: '', stderr: '', reason: 'could not run: spawn lvm ENOENT' });
    });
    const facts = await gatherPreflightFacts({ files: host(), runner: missing, listRegistrations: async () => Promise.reject(new Error('forbidden')) });
    assert.deepEqual(facts.lvm, { kind: 'absent' });
    assert.deepEqual(facts.cluster, { error: 'forbidden' });
    const broken = new FakeRunner().on(['lvm'], { exitCode: 5, stderr: 'Parse error at byte 12' });
    const f2 = await gatherPreflightFacts({ files: host(), runner: broken, listRegistrations: async () => [{ node: 'w1', nodeId: 'iqn.x' }] });
    assert.equal(f2.lvm.kind, 'error');
    assert.deepEqual(f2.cluster, { registrations: [{ node: 'w1', nodeId: 'iqn.x' }] });
  });
});

describe('hostFilesUnder', () => {
  it('reads under the root, resolves relative and absolute links inside it, and reads missing files as undefined', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vbs-hostfiles-'));
    try {
      await mkdir(join(root, 'dev/disk/by-path'), { recursive: true });
      await writeFile(join(root, 'dev/sdb'), '');
      await symlink('../../sdb', join(root, 'dev/disk/by-path/relative'));
      await symlink('/dev/sdb', join(root, 'dev/disk/by-path/absolute'));
      await symlink('/dev/nothing', join(root, 'dev/disk/by-path/dangling'));
      const files = hostFilesUnder(root);
      assert.deepEqual(await files.list('/dev/disk/by-path'), ['absolute', 'dangling', 'relative']);
      assert.equal(await files.resolve('/dev/disk/by-path/relative'), '/dev/sdb');
      assert.equal(await files.resolve('/dev/disk/by-path/absolute'), '/dev/sdb', 'an absolute target is the host path, not this machine\'s');
      assert.equal(await files.resolve('/dev/disk/by-path/dangling'), undefined);
      assert.equal(await files.readText('/etc/none'), undefined);
      assert.deepEqual(await files.list('/none'), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
