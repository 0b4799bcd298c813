import type { DeviceIoLoad__Output } from '../../generated/vbs/agent/v1/DeviceIoLoad.ts';
import type { IoLoad__Output } from '../../generated/vbs/agent/v1/IoLoad.ts';

/**
 * The counters of one block device, as /sys/class/block/<dev>/stat prints them (the kernel's
 * Documentation/block/stat.rst). Counters only grow while the device exists; the *TicksMs
 * fields are printed as 32-bit values and wrap after about 49 days.
 */
export interface BlockStat {
  readonly readIos: number;
  readonly readMerges: number;
  /** Always 512-byte units, whatever the device's sector size. */
  readonly readSectors: number;
  readonly readTicksMs: number;
  readonly writeIos: number;
  readonly writeMerges: number;
  readonly writeSectors: number;
  readonly writeTicksMs: number;
  /** Requests issued to the driver and not yet completed: a gauge, not a counter. */
  readonly inFlight: number;
  /** Wall time with at least one request in flight. */
  readonly ioTicksMs: number;
  /** Sum over requests of their time in flight (weighted by queue depth). */
  readonly timeInQueueMs: number;
  /** Kernel 4.18 and later. */
  readonly discard: { readonly ios: number; readonly merges: number; readonly sectors: number; readonly ticksMs: number } | undefined;
  /** Kernel 5.5 and later. */
  readonly flush: { readonly ios: number; readonly ticksMs: number } | undefined;
}

/** The rates of one device: a DeviceIoLoad without its name. */
export type DeviceRates = Omit<DeviceIoLoad__Output, 'device'>;

const SECTOR_BYTES = 512;

export const ZERO_RATES: DeviceRates = Object.freeze({
  read_iops: 0,
  write_iops: 0,
  read_bytes_per_second: 0,
  write_bytes_per_second: 0,
  utilization: 0,
  average_latency_ms: 0,
});

/**
 * Parses the one line of /sys/class/block/<dev>/stat: 11 fields (kernels before 4.18), 15 (with
 * discards) or 17 (with flushes); later kernels may append more, which are ignored. Throws on
 * anything else, so a changed format is noticed instead of producing wrong rates.
 */
