import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { Iscsiadm, byPathDevice, readInitiatorName, verifyDeviceSerial, waitForDevice } from '../../src/iscsi/index.ts';
import type { IscsiTarget } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget, buildTargetIqn, buildUnitSerial } from '../../src/lio/index.ts';
import { Lvm } from '../../src/lvm/index.ts';
import { Mounter } from '../../src/mount/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import type { LoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordChap } from '../support/secretLedger.ts';
import type { Scenario } from './Scenario.ts';
import { buildAgentId } from '../../src/agentApi/ids.ts';
import { execa } from 'execa';
import type { ScenarioContext } from './Scenario.ts';

const VG = 'vbs-smoke';
const POOL = 'pool';
const PORTAL = { ip: '127.0.0.2', port: 3260 } as const;
const MiB = 1024 * 1024;

/**
 * Scenario (b) of the foundation: the whole data path through the project's own modules, the way
 * the agent and node plugin will chain them: loop-file VG with a thin pool → thin LV (src/lvm) →
 * LIO export with serial, per-initiator ACL and CHAP (src/lio) → CHAP login and serial check
 * (src/iscsi) → mkfs only when blank, mount, write, read back (src/mount) → teardown that leaves
 * no session, node record, target, backstore, LV or mount behind.
 */
export const dataPathScenario: Scenario = {
  name: 'data path: thin LV exported by LIO with CHAP, logged in, formatted, written and read back, torn down to nothing',
  timeoutMs: 240_000,
  async run(ctx) {
    const { signal } = ctx;
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const sh = (file: string, args: readonly string[]) => runner.run({ file, args, timeoutMs: 60_000 }, signal);
    const lvm = new Lvm({ runner, vgName: VG, thinPoolName: POOL });
    const lio = new LioTarget({ configFs: new FsConfigFs() });
    const iscsiadm = new Iscsiadm({ runner, timeoutsMs: { login: 60_000 } });
    const mounter = new Mounter({ runner });

    const volumeId = `smoke-${randomBytes(4).toString('hex')}`;
    const lvName = buildAgentId(volumeId, 'volume');
    const targetIqn = buildTargetIqn('iqn.2026-11.io.vbs-csi', volumeId);
    const serial = buildUnitSerial(volumeId);
    const initiatorIqn = await readInitiatorName();
    const chap = recordChap('chosen by the data path scenario', { username: `vbs-${randomBytes(4).toString('hex')}`, password: randomBytes(12).toString('base64url') });
    const target: IscsiTarget = { targetIqn, portal: PORTAL };
    const mountPath = join(ctx.workDir, 'mnt');
    let disk: LoopVolumeGroup | undefined;

    try {
      disk = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: VG, thinPoolName: POOL, fileMiB: 1024, poolMiB: 768, signal });
      ctx.log(`VG ${VG} with thin pool ${POOL} on ${disk.loopDevice}`);

      const lv = await lvm.createThinVolume({ lvName, sizeBytes: 200 * MiB, tags: { name: volumeId } }, signal);
      assert.equal(lv.sizeBytes % (4 * MiB), 0, 'the size is rounded to whole extents');
      assert.ok(lv.sizeBytes >= 200 * MiB);
      assert.equal((await lvm.findVolumeByTag('name', volumeId, signal))?.name, lvName, 'the volume is found by its tag');
      ctx.log(`thin LV ${lv.devicePath}, ${lv.sizeBytes} bytes`);

      await lio.exportVolume({
        backstoreName: lvName,
        devicePath: lv.devicePath,
        serial,
        targetIqn,
        portal: PORTAL,
        thin: true,
        acls: [{ initiatorIqn, chap }],
      });
      ctx.log(`exported as ${targetIqn} on ${PORTAL.ip}:${PORTAL.port} for ${initiatorIqn}`);

      await iscsiadm.ensureNodeRecord({ target, chap: { username: chap.username, password: chap.password } }, signal);
      await iscsiadm.login(target, signal);
      const device = await waitForDevice(byPathDevice(PORTAL, targetIqn, 0), { deadlineMs: 30_000, pollMs: 100, signal });
      assert.equal(await verifyDeviceSerial(device, serial), 'vpd_pg80', 'the LUN is identified by its serial before it is touched');
      ctx.log(`logged in: ${device} carries serial ${serial}`);
      await checkPreflight(ctx, device);

      assert.deepEqual(await mounter.formatIfBlank(device, 'ext4', { isFreshVolume: true }, signal), { formatted: true });
      assert.deepEqual(await mounter.formatIfBlank(device, 'ext4', { isFreshVolume: true }, signal), { formatted: false }, 'a formatted disk is never formatted again');
      await mkdir(mountPath, { recursive: true });
      await mounter.mount(device, mountPath, { fsType: 'ext4' }, signal);
      assert.equal(await mounter.isMounted(mountPath, signal), true);

      const data = randomBytes(16 * MiB);
      const written = sha256(data);
      await writeFile(join(mountPath, 'data.bin'), data, { flush: true });
      // Unmount and mount again, so the read comes over iSCSI and not from the page cache.
      await mounter.unmount(mountPath, signal);
      await sh('blockdev', ['--flushbufs', device]);
      await mounter.mount(device, mountPath, { fsType: 'ext4' }, signal);
      const readBack = sha256(await readFile(join(mountPath, 'data.bin')));
      assert.equal(readBack, written, 'the data read back through iSCSI equals what was written');
      ctx.log(`16 MiB written and read back, sha256 ${written}`);
    } finally {
      // Teardown in the order the node plugin and agent will use; every step tolerates "already gone",
      // so a failure above still cleans up whatever was built.
      await mounter.unmount(mountPath, signal).catch((e: unknown) => ctx.log(`unmount: ${String(e)}`));
      await iscsiadm.logout(target, signal).catch((e: unknown) => ctx.log(`logout: ${String(e)}`));
      await iscsiadm.deleteNodeRecord(target, signal).catch((e: unknown) => ctx.log(`delete record: ${String(e)}`));
      await lio.unexportVolume(targetIqn, lvName).catch((e: unknown) => ctx.log(`unexport: ${String(e)}`));
      await lvm.removeVolume(lvName, signal).catch((e: unknown) => ctx.log(`lvremove: ${String(e)}`));
      await disk?.destroy(ctx.log);
    }

    // Nothing may be left behind.
    assert.equal(await mounter.isMounted(mountPath, signal), false, 'the mount is gone');
    assert.deepEqual((await iscsiadm.listSessions(signal)).filter((s) => s.targetIqn === targetIqn), [], 'no session is left');
    assert.equal(existsSync(`/etc/iscsi/nodes/${targetIqn}`), false, 'no node record is left');
    assert.equal((await lio.listExports()).some((e) => e.targetIqn === targetIqn), false, 'no LIO target is left');
    assert.equal(existsSync(`/sys/kernel/config/target/core/iblock_0/${lvName}`), false, 'no backstore is left');
    const vgs = await sh('lvm', ['vgs', '--reportformat', 'json', '-o', 'vg_name']);
    assert.doesNotMatch(vgs.stdout, new RegExp(`"${VG}"`), 'the VG is gone');
    ctx.log('teardown left nothing behind');
  },
};

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * `vbs-csi preflight` on this real host with an iSCSI disk logged in: the test bed's lvm allow-list
 * (e2e/guest/boot.sh) passes, and lvm's default-style "reject iSCSI, accept the rest" filter (given
 * through LVM_SYSTEM_DIR, which lvm reads) fails on the real disk's names.
 */
