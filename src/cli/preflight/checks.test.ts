import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeviceScanConfig } from '../../lvm/index.ts';
import { blacklistsLio, preflightChecks } from './checks.ts';
import type { CheckResult, PreflightOptions } from './checks.ts';
import type { HostDisk, PreflightFacts } from './facts.ts';
import { preflightExitCode } from '../commands/preflight.ts';

const IQN = 'iqn.2026-11.io.example:worker-1';
const lvmConfig = (globalFilter: string, filter = '["a|.*|"]', extra = '') =>
  parseDeviceScanConfig(`devices {\n\tuse_devicesfile=0\n\tdevicesfile="system.devices"\n\tfilter=${filter}\n\tglobal_filter=${globalFilter}\n${extra}}\n`);

/** A worker that passes every check: modules loaded, iscsid running, a unique name, an allow-list filter, no multipathd. */
function goodWorker(change: Partial<PreflightFacts> = {}): PreflightFacts {
  return {
    modules: new Set(['iscsi_tcp', 'dm_mod', 'libiscsi']),
    processes: new Set(['systemd', 'iscsid', 'kubelet']),
    pid1: 'systemd',
    iscsidSocket: true,
    initiatorNameFile: `## DO NOT EDIT\nInitiatorName=${IQN}\n`,
    lvm: { kind: 'config', config: lvmConfig('["a|^/dev/nvme0n1p3$|","r|.*|"]'), devicesFileText: undefined },
    iscsiDisks: [],
    vbsDmDevices: [],
    multipathConf: undefined,
    cluster: undefined,
    ...change,
  };
}

const OPTS: PreflightOptions = { roles: new Set(['node']), nodeName: 'worker-1', driverName: 'vbs.csi.io' };
const run = (facts: PreflightFacts, opts: Partial<PreflightOptions> = {}) => preflightChecks(facts, { ...OPTS, ...opts });
const byCheck = (results: CheckResult[], prefix: string): CheckResult => {
  const r = results.find((x) => x.check.startsWith(prefix));
  assert.ok(r, `a ${prefix} check among ${results.map((x) => x.check).join(', ')}`);
  return r;
};

const SDB: HostDisk = {
  device: '/dev/sdb',
  names: ['/dev/sdb', '/dev/disk/by-path/ip-10.0.0.5:3260-iscsi-iqn.2026-11.io.vbs-csi:store-a-lun-0', '/dev/disk/by-id/wwn-0x6001405aa'],
  vendor: 'LIO-ORG',
  holders: [],
};

