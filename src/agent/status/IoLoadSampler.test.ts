import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeRunner } from '../../../test/fakes/FakeRunner.ts';
import type { FakeResult } from '../../../test/fakes/FakeRunner.ts';
import { Lvm, PVS_FIELDS } from '../../lvm/index.ts';
import { IoLoadSampler } from './IoLoadSampler.ts';
import type { IoLoadSamplerOptions } from './IoLoadSampler.ts';
import { ZERO_RATES, computeDeviceLoad, parseBlockStat, smooth } from './ioLoad.ts';

const fixture = (path: string): string => readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url), 'utf8');
const PVS = ['lvm', 'pvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', PVS_FIELDS.join(',')];
const silent = pino({ level: 'silent' });

/** The real pvs report (VG vbs on loop1 and loop2), keeping only the rows of these devices. */
function pvsReport(...devices: string[]): FakeResult {
  const doc = JSON.parse(fixture('lvm/pvs-two-vgs-and-orphan.json')) as { report: [{ pv: Array<{ pv_name: string }> }] };
  doc.report[0].pv = doc.report[0].pv.filter((row) => !row.pv_name.startsWith('/dev/loop') || devices.includes(row.pv_name));
  return { stdout: JSON.stringify(doc) };
}

/** Field indexes of a stat line (Documentation/block/stat.rst), for writing counters. */
const FIELD = { readIos: 0, readSectors: 2, readTicksMs: 3, writeIos: 4, writeSectors: 6, writeTicksMs: 7, ioTicksMs: 9 } as const;
const BASE_LINE = fixture('sysfs/vda-stat-t0.txt').trim().split(/\s+/).map(Number);

/** The real vda line with these counters added. */
function statLine(add: Partial<Record<keyof typeof FIELD, number>>): string {
  const fields = [...BASE_LINE];
  for (const [key, value] of Object.entries(add)) fields[FIELD[key as keyof typeof FIELD]]! += value;
  return `${fields.join(' ')}\n`;
}

let sysfsRoot = '';
let clockMs = 0;

async function writeStat(device: string, add: Partial<Record<keyof typeof FIELD, number>>): Promise<void> {
  await mkdir(join(sysfsRoot, 'class', 'block', device), { recursive: true });
  await writeFile(join(sysfsRoot, 'class', 'block', device, 'stat'), statLine(add));
}

function setup(runner: FakeRunner, opts: Partial<IoLoadSamplerOptions> = {}): IoLoadSampler {
  return new IoLoadSampler({
    lvm: new Lvm({ runner, vgName: 'vbs', thinPoolName: 'pool' }),
    log: silent,
    sysfsRoot,
    realpath: async (path) => path,
    now: () => clockMs,
    windowS: 30,
    ...opts,
  });
}

