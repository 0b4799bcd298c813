import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { DeviceIoLoad__Output } from '../../generated/vbs/agent/v1/DeviceIoLoad.ts';
import { ZERO_RATES, aggregateLoad, computeDeviceLoad, parseBlockStat, smooth } from './ioLoad.ts';
import type { BlockStat, DeviceRates } from './ioLoad.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/sysfs/${name}`, import.meta.url), 'utf8');
/** The first `count` fields of a real line: what an older kernel prints. */
const firstFields = (line: string, count: number): string => line.trim().split(/\s+/).slice(0, count).join(' ');

const VDA_T0 = fixture('vda-stat-t0.txt');
const VDA_T1 = fixture('vda-stat-t1.txt');
/** The two vda readings were taken this far apart (test/fixtures/sysfs/README.md). */
const VDA_ELAPSED_MS = 133;

/** A BlockStat with every counter 0 but those given. */
function stat(fields: Partial<BlockStat>): BlockStat {
  return {
    readIos: 0, readMerges: 0, readSectors: 0, readTicksMs: 0, writeIos: 0, writeMerges: 0, writeSectors: 0, writeTicksMs: 0,
    inFlight: 0, ioTicksMs: 0, timeInQueueMs: 0, discard: undefined, flush: undefined, ...fields,
  };
}

function rates(fields: Partial<DeviceRates>): DeviceRates {
  return { ...ZERO_RATES, ...fields };
}

function assertClose(actual: number, expected: number, what: string, epsilon = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= epsilon * Math.max(1, Math.abs(expected)), `${what}: ${actual} is not ${expected}`);
}

function assertRatesClose(actual: DeviceRates, expected: DeviceRates): void {
  for (const key of Object.keys(expected) as Array<keyof DeviceRates>) assertClose(actual[key], expected[key], key);
}

describe('parseBlockStat', () => {
  it('reads the 17 fields of a real line from a 6.18 kernel', () => {
    assert.deepEqual(parseBlockStat(VDA_T0), {
      readIos: 67715, readMerges: 10552, readSectors: 3893162, readTicksMs: 37260,
      writeIos: 22642, writeMerges: 24353, writeSectors: 3423128, writeTicksMs: 18842,
      inFlight: 0, ioTicksMs: 11396, timeInQueueMs: 62157,
      discard: { ios: 24446, merges: 193, sectors: 1181224, ticksMs: 4771 },
      flush: { ios: 1980, ticksMs: 1283 },
    });
  });

  const formats: Array<{ name: string; text: string; hasDiscard: boolean; hasFlush: boolean }> = [
    { name: 'an 11-field line (kernels before 4.18) without discard or flush counters', text: firstFields(VDA_T0, 11), hasDiscard: false, hasFlush: false },
    { name: 'a 15-field line (4.18 to 5.4) with discards but no flushes', text: firstFields(VDA_T0, 15), hasDiscard: true, hasFlush: false },
    { name: 'a line with fields a later kernel may append, ignoring them', text: `${VDA_T0.trim()} 7 8`, hasDiscard: true, hasFlush: true },
    { name: 'an idle loop device', text: fixture('loop1-stat.txt'), hasDiscard: true, hasFlush: true },
  ];
  for (const f of formats) {
    it(`reads ${f.name}`, () => {
      const s = parseBlockStat(f.text);
      assert.equal(s.discard !== undefined, f.hasDiscard);
      assert.equal(s.flush !== undefined, f.hasFlush);
      assert.ok(s.readIos >= 0 && Number.isSafeInteger(s.timeInQueueMs));
    });
  }

  const broken: Array<{ name: string; text: string; error: RegExp }> = [
    { name: 'an empty file', text: '', error: /1 fields/ },
    { name: 'a line cut after 10 fields', text: firstFields(VDA_T0, 10), error: /10 fields/ },
    { name: 'a line of 13 fields, neither old nor new format', text: firstFields(VDA_T0, 13), error: /13 fields/ },
    { name: 'a negative counter', text: VDA_T0.replace('67715', '-67715'), error: /field 1 is not a whole number/ },
    { name: 'a counter beyond 2^53', text: VDA_T0.replace('67715', '18446744073709551615'), error: /field 1 is too large/ },
  ];
  for (const c of broken) {
    it(`fails loudly on ${c.name}`, () => {
      assert.throws(() => parseBlockStat(c.text), c.error);
    });
  }
});