describe('preflight checks', () => {
  it('a well-prepared worker passes every check (exit 0), and the node role does not ask for the storage modules', () => {
    const results = run(goodWorker());
    assert.deepEqual(results.map((r) => [r.check, r.status]), [
      ['kernel module iscsi_tcp', 'ok'],
      ['kernel module dm_mod', 'ok'],
      ['iscsid', 'ok'],
      ['iSCSI initiator name', 'ok'],
      ['lvm keeps iSCSI disks out', 'ok'],
      ['multipathd leaves iSCSI disks alone', 'ok'],
    ]);
    assert.equal(preflightExitCode(results), 0);
  });

  it('a storage node needs dm_thin_pool and the LIO modules; a missing one fails with the modprobe to run (exit 7)', () => {
    const results = run(goodWorker({ modules: new Set(['dm_mod', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod']) }), { roles: new Set(['agent']) });
    const thin = byCheck(results, 'kernel module dm_thin_pool');
    assert.equal(thin.status, 'fail');
    assert.match(thin.fix ?? '', /modprobe dm_thin_pool.*modules-load\.d/);
    assert.equal(byCheck(results, 'kernel module target_core_mod').status, 'ok');
    assert.ok(!results.some((r) => r.check === 'iscsid'), 'a storage node does not log in');
    assert.equal(byCheck(results, 'lvm does not scan inside LVs').status, 'ok');
    assert.equal(preflightExitCode(results), 7);
  });

  it('iscsid: running, socket-activated, stopped, or not visible from a container', () => {
    assert.equal(byCheck(run(goodWorker({ processes: new Set(['systemd']), iscsidSocket: true })), 'iscsid').status, 'ok');
    const stopped = byCheck(run(goodWorker({ processes: new Set(['systemd']), iscsidSocket: false })), 'iscsid');
    assert.equal(stopped.status, 'fail');
    assert.match(stopped.fix ?? '', /systemctl enable --now iscsid/);
    const hidden = byCheck(run(goodWorker({ processes: new Set(['node']), pid1: 'node', iscsidSocket: false })), 'iscsid');
    assert.equal(hidden.status, 'unknown');
    assert.match(hidden.fix ?? '', /hostPID.*--host-root \/proc\/1\/root/);
    assert.equal(preflightExitCode([hidden]), 1);
  });

  it('initiator name: missing file, no InitiatorName line, not an IQN', () => {
    assert.match(byCheck(run(goodWorker({ initiatorNameFile: undefined })), 'iSCSI initiator').detail, /initiatorname\.iscsi is missing/);
    const noLine = byCheck(run(goodWorker({ initiatorNameFile: 'GenerateName=yes\n' })), 'iSCSI initiator');
    assert.equal(noLine.status, 'fail');
    assert.match(noLine.fix ?? '', /iscsi-iname/);
    assert.equal(byCheck(run(goodWorker({ initiatorNameFile: 'InitiatorName=not-an-iqn\n' })), 'iSCSI initiator').status, 'fail');
    assert.equal(byCheck(run(goodWorker({ initiatorNameFile: `InitiatorName=${IQN.toUpperCase().replace('IQN', 'iqn')}\n` })), 'iSCSI initiator').status, 'ok', 'iSCSI names are case-insensitive');
  });

  it('with --cluster: another node registered with the same initiator name fails, naming it', () => {
    const cluster = { registrations: [{ node: 'worker-1', nodeId: IQN }, { node: 'worker-7', nodeId: IQN }, { node: 'worker-2', nodeId: 'iqn.2026-11.io.example:worker-2' }] };
    const dup = byCheck(run(goodWorker({ cluster })), 'initiator name unique');
    assert.equal(dup.status, 'fail');
    assert.match(dup.detail, /also the node id of worker-7/);
    assert.match(dup.fix ?? '', /iscsi-iname/);
    const unique = byCheck(run(goodWorker({ cluster: { registrations: cluster.registrations.filter((r) => r.node !== 'worker-7') } })), 'initiator name unique');
    assert.equal(unique.status, 'ok');
    const stale = byCheck(run(goodWorker({ cluster: { registrations: [{ node: 'worker-1', nodeId: 'iqn.2026-11.io.example:old' }] } })), 'initiator name unique');
    assert.equal(stale.status, 'warn');
    assert.match(stale.fix ?? '', /restart the node plugin/);
    const denied = byCheck(run(goodWorker({ cluster: { error: 'csinodes.storage.k8s.io is forbidden' } })), 'initiator name unique');
    assert.equal(denied.status, 'unknown');
    assert.ok(!run(goodWorker()).some((r) => r.check.startsWith('initiator name unique')), 'not checked without --cluster');
  });

  describe('lvm filter', () => {
    const lvmCheck = (config: ReturnType<typeof lvmConfig>, change: Partial<PreflightFacts> = {}, devicesFileText?: string) =>
      byCheck(run(goodWorker({ lvm: { kind: 'config', config, devicesFileText }, ...change })), 'lvm keeps');

    it("lvm's default (accept everything) fails with the allow-list to write", () => {
      const r = lvmCheck(lvmConfig('["a|.*|"]'));
      assert.equal(r.status, 'fail');
      assert.match(r.detail, /would scan the example device \/dev\/disk\/by-path\/.*-iscsi-/);
      assert.match(r.fix ?? '', /global_filter = \[ "a\|\^\/dev\/nvme0n1p3\$\|", "r\|\.\*\|" \]/);
    });

    it('"reject iSCSI, accept the rest" fails: /dev/sdX is accepted, and lvm then scans the device', () => {
      assert.equal(lvmCheck(lvmConfig('["r|/dev/disk/by-path/.*-iscsi-.*|","r|/dev/mapper/vbs-.*|","a|.*|"]')).status, 'fail');
    });

    it('reject rules without an accept-all pass (no name of our devices is accepted)', () => {
      assert.equal(lvmCheck(lvmConfig('["r|/dev/disk/by-path/.*-iscsi-.*|","r|/dev/mapper/vbs-.*|"]')).status, 'ok');
    });

    it('uses the disks logged in now when there are some: an allow-list naming one of them fails', () => {
      const config = lvmConfig('["a|^/dev/sdb$|","r|.*|"]');
      assert.equal(lvmCheck(config).status, 'ok', 'the example disk is not /dev/sdb');
      const r = lvmCheck(config, { iscsiDisks: [SDB] });
      assert.equal(r.status, 'fail');
      assert.match(r.detail, /logged-in device \/dev\/disk\/by-path\/ip-10\.0\.0\.5/);
    });

    it('a rule only in devices/filter warns: global_filter is what every lvm applies', () => {
      const r = lvmCheck(lvmConfig('["a|.*|"]', '["a|^/dev/nvme0n1p3$|","r|.*|"]'));
      assert.equal(r.status, 'warn');
      assert.match(r.fix ?? '', /global_filter/);
    });

    it('the devices file decides when enabled and present; listing a LIO disk fails', () => {
      const config = lvmConfig('["a|.*|"]', '["a|.*|"]', '\tuse_devicesfile=1\n');
      assert.equal(config.useDevicesFile, true);
      assert.equal(lvmCheck(config, {}, 'VERSION=1.1.2\nIDTYPE=sys_wwid IDNAME=eui.0025388 DEVNAME=/dev/nvme0n1p3 PVID=a\n').status, 'ok');
      const listed = lvmCheck(config, {}, 'IDTYPE=sys_wwid IDNAME=naa.6001405abc DEVNAME=/dev/sdc PVID=b\n');
      assert.equal(listed.status, 'fail');
      assert.match(listed.fix ?? '', /lvmdevices --deldev \/dev\/sdc/);
      assert.equal(lvmCheck(config, {}, undefined).status, 'fail', 'no devices file: lvm uses none, and the filters accept everything');
    });

    it('a storage node that scans inside LVs fails; one without lvm cannot serve at all', () => {
      const agent = { roles: new Set(['agent'] as const) };
      const scanning = byCheck(run(goodWorker({ lvm: { kind: 'config', config: lvmConfig('["a|^/dev/vdb$|","r|.*|"]', '["a|.*|"]', '\tscan_lvs=1\n'), devicesFileText: undefined } }), agent), 'lvm does not scan inside LVs');
      assert.equal(scanning.status, 'fail');
      assert.match(scanning.fix ?? '', /scan_lvs = 0/);
      assert.equal(byCheck(run(goodWorker({ lvm: { kind: 'absent' } }), agent), 'lvm does not scan inside LVs').status, 'fail');
      assert.ok(!run(goodWorker()).some((r) => r.check.startsWith('lvm does not scan')), 'a worker has no LVs of ours');
    });

    it('no lvm on the host passes; an unreadable configuration is unknown', () => {
      assert.equal(byCheck(run(goodWorker({ lvm: { kind: 'absent' } })), 'lvm keeps').status, 'ok');
      assert.equal(byCheck(run(goodWorker({ lvm: { kind: 'error', message: 'lvm exited with code 5' } })), 'lvm keeps').status, 'unknown');
    });
  });

  describe('multipath', () => {
    it('a multipath map holding an iSCSI disk fails with the commands to free it', () => {
      const claimed: HostDisk = { ...SDB, holders: [{ device: '/dev/dm-4', dmName: 'mpatha', dmUuid: 'mpath-36001405aa' }] };
      const r = byCheck(run(goodWorker({ iscsiDisks: [claimed], processes: new Set(['systemd', 'iscsid', 'multipathd']) })), 'multipathd');
      assert.equal(r.status, 'fail');
      assert.match(r.detail, /mpatha holds \/dev\/sdb/);
      assert.match(r.fix ?? '', /vendor "LIO-ORG".*multipath -f mpatha/);
    });

    it('our own dm device on a disk is not a multipath claim', () => {
      const ours: HostDisk = { ...SDB, holders: [{ device: '/dev/dm-2', dmName: 'vbs-abc', dmUuid: 'VBS-abc' }] };
      assert.equal(byCheck(run(goodWorker({ iscsiDisks: [ours] })), 'multipathd').status, 'ok');
    });

    it('multipathd running warns unless multipath.conf blacklists LIO-ORG', () => {
      const running = (conf: string | undefined) => byCheck(run(goodWorker({ processes: new Set(['systemd', 'iscsid', 'multipathd']), multipathConf: conf })), 'multipathd').status;
      assert.equal(running(undefined), 'warn');
      assert.equal(running('defaults {\n  find_multipaths strict\n}\nblacklist {\n  device {\n    vendor "LIO-ORG"\n    product ".*"\n  }\n}\n'), 'ok');
      assert.equal(running('blacklist_exceptions {\n  device {\n    vendor "LIO-ORG"\n  }\n}\n'), 'warn');
      assert.equal(running('# blacklist { device { vendor "LIO-ORG" } }\n'), 'warn');
    });

    it('blacklistsLio reads only the blacklist section', () => {
      assert.equal(blacklistsLio('blacklist {\n devnode "^sd[a]$"\n}\ndevices {\n device {\n vendor "LIO-ORG"\n }\n}\n'), false);
      assert.equal(blacklistsLio('blacklist { device { vendor "^LIO" } }'), true);
    });
  });
});