async function checkPreflight(ctx: ScenarioContext, device: string): Promise<void> {
  const preflight = async (env: Record<string, string>) => {
    const r = await execa('node', [join(ctx.projectRoot, 'src/main.ts'), 'preflight', '--role', 'all', '--json'], { reject: false, cancelSignal: ctx.signal, env, stdin: 'ignore' });
    ctx.log(`preflight → exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    const checks = (JSON.parse(r.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks;
    return { exitCode: r.exitCode, checks, lvm: checks.find((c) => c.check === 'lvm keeps iSCSI disks out')! };
  };
  const good = await preflight({});
  assert.deepEqual(good.checks.filter((c) => c.status !== 'ok'), [], 'the test bed passes every preflight check');
  assert.equal(good.exitCode, 0);
  assert.match(good.lvm.detail, /rejects the logged-in devices/);

  const confDir = await mkdtemp(join(ctx.workDir, 'lvmconf-'));
  await writeFile(join(confDir, 'lvm.conf'), 'devices {\n\tglobal_filter = [ "r|/dev/disk/by-path/.*-iscsi-.*|", "a|.*|" ]\n}\n');
  const bad = await preflight({ LVM_SYSTEM_DIR: confDir });
  assert.equal(bad.exitCode, 7, 'a filter that accepts /dev/sdX fails preflight');
  assert.equal(bad.lvm.status, 'fail');
  assert.match(bad.lvm.detail, /logged-in device \/dev\/disk\/by-path\/.*-iscsi-/);
  ctx.log(`preflight: ok with the test bed's filter; with reject-then-accept-all it fails on ${device}`);
}