describe('computeDeviceLoad', () => {
  const cases: Array<{ name: string; prev: BlockStat; next: BlockStat; elapsedMs: number; expected: DeviceRates }> = [
    {
      name: 'turns two real readings around a 32 MiB O_DIRECT write into rates',
      prev: parseBlockStat(VDA_T0),
      next: parseBlockStat(VDA_T1),
      elapsedMs: VDA_ELAPSED_MS,
      // Δreads 11 (160 sectors, 1 ms), Δwrites 115 (68160 sectors, 2458 ms), Δio_ticks 112.
      expected: {
        read_iops: 11 / 0.133,
        write_iops: 115 / 0.133,
        read_bytes_per_second: (160 * 512) / 0.133,
        write_bytes_per_second: (68160 * 512) / 0.133,
        utilization: 112 / 133,
        average_latency_ms: (1 + 2458) / (11 + 115),
      },
    },
    {
      name: 'reports an idle device as zeros, latency included',
      prev: stat({ readIos: 5, ioTicksMs: 9 }),
      next: stat({ readIos: 5, ioTicksMs: 9 }),
      elapsedMs: 2000,
      expected: ZERO_RATES,
    },
    {
      name: 'counts sectors as 512 bytes and separates reads from writes',
      prev: stat({}),
      next: stat({ readIos: 10, readSectors: 80, readTicksMs: 10, writeIos: 30, writeSectors: 2048, writeTicksMs: 110, ioTicksMs: 500 }),
      elapsedMs: 2000,
      expected: { read_iops: 5, write_iops: 15, read_bytes_per_second: 20480, write_bytes_per_second: 524288, utilization: 0.25, average_latency_ms: 3 },
    },
    {
      name: 'clamps utilization to 1 when io_ticks ran a little ahead of the wall clock',
      prev: stat({}),
      next: stat({ writeIos: 1, writeTicksMs: 4, ioTicksMs: 2010 }),
      elapsedMs: 2000,
      expected: rates({ write_iops: 0.5, utilization: 1, average_latency_ms: 4 }),
    },
    {
      name: 'counts busy time from discards and flushes in utilization only',
      prev: stat({ discard: { ios: 0, merges: 0, sectors: 0, ticksMs: 0 } }),
      next: stat({ discard: { ios: 9, merges: 0, sectors: 8192, ticksMs: 300 }, ioTicksMs: 300 }),
      elapsedMs: 1000,
      expected: rates({ utilization: 0.3 }),
    },
    {
      name: 'reports zeros when counters went backwards (the device was re-created)',
      prev: parseBlockStat(VDA_T1),
      next: stat({ readIos: 3, readSectors: 24, ioTicksMs: 4 }),
      elapsedMs: 2000,
      expected: ZERO_RATES,
    },
    {
      name: 'reports zeros when a 32-bit tick counter wrapped',
      prev: stat({ writeIos: 10, writeTicksMs: 4294967000, ioTicksMs: 100 }),
      next: stat({ writeIos: 20, writeTicksMs: 200, ioTicksMs: 300 }),
      elapsedMs: 2000,
      expected: ZERO_RATES,
    },
    {
      name: 'reports zeros for an interval of no time (a clock that did not move)',
      prev: stat({}),
      next: stat({ writeIos: 10, ioTicksMs: 5 }),
      elapsedMs: 0,
      expected: ZERO_RATES,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assertRatesClose(computeDeviceLoad(c.prev, c.next, c.elapsedMs), c.expected);
    });
  }
});