async function waitFor(what: string, predicate: () => boolean, deadlineMs = 5_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

beforeEach(async () => {
  sysfsRoot = await mkdtemp(join(tmpdir(), 'vbs-sampler-'));
  clockMs = 1_000_000;
  await writeStat('loop1', {});
  await writeStat('loop2', {});
});
afterEach(async () => {
  await rm(sysfsRoot, { recursive: true, force: true });
});

describe('IoLoadSampler', () => {
  it('reports zeros, with the VG\'s devices listed, before the second sample', async () => {
    const sampler = setup(new FakeRunner().on(PVS, pvsReport('/dev/loop1', '/dev/loop2')));
    assert.deepEqual(sampler.current(), { ...ZERO_RATES, window_seconds: 30, devices: [] });
    await sampler.sample();
    assert.deepEqual(sampler.current(), {
      ...ZERO_RATES,
      window_seconds: 30,
      devices: [{ device: 'loop1', ...ZERO_RATES }, { device: 'loop2', ...ZERO_RATES }],
    });
  });

  it('reports the first interval\'s rates as they are, then smooths by the time that passed', async () => {
    const sampler = setup(new FakeRunner().on(PVS, pvsReport('/dev/loop1', '/dev/loop2')));
    await sampler.sample();

    const first = { writeIos: 200, writeSectors: 200 * 2048, writeTicksMs: 1000, ioTicksMs: 1500 };
    await writeStat('loop1', first);
    clockMs += 2000;
    await sampler.sample();
    const expected1 = computeDeviceLoad(parseBlockStat(statLine({})), parseBlockStat(statLine(first)), 2000);
    assert.equal(expected1.write_bytes_per_second, 100 * 1048576, 'the first interval wrote 100 MiB/s');
    let load = sampler.current();
    assert.deepEqual(load.devices[0], { device: 'loop1', ...expected1 });
    assert.deepEqual(load.devices[1], { device: 'loop2', ...ZERO_RATES });
    assert.equal(load.write_bytes_per_second, 100 * 1048576);
    assert.equal(load.utilization, 0.75);

    // Five seconds of nothing, sampled late: the load decays by exp(-5/30).
    clockMs += 5000;
    await sampler.sample();
    load = sampler.current();
    assert.deepEqual(load.devices[0], { device: 'loop1', ...smooth(expected1, ZERO_RATES, 5000, 30) });
    assert.ok(Math.abs(load.write_bytes_per_second - 100 * 1048576 * Math.exp(-5 / 30)) < 1e-6);
    assert.equal(load.average_latency_ms, 5, 'the mean time per request is that of the requests seen');
  });

  it('picks up a PV added to the VG at the next refresh, and drops one removed', async () => {
    const runner = new FakeRunner().once(PVS, pvsReport('/dev/loop1')).once(PVS, pvsReport('/dev/loop1', '/dev/loop2')).on(PVS, pvsReport('/dev/loop2'));
    const sampler = setup(runner, { refreshEverySamples: 2 });
    const names = () => sampler.current().devices.map((d) => d.device);
    await sampler.sample();
    await sampler.sample();
    assert.deepEqual(names(), ['loop1']);
    assert.equal(runner.argvsMatching(PVS).length, 1, 'lvm is not asked on every sample');
    await sampler.sample();
    assert.deepEqual(names(), ['loop1', 'loop2']);
    await sampler.sample();
    await sampler.sample();
    assert.deepEqual(names(), ['loop2']);
    assert.equal(runner.argvsMatching(PVS).length, 3);
  });

  it('asks lvm again on the next sample while it has never answered, and keeps the last list when it fails later', async () => {
    const fail = { exitCode: 5, stderr: '  Volume group "vbs" not found' };
    const runner = new FakeRunner().once(PVS, fail).once(PVS, pvsReport('/dev/loop1')).on(PVS, fail);
    const sampler = setup(runner, { refreshEverySamples: 1 });
    await sampler.sample();
    assert.deepEqual(sampler.current().devices, []);
    await sampler.sample();
    await sampler.sample();
    assert.deepEqual(sampler.current().devices.map((d) => d.device), ['loop1']);
    assert.equal(runner.argvsMatching(PVS).length, 3);
  });

  it('skips a device whose counters cannot be read, then restarts it from a new baseline', async () => {
    const sampler = setup(new FakeRunner().on(PVS, pvsReport('/dev/loop1')));
    await sampler.sample();
    await writeStat('loop1', { writeIos: 100, ioTicksMs: 1000 });
    clockMs += 2000;
    await sampler.sample();
    const before = sampler.current().devices[0];
    assert.equal(before?.write_iops, 50);

    await unlink(join(sysfsRoot, 'class/block/loop1/stat'));
    clockMs += 2000;
    await sampler.sample();
    assert.deepEqual(sampler.current().devices[0], before, 'a failed read changes nothing');

    // Re-created with counters from 0: the first reading is only a baseline.
    await writeFile(join(sysfsRoot, 'class/block/loop1/stat'), '0 0 0 0 0 0 0 0 0 0 0\n');
    clockMs += 2000;
    await sampler.sample();
    assert.deepEqual(sampler.current().devices[0], before);
    await writeFile(join(sysfsRoot, 'class/block/loop1/stat'), '0 0 0 0 40 0 0 0 0 0 0\n');
    clockMs += 2000;
    await sampler.sample();
    const after = sampler.current().devices[0];
    assert.ok(after && after.write_iops > 20 && after.write_iops < 50, `write_iops ${after?.write_iops} moved from 50 toward 20`);
  });

  it('samples on its own after start() without keeping the process alive, and stops on stop()', async () => {
    const runner = new FakeRunner().on(PVS, pvsReport('/dev/loop1'));
    const sampler = setup(runner, { intervalMs: 10, now: () => performance.now() });
    const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = refTimers();
    sampler.start();
    sampler.start();
    await waitFor('three samples', () => sampler.samplesTaken >= 3);
    assert.equal(refTimers(), baseline, 'the sampler\'s timer is unref\'d');
    assert.equal(runner.argvsMatching(PVS).length, 1, 'starting twice runs one loop');
    await sampler.stop();
    const taken = sampler.samplesTaken;
    // Proving that nothing more happens takes some time: ten intervals.
    await sleep(100);
    assert.equal(sampler.samplesTaken, taken);
  });

  it('refuses a non-positive interval or window', () => {
    assert.throws(() => setup(new FakeRunner(), { intervalMs: 0 }), /intervalMs must be positive/);
    assert.throws(() => setup(new FakeRunner(), { windowS: -1 }), /windowS must be positive/);
    assert.throws(() => setup(new FakeRunner(), { refreshEverySamples: 0.5 }), /refreshEverySamples/);
  });
});
