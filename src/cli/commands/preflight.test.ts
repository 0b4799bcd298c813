import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDeviceScanConfig } from '../../lvm/index.ts';
import type { PreflightFacts } from '../preflight/facts.ts';
import { runCli } from '../runCli.ts';
import type { PreflightCommand } from './preflight.ts';

const FACTS: PreflightFacts = {
  modules: new Set(['iscsi_tcp', 'dm_mod']),
  processes: new Set(['systemd', 'iscsid']),
  pid1: 'systemd',
  iscsidSocket: false,
  initiatorNameFile: 'InitiatorName=iqn.2026-11.io.example:w1\n',
  lvm: { kind: 'config', config: parseDeviceScanConfig('global_filter=["a|^/dev/vda$|","r|.*|"]\n'), devicesFileText: undefined },
  iscsiDisks: [],
  vbsDmDevices: [],
  multipathConf: undefined,
  cluster: undefined,
};

async function preflight(argv: string[], facts: PreflightFacts = FACTS, env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const seen: PreflightCommand[] = [];
  const code = await runCli(['preflight', ...argv], {
    env,
    out: { write: (t: string) => (out += t) },
    err: { write: (t: string) => (err += t) },
    gatherPreflightFacts: async (cmd) => {
      seen.push(cmd);
      return facts;
    },
  });
  return { code, out, err, seen };
}

describe('vbs-csi preflight', () => {
  it('prints every check and exits 0 on a ready worker', async () => {
    const r = await preflight(['--node-name', 'w1']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^CHECK +STATUS +DETAIL$/m);
    assert.match(r.out, /^kernel module iscsi_tcp +OK +loaded$/m);
    assert.match(r.out, /^lvm keeps iSCSI disks out +OK +global_filter/m);
    assert.doesNotMatch(r.out, /What to do/);
    assert.match(r.err, /w1 is ready for vbs-csi \(node\)/);
    assert.deepEqual(r.seen[0], { name: 'preflight', roles: ['node'], hostRoot: '/', hostExec: false, cluster: false, nodeName: 'w1', driverName: 'vbs.csi.io' });
  });

  it('exits 7 when a check fails and says what to do', async () => {
    const r = await preflight(['--role', 'all'], { ...FACTS, modules: new Set(['iscsi_tcp', 'dm_mod', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod']) });
    assert.equal(r.code, 7);
    assert.match(r.out, /^kernel module dm_thin_pool +FAIL/m);
    assert.match(r.out, /What to do:\n {2}kernel module dm_thin_pool: modprobe dm_thin_pool/);
    assert.match(r.err, /1 check\(s\) failed/);
  });

  it('exits 1 when a check could not be made, and prints JSON for scripts', async () => {
    const r = await preflight(['--json', '--cluster'], { ...FACTS, cluster: { error: 'no Kubernetes configuration' } }, { NODE_NAME: 'w1' });
    assert.equal(r.code, 1);
    const json = JSON.parse(r.out) as { node: string; ok: boolean; checks: { check: string; status: string }[] };
    assert.equal(json.node, 'w1', 'NODE_NAME names the node (the chart sets it in the node plugin)');
    assert.equal(json.ok, false);
    assert.deepEqual(json.checks.find((c) => c.check.startsWith('initiator name unique'))?.status, 'unknown');
    assert.equal(r.seen[0]?.cluster, true);
  });

  it('refuses a bad role, host root or node name before looking at anything (exit 2)', async () => {
    for (const [argv, message] of [
      [['--role', 'controller'], /--role "controller": expected node/],
      [['--host-root', 'host'], /--host-root "host": expected an absolute/],
      [['--node-name', 'Bad_Name'], /--node-name "Bad_Name"/],
    ] as const) {
      const r = await preflight([...argv]);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, message);
      assert.equal(r.seen.length, 0);
    }
  });

  it('--host-exec and --host-root reach the gatherer (a pod with hostPID reads the host through /proc/1/root)', async () => {
    const storageModules = new Set(['dm_thin_pool', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod']);
    const r = await preflight(['--host-root', '/proc/1/root', '--host-exec', '--role', 'agent', '--driver-name', 'other.csi.io'], { ...FACTS, modules: storageModules });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.seen[0]?.roles, ['agent']);
    assert.equal(r.seen[0]?.hostRoot, '/proc/1/root');
    assert.equal(r.seen[0]?.hostExec, true);
    assert.equal(r.seen[0]?.driverName, 'other.csi.io');
  });
});
