import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../../test/fakes/FakeRunner.ts';
import { FailedPreconditionError, InvalidArgumentError } from '../../errors.ts';
import type { IoLoad__Output } from '../../generated/vbs/agent/v1/IoLoad.ts';
import type { NodeStatus } from '../../generated/vbs/agent/v1/NodeStatus.ts';
import { LVS_FIELDS, Lvm, VGS_FIELDS } from '../../lvm/index.ts';
import type { LogicalVolume } from '../../lvm/index.ts';
import { checkThinAdmission } from './capacity.ts';
import { ZERO_RATES } from './ioLoad.ts';
import { NodeStatusReporter } from './NodeStatusReporter.ts';
import type { NodeStatusReporterOptions } from './NodeStatusReporter.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/lvm/${name}`, import.meta.url), 'utf8');
const REPORT = ['--reportformat', 'json', '--units', 'b', '--nosuffix'];
const LVS = ['lvm', 'lvs', ...REPORT, '-o', LVS_FIELDS.join(',')];
const VGS = ['lvm', 'vgs', ...REPORT, '-o', VGS_FIELDS.join(','), 'vbs'];
const MiB = 1024 ** 2;

const IO_LOAD: IoLoad__Output = {
  ...ZERO_RATES,
  write_iops: 12,
  write_bytes_per_second: 3 * MiB,
  utilization: 0.4,
  average_latency_ms: 2.5,
  window_seconds: 30,
  devices: [{ device: 'loop0', ...ZERO_RATES, write_iops: 12, write_bytes_per_second: 3 * MiB, utilization: 0.4, average_latency_ms: 2.5 }],
};

/** Classifies by the LV names buildAgentId makes; the real agent decides by its tags. */
const classifyByName = (lv: LogicalVolume) => (lv.name.startsWith('vbs-vol-') ? 'volume' : lv.name.startsWith('vbs-snap-') ? 'snapshot' : undefined);

/**
 * An Lvm on a FakeRunner answering with reports captured in the test-bed VM: VG "vbs" (2 GiB),
 * pool "pool" (1 GiB, data 1.95%, metadata 11.72%), and lvs-vg-mixed.json's LVs: four thin LVs
 * of 100 MiB in the pool (two volumes, a CSI snapshot, a plain lvm snapshot) and an 8 MiB thick LV.
 */
function setup(opts: Partial<NodeStatusReporterOptions> = {}, poolName = 'pool', poolReport = fixture('lvs-thin-pool.json')) {
  const runner = new FakeRunner()
    .on(VGS, { stdout: fixture('vgs-vg-with-thin-pool.json') })
    .on([...LVS, 'vbs'], { stdout: vgReportWithPool(poolReport) });
  const lvm = new Lvm({ runner, vgName: 'vbs', thinPoolName: poolName });
  let ready = false;
  const reporter = new NodeStatusReporter({ ...baseOptions(), lvm, labels: { tier: 'ssd', zone: 'a' }, isReady: () => ready, ...opts });
  return { runner, reporter, setReady: (value: boolean) => (ready = value) };
}

/** lvs-vg-mixed.json's LVs with its pool row replaced by the rows of another captured pool report. */
function vgReportWithPool(poolReport: string): string {
  type Doc = { report: [{ lv: Array<{ lv_name: string }> }] };
  const vg = JSON.parse(fixture('lvs-vg-mixed.json')) as Doc;
  const pool = JSON.parse(poolReport) as Doc;
  vg.report[0].lv = [...vg.report[0].lv.filter((row) => row.lv_name !== 'pool'), ...pool.report[0].lv];
  return JSON.stringify(vg);
}

