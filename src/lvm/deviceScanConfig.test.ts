import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import { filterAccepts, parseDeviceScanConfig, parseDevicesFile, parseFilterRule } from './deviceScanConfig.ts';
import { readDeviceScanConfig } from './readDeviceScanConfig.ts';

// `lvmconfig --typeconfig full devices` of lvm 2.03.16 (Debian 12), with the test bed's allow-list.
const LVMCONFIG = `devices {
	dir="/dev"
	scan=["/dev"]
	obtain_device_list_from_udev=0
	use_devicesfile=0
	devicesfile="system.devices"
	search_for_devnames="auto"
	filter=["a|.*|"]
	global_filter=["a|^/dev/loop[0-9]+$|","r|.*|"]
	scan_lvs=0
	multipath_component_detection=1
}
`;

const ISCSI_DISK = ['/dev/sdzz', '/dev/disk/by-path/ip-192.0.2.10:3260-iscsi-iqn.2026-11.io.vbs-csi:store-a-lun-0', '/dev/disk/by-id/wwn-0x6001405abcdef'];

describe('lvm device scan configuration', () => {
  it('reads the filters and devices-file settings lvmconfig prints', () => {
    const c = parseDeviceScanConfig(LVMCONFIG);
    assert.deepEqual(c.globalFilter.map((r) => r.text), ['a|^/dev/loop[0-9]+$|', 'r|.*|']);
    assert.deepEqual(c.filter.map((r) => [r.accept, r.text]), [[true, 'a|.*|']]);
    assert.equal(c.useDevicesFile, false);
    assert.equal(c.devicesFile, 'system.devices');
    assert.equal(c.searchForDevnames, 'auto');
    assert.equal(c.scanLvs, false);
  });

  it("applies lvm's rule: any accepted name accepts the device; all matching names rejected rejects it", () => {
    const allowList = parseDeviceScanConfig(LVMCONFIG).globalFilter;
    assert.equal(filterAccepts(allowList, ISCSI_DISK), false);
    assert.equal(filterAccepts(allowList, ['/dev/loop3']), true);
    const rejectIscsiAcceptRest = ['r|/dev/disk/by-path/.*-iscsi-.*|', 'a|.*|'].map(parseFilterRule);
    assert.equal(filterAccepts(rejectIscsiAcceptRest, ISCSI_DISK), true, '/dev/sdzz matches a|.*| and that accepts the device');
    const rejectOnly = ['r|/dev/disk/by-path/.*-iscsi-.*|'].map(parseFilterRule);
    assert.equal(filterAccepts(rejectOnly, ISCSI_DISK), false, 'names matching nothing do not count');
    assert.equal(filterAccepts(rejectOnly, ['/dev/nvme0n1']), true, 'a device no rule matches is accepted');
    assert.equal(filterAccepts([], ISCSI_DISK), true);
  });

  it('refuses filter entries lvm would refuse', () => {
    assert.throws(() => parseFilterRule('x|.*|'), /not an lvm filter entry/);
    assert.throws(() => parseFilterRule('a|.*'), /not an lvm filter entry/);
    assert.throws(() => parseDeviceScanConfig('global_filter=[oops'), /cannot read the filter/);
  });

  it('reads devices file entries', () => {
    const text = '# LVM uses devices listed in this file.\nVERSION=1.1.2\nIDTYPE=sys_wwid IDNAME=naa.6001405abc DEVNAME=/dev/sdc PVID=x\nIDTYPE=devname IDNAME=/dev/vdb DEVNAME=/dev/vdb PVID=y\n';
    assert.deepEqual(parseDevicesFile(text), [
      { idType: 'sys_wwid', idName: 'naa.6001405abc', devName: '/dev/sdc' },
      { idType: 'devname', idName: '/dev/vdb', devName: '/dev/vdb' },
    ]);
  });

  it('runs lvm lvmconfig for the full devices section', async () => {
    const runner = new FakeRunner().on(['lvm', 'lvmconfig', '--typeconfig', 'full', 'devices'], { stdout: LVMCONFIG });
    const c = await readDeviceScanConfig(runner);
    assert.equal(c.globalFilter.length, 2);
    assert.equal(runner.calls.length, 1);
  });
});
