import assert from 'node:assert/strict';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { IoLoadSampler, NodeStatusReporter, checkThinAdmission, listVgBlockDevices, readBlockStat } from '../../src/agent/status/index.ts';
import type { BlockDevice } from '../../src/agent/status/index.ts';
import { ExecaRunner } from '../../src/exec/index.ts';
import { Lvm } from '../../src/lvm/index.ts';
import type { DeviceIoLoad__Output } from '../../src/generated/vbs/agent/v1/DeviceIoLoad.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';
import { buildAgentId } from '../../src/agentApi/ids.ts';

const VG = 'vbs-status';
const POOL = 'pool';
const MiB = 1024 * 1024;
const WRITE_MIB = 64;
/** Below this the PV counts as quiet; dd's writes (tens of MiB/s even under TCG) must lift the load over BUSY. */
const QUIET_BYTES_PER_SECOND = 256 * 1024;
const BUSY_BYTES_PER_SECOND = 4 * MiB;

/**
 * The storage agent's node status on a real kernel: a loop-file VG with a thin pool, the
 * IoLoadSampler reading the PV's /sys/class/block counters every 200 ms (2 s window), and the
 * NodeStatusReporter on top. Provisioned and allocatable bytes must be exact after a thin LV is
 * created; a 64 MiB O_DIRECT write into the LV must show up as write throughput and utilization
 * on the PV's device and as pool data use; once idle, the load must decay toward zero.
 */