describe('NodeStatusReporter', () => {
  it('answers GetNodeStatus with VG, pool capacity, I/O load, counts and identity', async () => {
    const { reporter } = setup();
    const status: NodeStatus = await reporter.getNodeStatus();
    assert.deepEqual(status, {
      node_name: 'storage-1',
      ready: false,
      volume_group: { name: 'vbs', size_bytes: 2143289344, free_bytes: 1061158912, extent_size_bytes: 4194304 },
      thin_pool: {
        name: 'vbs/pool',
        size_bytes: 1073741824,
        data_percent: 1.95,
        metadata_percent: 11.72,
        provisioned_bytes: 4 * 104857600,
        overprovision_ratio: 2,
        allocatable_bytes: 2 * 1073741824 - 4 * 104857600,
        health: 'ok',
      },
      io_load: IO_LOAD,
      labels: { tier: 'ssd', zone: 'a' },
      portal: { ip: '10.0.0.5', port: 3260 },
      volume_count: 2,
      snapshot_count: 1,
    });
  });

  it('counts every thin LV of the pool as provisioned, snapshots included, and no thick LV', async () => {
    const { reporter } = setup();
    assert.equal((await reporter.getThinPoolStatus()).provisioned_bytes, 419430400);
  });

  it('asks isReady on every call', async () => {
    const { reporter, setReady } = setup();
    setReady(true);
    assert.equal((await reporter.getNodeStatus()).ready, true);
    setReady(false);
    assert.equal((await reporter.getNodeStatus()).ready, false);
  });

  it('leaves what is neither a volume nor a snapshot out of both counts', async () => {
    const { reporter } = setup({ classify: () => undefined });
    const status = await reporter.getNodeStatus();
    assert.equal(status.volume_count, 0);
    assert.equal(status.snapshot_count, 0);
  });

  it('reads the VG and its LVs with the pool in two lvm reads, passing the AbortSignal to both', async () => {
    const { runner, reporter } = setup();
    const controller = new AbortController();
    await reporter.getNodeStatus(controller.signal);
    assert.deepEqual(runner.argvs.map((argv) => argv[1]).sort(), ['lvs', 'vgs']);
    assert.ok(runner.signals.every((s) => s === controller.signal));
  });

  it('gives admission the pool status: a volume that fits passes, a larger one gets the sentence', async () => {
    const { reporter } = setup();
    const pool = await reporter.getThinPoolStatus();
    assert.equal(checkThinAdmission(pool, 100 * MiB), undefined);
    assert.equal(
      checkThinAdmission(pool, 2 * 1073741824),
      'thin pool vbs/pool has 1728053248 bytes allocatable of 419430400 provisioned at ratio 2 (pool size 1073741824); 2147483648 requested',
    );
  });

  it('promises nothing from a pool that ran out of data space', async () => {
    const { reporter } = setup({}, 'small', fixture('lvs-thin-pool-out-of-data.json'));
    const pool = await reporter.getThinPoolStatus();
    assert.equal(pool.health, 'out-of-data');
    assert.equal(pool.allocatable_bytes, 0);
    assert.match(checkThinAdmission(pool, 4 * MiB) ?? '', /^thin pool vbs\/small has 0 bytes allocatable .*out-of-data\); 4194304 requested$/);
  });

  it('promises nothing from a pool over the metadata limit the agent was given', async () => {
    const { reporter } = setup({ metadataLimitPercent: 10 });
    const pool = await reporter.getThinPoolStatus();
    assert.equal(pool.allocatable_bytes, 0);
    assert.equal(pool.health, 'metadata 11.72% at or over the 10% limit');
  });

  it('promises nothing from an inactive pool, whose fill level lvm cannot tell', async () => {
    const inactive = fixture('lvs-thin-pool.json').replace('"twi-aotz--"', '"twi---tz--"').replace('"1.95"', '""').replace('"11.72"', '""');
    const { reporter } = setup({}, 'pool', inactive);
    const pool = await reporter.getThinPoolStatus();
    assert.deepEqual([pool.health, pool.allocatable_bytes], ['inactive', 0]);
  });

  it('lets a missing VG fail the call as FailedPreconditionError', async () => {
    const runner = new FakeRunner().on(['lvm'], { exitCode: 5, stderr: '  Volume group "vbs" not found\n  Cannot process volume group vbs' });
    const reporter = new NodeStatusReporter({ ...baseOptions(), lvm: new Lvm({ runner, vgName: 'vbs', thinPoolName: 'pool' }) });
    await assert.rejects(reporter.getNodeStatus(), FailedPreconditionError);
  });

  it('refuses a capacity policy that makes no sense at construction', () => {
    assert.throws(() => new NodeStatusReporter({ ...baseOptions(), overprovisionRatio: -1 }), InvalidArgumentError);
    assert.throws(() => new NodeStatusReporter({ ...baseOptions(), dataLimitPercent: 150 }), InvalidArgumentError);
  });

  it('keeps its own copy of labels and portal', async () => {
    const labels: Record<string, string> = { tier: 'hdd' };
    const { reporter } = setup({ labels });
    labels['tier'] = 'changed';
    const first = (await reporter.getNodeStatus()).labels;
    first['x'] = 'y';
    assert.deepEqual((await reporter.getNodeStatus()).labels, { tier: 'hdd' });
  });
});

function baseOptions(): NodeStatusReporterOptions {
  return {
    lvm: new Lvm({ runner: new FakeRunner(), vgName: 'vbs', thinPoolName: 'pool' }),
    sampler: { current: () => IO_LOAD },
    nodeName: 'storage-1',
    labels: {},
    portal: { ip: '10.0.0.5', port: 3260 },
    overprovisionRatio: 2,
    dataLimitPercent: 90,
    metadataLimitPercent: 80,
    isReady: () => true,
    classify: classifyByName,
  };
}