describe('smooth', () => {
  const busy = rates({ write_iops: 100, write_bytes_per_second: 100 * 1048576, utilization: 0.8, average_latency_ms: 5 });

  it('takes the first sample as it is', () => {
    assert.deepEqual(smooth(undefined, busy, 2000, 30), busy);
  });

  const steps: Array<{ name: string; elapsedMs: number; windowS: number; weight: number }> = [
    { name: 'gives a sample one window long the weight 1 − 1/e', elapsedMs: 30_000, windowS: 30, weight: 1 - Math.exp(-1) },
    { name: 'gives a 2 s sample in a 30 s window the weight 1 − e^(−1/15)', elapsedMs: 2000, windowS: 30, weight: 1 - Math.exp(-2 / 30) },
    { name: 'gives a late (5 s) sample more weight than an on-time one', elapsedMs: 5000, windowS: 30, weight: 1 - Math.exp(-5 / 30) },
    { name: 'ignores a sample of no time', elapsedMs: 0, windowS: 30, weight: 0 },
  ];
  for (const s of steps) {
    it(s.name, () => {
      const next = smooth(ZERO_RATES, busy, s.elapsedMs, s.windowS);
      assertClose(next.write_iops, 100 * s.weight, 'write_iops');
      assertClose(next.write_bytes_per_second, 100 * 1048576 * s.weight, 'write_bytes_per_second');
      assertClose(next.utilization, 0.8 * s.weight, 'utilization');
      assertClose(next.average_latency_ms, s.weight > 0 ? 5 : 0, 'average_latency_ms');
    });
  }

  it('decays the old value as much in two half intervals as in one whole', () => {
    const whole = smooth(busy, ZERO_RATES, 4000, 30);
    const halves = smooth(smooth(busy, ZERO_RATES, 2000, 30), ZERO_RATES, 2000, 30);
    assertRatesClose(halves, whole);
  });

  it('decays to under 1% of a burst after five windows of idle samples', () => {
    let s = busy;
    for (let t = 0; t < 150_000; t += 2000) s = smooth(s, ZERO_RATES, 2000, 30);
    assert.ok(s.write_bytes_per_second < 0.01 * busy.write_bytes_per_second);
    assert.ok(s.utilization < 0.01 * busy.utilization);
  });

  it('weights latency by I/O: idle intervals do not pull the mean time per request toward 0', () => {
    const s = smooth(busy, ZERO_RATES, 2000, 30);
    assertClose(s.average_latency_ms, 5, 'average_latency_ms');
  });

  it('weights latency by I/O: a few slow requests move the mean less than many fast ones', () => {
    const many = rates({ read_iops: 1000, average_latency_ms: 1 });
    const few = rates({ read_iops: 10, average_latency_ms: 100 });
    const s = smooth(many, few, 30_000, 30);
    const a = 1 - Math.exp(-1);
    const iops = 1000 + a * (10 - 1000);
    assertClose(s.average_latency_ms, (1000 * 1 + a * (10 * 100 - 1000 * 1)) / iops, 'average_latency_ms');
  });
});

describe('aggregateLoad', () => {
  const device = (name: string, r: Partial<DeviceRates>): DeviceIoLoad__Output => ({ device: name, ...rates(r) });

  it('adds up rates, takes the busiest device\'s utilization and the I/O-weighted mean latency', () => {
    const devices = [
      device('sdb', { read_iops: 100, write_iops: 300, read_bytes_per_second: 1000, write_bytes_per_second: 3000, utilization: 0.9, average_latency_ms: 2 }),
      device('sdc', { read_iops: 50, write_iops: 50, read_bytes_per_second: 500, write_bytes_per_second: 700, utilization: 0.2, average_latency_ms: 12 }),
    ];
    const load = aggregateLoad(devices, 30);
    assert.deepEqual({ ...load, devices: undefined }, {
      read_iops: 150,
      write_iops: 350,
      read_bytes_per_second: 1500,
      write_bytes_per_second: 3700,
      utilization: 0.9,
      average_latency_ms: (400 * 2 + 100 * 12) / 500,
      window_seconds: 30,
      devices: undefined,
    });
    assert.deepEqual(load.devices, devices);
    assert.notEqual(load.devices[0], devices[0], 'the devices are copies');
  });

  it('reports a node without devices as zeros', () => {
    assert.deepEqual(aggregateLoad([], 30), { ...ZERO_RATES, window_seconds: 30, devices: [] });
  });

  it('reports latency 0, not NaN, when devices are busy but complete nothing', () => {
    const load = aggregateLoad([device('sdb', { utilization: 1 }), device('sdc', {})], 30);
    assert.equal(load.average_latency_ms, 0);
    assert.equal(load.utilization, 1);
  });
});