export function parseBlockStat(text: string): BlockStat {
  const words = text.trim().split(/\s+/);
  if (words.length < 11 || (words.length > 11 && words.length < 15)) {
    throw new Error(`block stat has ${words.length} fields, expected 11, or 15 and more: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const n = words.map((word, i) => {
    if (!/^\d+$/.test(word)) throw new Error(`block stat field ${i + 1} is not a whole number: ${JSON.stringify(word)}`);
    const value = Number(word);
    if (!Number.isSafeInteger(value)) throw new Error(`block stat field ${i + 1} is too large: ${word}`);
    return value;
  });
  const at = (i: number): number => n[i]!;
  return {
    readIos: at(0),
    readMerges: at(1),
    readSectors: at(2),
    readTicksMs: at(3),
    writeIos: at(4),
    writeMerges: at(5),
    writeSectors: at(6),
    writeTicksMs: at(7),
    inFlight: at(8),
    ioTicksMs: at(9),
    timeInQueueMs: at(10),
    discard: n.length >= 15 ? { ios: at(11), merges: at(12), sectors: at(13), ticksMs: at(14) } : undefined,
    flush: n.length >= 17 ? { ios: at(15), ticksMs: at(16) } : undefined,
  };
}

/**
 * The rates of one device between two readings `elapsedMs` apart:
 * - IOPS = Δios / s, bytes per second = Δsectors × 512 / s, for reads and writes apart;
 * - utilization = Δio_ticks / elapsed, clamped to 0..1 (the two clocks are not read at the same instant);
 * - average latency = Δ(read + write ticks) / Δ(read + write ios), 0 when nothing completed.
 * A counter that went backwards means the device was re-created (or a 32-bit tick counter
 * wrapped): the interval is unknowable, so it reports zeros and `next` becomes the new base.
 * Discards and flushes count in utilization (io_ticks) but not in the read/write figures.
 */
export function computeDeviceLoad(prev: BlockStat, next: BlockStat, elapsedMs: number): DeviceRates {
  if (!(elapsedMs > 0)) return ZERO_RATES;
  const delta = {
    readIos: next.readIos - prev.readIos,
    writeIos: next.writeIos - prev.writeIos,
    readSectors: next.readSectors - prev.readSectors,
    writeSectors: next.writeSectors - prev.writeSectors,
    readTicksMs: next.readTicksMs - prev.readTicksMs,
    writeTicksMs: next.writeTicksMs - prev.writeTicksMs,
    ioTicksMs: next.ioTicksMs - prev.ioTicksMs,
  };
  if (Object.values(delta).some((d) => d < 0)) return ZERO_RATES;
  const seconds = elapsedMs / 1000;
  const ios = delta.readIos + delta.writeIos;
  return {
    read_iops: delta.readIos / seconds,
    write_iops: delta.writeIos / seconds,
    read_bytes_per_second: (delta.readSectors * SECTOR_BYTES) / seconds,
    write_bytes_per_second: (delta.writeSectors * SECTOR_BYTES) / seconds,
    utilization: clamp01(delta.ioTicksMs / elapsedMs),
    average_latency_ms: ios > 0 ? (delta.readTicksMs + delta.writeTicksMs) / ios : 0,
  };
}

/**
 * One step of an exponentially weighted moving average over `windowS` seconds, for samples
 * taken at irregular intervals: alpha = 1 − exp(−elapsed / window), so a late sample weighs
 * more, and two half intervals decay the old value exactly as much as one whole. The first sample (no
 * `prevSmoothed`) is taken as it is. Latency is averaged weighted by IOPS (the smoothed
 * latency × IOPS, i.e. request-milliseconds per second, divided by the smoothed IOPS), so an
 * idle interval does not drag the mean time per request toward 0; it stays the latency of
 * the recent requests while the IOPS decay.
 */
export function smooth(prevSmoothed: DeviceRates | undefined, sample: DeviceRates, elapsedMs: number, windowS: number): DeviceRates {
  if (!prevSmoothed) return { ...sample };
  const alpha = windowS > 0 ? 1 - Math.exp(-Math.max(0, elapsedMs) / (windowS * 1000)) : 1;
  const mix = (a: number, b: number): number => a + alpha * (b - a);
  const readIops = mix(prevSmoothed.read_iops, sample.read_iops);
  const writeIops = mix(prevSmoothed.write_iops, sample.write_iops);
  const requestMsPerSecond = mix(requestMsRate(prevSmoothed), requestMsRate(sample));
  const iops = readIops + writeIops;
  return {
    read_iops: readIops,
    write_iops: writeIops,
    read_bytes_per_second: mix(prevSmoothed.read_bytes_per_second, sample.read_bytes_per_second),
    write_bytes_per_second: mix(prevSmoothed.write_bytes_per_second, sample.write_bytes_per_second),
    utilization: clamp01(mix(prevSmoothed.utilization, sample.utilization)),
    average_latency_ms: iops > 0 ? requestMsPerSecond / iops : 0,
  };
}

/**
 * The node's load from its devices' (smoothed) loads: IOPS and bytes per second add up;
 * utilization is the busiest device's, because one saturated PV slows every LV with extents
 * on it; latency is the mean over all requests (weighted by each device's IOPS).
 */
export function aggregateLoad(devices: readonly DeviceIoLoad__Output[], windowS: number): IoLoad__Output {
  let requestMsPerSecond = 0;
  const total = { read_iops: 0, write_iops: 0, read_bytes_per_second: 0, write_bytes_per_second: 0, utilization: 0 };
  for (const d of devices) {
    total.read_iops += d.read_iops;
    total.write_iops += d.write_iops;
    total.read_bytes_per_second += d.read_bytes_per_second;
    total.write_bytes_per_second += d.write_bytes_per_second;
    total.utilization = Math.max(total.utilization, d.utilization);
    requestMsPerSecond += requestMsRate(d);
  }
  const iops = total.read_iops + total.write_iops;
  return {
    ...total,
    average_latency_ms: iops > 0 ? requestMsPerSecond / iops : 0,
    window_seconds: Math.round(windowS),
    devices: devices.map((d) => ({ ...d })),
  };
}

/** Request-milliseconds per second: what latency × IOPS is, and what adds up across time and devices. */
function requestMsRate(r: DeviceRates): number {
  return r.average_latency_ms * (r.read_iops + r.write_iops);
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