export const agentStatusScenario: Scenario = {
  name: 'agent node status: thin pool capacity and I/O load follow real writes',
  timeoutMs: 180_000,
  async run(ctx) {
    const { signal } = ctx;
    const log = pino({ level: 'silent' });
    const runner = new ExecaRunner({ log });
    const sh = (file: string, args: readonly string[]) => runner.run({ file, args, timeoutMs: 120_000 }, signal);
    const lvm = new Lvm({ runner, vgName: VG, thinPoolName: POOL });
    const sampler = new IoLoadSampler({ lvm, log, intervalMs: 200, windowS: 2 });
    const lvName = buildAgentId(`status-${Date.now().toString(36)}`, 'volume');
    const reporter = new NodeStatusReporter({
      lvm,
      sampler,
      nodeName: 'storage-e2e',
      labels: { tier: 'loop' },
      portal: { ip: '127.0.0.2', port: 3260 },
      overprovisionRatio: 2,
      dataLimitPercent: 90,
      metadataLimitPercent: 80,
      isReady: () => true,
      classify: (lv) => (lv.name === lvName ? 'volume' : undefined),
    });
    const image = join(ctx.workDir, 'pv.img');
    let loop = '';
    let lvCreated = false;

    try {
      await writeFile(image, '');
      await truncate(image, 1024 * MiB);
      loop = (await sh('losetup', ['-f', '--show', image])).stdout.trim();
      await sh('lvm', ['pvcreate', '-y', loop]);
      await sh('lvm', ['vgcreate', '-y', VG, loop]);
      await sh('lvm', ['lvcreate', '-y', '--type', 'thin-pool', '-L', '512M', '-n', POOL, VG]);
      ctx.log(`VG ${VG} with thin pool ${POOL} (512 MiB) on ${loop}`);

      const { devices, problems } = await listVgBlockDevices(lvm, {}, signal);
      assert.deepEqual(problems, []);
      const pvDevice = devices[0];
      assert.ok(pvDevice && devices.length === 1, `one block device for the VG's one PV, got ${JSON.stringify(devices)}`);
      assert.equal(`/dev/${pvDevice.name}`, loop, 'the PV maps to its loop device');

      sampler.start();
      const empty = await reporter.getNodeStatus(signal);
      const pool = empty.thin_pool;
      assert.ok(pool);
      assert.equal(pool.health, 'ok');
      assert.equal(pool.provisioned_bytes, 0);
      assert.equal(pool.allocatable_bytes, pool.size_bytes * 2, 'an empty pool promises size × ratio');
      assert.equal(empty.volume_group?.name, VG);
      assert.equal(empty.volume_count, 0);
      ctx.log(`empty pool: ${JSON.stringify(pool)}`);

      const lv = await lvm.createThinVolume({ lvName, sizeBytes: 256 * MiB, tags: { name: lvName } }, signal);
      lvCreated = true;
      const created = await reporter.getNodeStatus(signal);
      assert.equal(created.thin_pool?.provisioned_bytes, lv.sizeBytes, 'provisioned is the thin LV\'s virtual size');
      assert.equal(created.thin_pool?.allocatable_bytes, pool.size_bytes * 2 - lv.sizeBytes, 'allocatable is size × ratio − provisioned, exactly');
      assert.equal(created.volume_count, 1);
      const admission = await reporter.getThinPoolStatus(signal);
      assert.equal(checkThinAdmission(admission, admission.allocatable_bytes), undefined, 'exactly what is allocatable is admitted');
      assert.match(checkThinAdmission(admission, admission.allocatable_bytes + 1) ?? '', new RegExp(`^thin pool ${VG}/${POOL} has ${admission.allocatable_bytes} bytes allocatable`));
      ctx.log(`after a ${lv.sizeBytes}-byte thin LV: provisioned ${created.thin_pool?.provisioned_bytes}, allocatable ${created.thin_pool?.allocatable_bytes}`);

      // lvcreate wrote pool metadata: let that fade first, so the load seen next is dd's.
      const quiet = await pollUntil(
        () => {
          const d = deviceLoad(sampler.current().devices, pvDevice);
          return d && d.write_bytes_per_second < QUIET_BYTES_PER_SECOND ? d : undefined;
        },
        { deadlineMs: Date.now() + 30_000, what: 'the PV to be quiet before the write', intervalMs: 100, signal },
      );
      ctx.log(`quiet before the write: ${JSON.stringify(quiet)}`);

      // Write with O_DIRECT, so the bytes reach the PV now and not at some later page-cache flush.
      const statBefore = await readBlockStat(pvDevice);
      const writeStartedMs = Date.now();
      let dd: { endedMs: number } | { error: unknown } | undefined;
      sh('dd', ['if=/dev/urandom', `of=${lv.devicePath}`, 'bs=1M', `count=${WRITE_MIB}`, 'oflag=direct']).then(
        () => (dd = { endedMs: Date.now() }),
        (error: unknown) => (dd = { error }),
      );
      // Until dd is over and the sampler has seen its writes, keep the highest smoothed load seen.
      let peak: DeviceIoLoad__Output | undefined;
      let firstSeenMs: number | undefined;
      await pollUntil(
        () => {
          if (dd && 'error' in dd) throw dd.error;
          const d = deviceLoad(sampler.current().devices, pvDevice);
          if (d && d.write_bytes_per_second >= BUSY_BYTES_PER_SECOND && d.utilization > 0) {
            firstSeenMs ??= Date.now();
            if (!peak || d.write_bytes_per_second > peak.write_bytes_per_second) peak = d;
          }
          return dd && peak ? true : undefined;
        },
        { deadlineMs: Date.now() + 90_000, what: 'dd to end and its writes to show as load on the PV device', intervalMs: 100, signal },
      );
      assert.ok(dd && 'endedMs' in dd && peak && firstSeenMs !== undefined);
      const ddMs = dd.endedMs - writeStartedMs;
      ctx.log(`load first seen ${firstSeenMs - writeStartedMs} ms after dd started; dd took ${ddMs} ms; peak smoothed load ${JSON.stringify(peak)}`);
      const statAfter = await readBlockStat(pvDevice);
      const writtenBytes = (statAfter.writeSectors - statBefore.writeSectors) * 512;
      assert.ok(writtenBytes >= WRITE_MIB * MiB, `the PV's counters saw the ${WRITE_MIB} MiB (${writtenBytes} bytes)`);
      ctx.log(`the PV's counters grew by ${writtenBytes} written bytes`);

      const written = await pollUntil(
        async () => {
          const status = await reporter.getNodeStatus(signal);
          const grown = (status.thin_pool?.data_percent ?? 0) - pool.data_percent;
          return grown >= ((WRITE_MIB * MiB) / pool.size_bytes) * 100 - 0.1 ? status : undefined;
        },
        { deadlineMs: Date.now() + 30_000, what: 'the pool\'s data use to grow by the bytes written', intervalMs: 250, signal },
      );
      const load = written.io_load;
      assert.ok(load);
      assert.equal(load.window_seconds, 2);
      assert.ok(load.write_bytes_per_second > 0 && load.utilization > 0, `node-level load: ${JSON.stringify(load)}`);
      assert.ok(load.average_latency_ms > 0, 'completed writes took time');
      ctx.log(`pool data ${pool.data_percent}% → ${written.thin_pool?.data_percent}%, node load ${JSON.stringify({ ...load, devices: undefined })}`);

      // Idle: only the sampler is read, so no lvm scan adds I/O to the PV while the load decays.
      const idleStartedMs = Date.now();
      const peakBytesPerSecond = peak.write_bytes_per_second;
      const idle = await pollUntil(
        () => {
          const d = deviceLoad(sampler.current().devices, pvDevice);
          return d && d.write_bytes_per_second < 0.01 * peakBytesPerSecond && d.utilization < 0.05 ? d : undefined;
        },
        { deadlineMs: Date.now() + 60_000, what: 'the load to decay toward 0', intervalMs: 200, signal },
      );
      ctx.log(`decayed to ${JSON.stringify(idle)} ${Date.now() - idleStartedMs} ms into the idle time`);
    } finally {
      await sampler.stop();
      if (lvCreated) await lvm.removeVolume(lvName, signal).catch((e: unknown) => ctx.log(`lvremove: ${String(e)}`));
      if (loop) {
        await sh('lvm', ['vgremove', '-y', VG]).catch((e: unknown) => ctx.log(`vgremove: ${String(e)}`));
        await sh('losetup', ['-d', loop]).catch((e: unknown) => ctx.log(`losetup -d: ${String(e)}`));
      }
    }
    const vgs = await sh('lvm', ['vgs', '--reportformat', 'json', '-o', 'vg_name']);
    assert.doesNotMatch(vgs.stdout, new RegExp(`"${VG}"`), 'the VG is gone');
  },
};

function deviceLoad(devices: readonly DeviceIoLoad__Output[], device: BlockDevice): DeviceIoLoad__Output | undefined {
  return devices.find((d) => d.device === device.name);
}
