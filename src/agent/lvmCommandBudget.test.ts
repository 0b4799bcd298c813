import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import type { Command } from '../exec/index.ts';
import { LioTarget } from '../lio/index.ts';
import { SimulatedLioConfigFs } from '../lio/testing/SimulatedLioConfigFs.ts';
import { Lvm } from '../lvm/index.ts';
import { AgentVolumes } from './AgentVolumes.ts';
import { RecordingZeroer } from './testing/RecordingZeroer.ts';
import { NodeStatusReporter } from './status/index.ts';
import { classifyLv } from './volumeTags.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/lvm/${name}`, import.meta.url), 'utf8');
type Row = Record<string, string>;
const failures = JSON.parse(fixture('lvm-failures.json')) as Record<string, { exitCode: number; stderr: string }>;
const MiB = 1024 * 1024;
const IDLE = {
  read_iops: 0, write_iops: 0, read_bytes_per_second: 0, write_bytes_per_second: 0, utilization: 0, average_latency_ms: 0, window_seconds: 30, devices: [],
};

/**
 * lvm as the agent's commands see it, for one VG "vbs" with pool "pool": lvs of the VG or of one
 * LV, vgs, lvcreate (thin), lvremove, each answering from the rows it holds, so the test counts
 * what the agent runs, not what it was scripted to run.
 */
function simulatedLvm(): FakeRunner {
  const rows = new Map<string, Row>();
  const doc = JSON.parse(fixture('lvs-vg-mixed.json')) as { report: [{ lv: Row[] }] };
  const pool = doc.report[0].lv.find((r) => r['lv_name'] === 'pool');
  assert.ok(pool);
  rows.set('pool', pool);
  const report = (lvs: Row[]) => ({ stdout: JSON.stringify({ report: [{ lv: lvs }] }) });
  const arg = (cmd: Command, flag: string) => cmd.args[cmd.args.indexOf(flag) + 1] ?? '';
  let uuid = 0;
  return new FakeRunner()
    .on(['lvm', 'vgs'], { stdout: fixture('vgs-vg-with-thin-pool.json') })
    .on(['lvm', 'lvs'], (cmd) => {
      const what = cmd.args.at(-1) ?? '';
      if (what === 'vbs') return report([...rows.values()]);
      const row = rows.get(what.replace(/^vbs\//, ''));
      return row ? report([row]) : failures['lvs-missing-lv']!;
    })
    .on(['lvm', 'lvcreate'], (cmd) => {
      const name = arg(cmd, '-n');
      const tags = cmd.args.flatMap((a, i) => (cmd.args[i - 1] === '--addtag' ? [a] : []));
      rows.set(name, {
        vg_name: 'vbs', lv_name: name, lv_uuid: `Abcdef-0000-0000-0000-0000-0000-${String(++uuid).padStart(6, '0')}`,
        lv_size: arg(cmd, '-V').replace(/b$/, ''), lv_attr: 'Vwi-a-tz--', lv_tags: tags.join(','), pool_lv: 'pool',
        origin: '', data_percent: '0.00', metadata_percent: '', lv_metadata_size: '',
      });
      return {};
    })
    .on(['lvm', 'lvremove'], (cmd) => {
      rows.delete((cmd.args.at(-1) ?? '').replace(/^vbs\//, ''));
      return {};
    });
}

describe('the lvm commands a volume costs when the agent remembers its report', () => {
  let sim: SimulatedLioConfigFs;
  before(async () => {
    sim = await SimulatedLioConfigFs.create();
  });
  after(async () => {
    await sim.destroy();
  });

  test('create, look up, status and delete: lvcreate and one re-read, no lookup, no status read, lvremove', async () => {
    const runner = simulatedLvm();
    const lvm = new Lvm({ runner, vgName: 'vbs', thinPoolName: 'pool', reportMaxAgeMs: 30_000 });
    const volumes = new AgentVolumes({
      lvm, lio: new LioTarget({ configFs: sim }), chapKey: Buffer.alloc(32, 7), portal: { ip: '127.0.0.2', port: 3260 },
      iqnPrefix: 'iqn.2026-11.io.vbs-test', overprovisionRatio: 2, zeroer: new RecordingZeroer(), log: pino({ level: 'silent' }),
    });
    await volumes.reconcile(); // as the agent does at start: one fresh lvs of the VG
    const commands = () => runner.argvs.map((argv) => [argv[1], argv.at(-1)].join(' '));
    const startAt = runner.calls.length;

    const created = await volumes.createVolume({ name: 'pvc-1', sizeBytes: 64 * MiB, thick: false });
    assert.deepEqual(commands().slice(startAt), ['vgs vbs', 'lvcreate vbs', `lvs vbs/${created.id}`]);

    const lookups = runner.calls.length;
    assert.equal((await volumes.getVolume(created.id)).name, 'pvc-1');
    await assert.rejects(volumes.getVolume('vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa'), { name: 'NotFoundError' });
    assert.equal(runner.calls.length, lookups, 'lookups run no lvm command');

    // The node status: VG and pool as remembered, no lvm command while the report is young.
    const reporter = new NodeStatusReporter({
      lvm, sampler: { current: () => IDLE }, nodeName: 'store-a', labels: {}, portal: { ip: '127.0.0.2', port: 3260 },
      overprovisionRatio: 2, dataLimitPercent: 90, metadataLimitPercent: 80, isReady: () => true, classify: classifyLv,
    });
    const beforeStatus = runner.calls.length;
    assert.equal((await reporter.getNodeStatus()).volume_count, 1);
    assert.equal(runner.calls.length, beforeStatus, 'a status poll runs no lvm command while the report is young');

    await volumes.deleteVolume(created.id);
    assert.deepEqual(commands().slice(beforeStatus), [`lvremove vbs/${created.id}`]);
    await assert.rejects(volumes.getVolume(created.id), { name: 'NotFoundError' });

    // Reconcile always lists afresh, and so renews the report.
    const beforeReconcile = runner.calls.length;
    await volumes.reconcile();
    assert.deepEqual(commands().slice(beforeReconcile), ['lvs vbs']);
  });
});
