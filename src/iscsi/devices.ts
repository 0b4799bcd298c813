import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { FailedPreconditionError, UnavailableError } from '../errors.ts';
import type { IscsiPortal } from './portal.ts';
import { sleep } from './sleep.ts';

/**
 * The udev link for an iSCSI LUN: /dev/disk/by-path/ip-<ip>:<port>-iscsi-<iqn>-lun-<n>
 * (udev path_id; the address is the portal IP as iscsid stores it, so never a host name).
 */
export function byPathDevice(portal: IscsiPortal, targetIqn: string, lun: number): string {
  return `/dev/disk/by-path/ip-${portal.ip}:${portal.port}-iscsi-${targetIqn}-lun-${lun}`;
}

export interface WaitForDeviceOptions {
  /** Give up after this long. */
  readonly deadlineMs: number;
  /** Time between two looks; default 200 ms. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Polls until `path` (a udev link) exists and returns the device it resolves to, e.g. /dev/sdb.
 * udev creates the links asynchronously after login/rescan, so we look again instead of sleeping
 * a fixed time (docs/field-notes.md 1.5). Fails with UnavailableError at the deadline.
 */
export async function waitForDevice(path: string, opts: WaitForDeviceOptions): Promise<string> {
  const pollMs = opts.pollMs ?? 200;
  const deadline = performance.now() + opts.deadlineMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      return await fs.realpath(path);
    } catch (err: unknown) {
      if (codeOf(err) !== 'ENOENT') throw err;
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new UnavailableError(`${path} did not appear within ${opts.deadlineMs} ms`);
    await sleep(Math.min(pollMs, left), opts.signal);
  }
}

export interface SysfsOptions {
  /** Where sysfs is mounted; default /sys. Unit tests use a temp dir. */
  readonly sysRoot?: string;
}

/**
 * The disk (e.g. "sdb") the kernel attached for LUN `lun` of iSCSI session `sid`, found through
 * sysfs (session<sid>/device/target<h>:<c>:<t>/<h>:<c>:<t>:<lun>/block/<disk>) rather than a udev
 * link, so a stale or lagging link cannot hand us another volume's disk (docs/field-notes.md 1.5, 1.6).
 */
export async function findSessionDisk(sid: number, lun: number, opts: SysfsOptions = {}): Promise<string | undefined> {
  const sessionDir = nodePath.join(opts.sysRoot ?? '/sys', 'class', 'iscsi_session', `session${sid}`, 'device');
  for (const target of await readdirOrEmpty(sessionDir)) {
    if (!/^target[0-9]+:[0-9]+:[0-9]+$/.test(target)) continue;
    for (const unit of await readdirOrEmpty(nodePath.join(sessionDir, target))) {
      const match = /^[0-9]+:[0-9]+:[0-9]+:([0-9]+)$/.exec(unit);
      if (!match || Number(match[1]) !== lun) continue;
      const [disk] = await readdirOrEmpty(nodePath.join(sessionDir, target, unit, 'block'));
      if (disk !== undefined) return disk;
    }
  }
  return undefined;
}

/** Every disk the kernel attached under iSCSI session `sid` (all its LUNs), from the same sysfs tree. */
export async function listSessionDisks(sid: number, opts: SysfsOptions = {}): Promise<string[]> {
  const sessionDir = nodePath.join(opts.sysRoot ?? '/sys', 'class', 'iscsi_session', `session${sid}`, 'device');
  const disks: string[] = [];
  for (const target of await readdirOrEmpty(sessionDir)) {
    if (!/^target[0-9]+:[0-9]+:[0-9]+$/.test(target)) continue;
    for (const unit of await readdirOrEmpty(nodePath.join(sessionDir, target))) {
      if (!/^[0-9]+:[0-9]+:[0-9]+:[0-9]+$/.test(unit)) continue;
      disks.push(...(await readdirOrEmpty(nodePath.join(sessionDir, target, unit, 'block'))));
    }
  }
  return disks;
}

/**
 * Polls sysfs until the kernel has attached LUN `lun` of session `sid` and returns its device
 * path (/dev/sdX). Use it instead of waitForDevice when one host has several sessions to the same
 * target (one per iface): they share one by-path name, so udev's link points at only one of them.
 */
export async function waitForSessionDisk(sid: number, lun: number, opts: WaitForDeviceOptions & SysfsOptions & { readonly devRoot?: string }): Promise<string> {
  const pollMs = opts.pollMs ?? 200;
  const deadline = performance.now() + opts.deadlineMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    const disk = await findSessionDisk(sid, lun, opts);
    if (disk !== undefined) {
      const device = nodePath.join(opts.devRoot ?? '/dev', disk);
      try {
        await fs.access(device);
        return device;
      } catch (err: unknown) {
        if (codeOf(err) !== 'ENOENT') throw err;
      }
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new UnavailableError(`LUN ${lun} of iSCSI session ${sid} did not appear within ${opts.deadlineMs} ms`);
    await sleep(Math.min(pollMs, left), opts.signal);
  }
}

/**
 * Decodes SCSI VPD page 0x80 (Unit Serial Number): byte 1 is the page code, bytes 2-3 the length,
 * the serial follows from byte 4. LIO appends a NUL (target_core_spc.c spc_emulate_evpd_80) and
 * SPC allows space padding; both are stripped.
 */
export function parseVpdPage80(page: Uint8Array): string | undefined {
  if (page.length < 4 || page[1] !== 0x80) return undefined;
  const length = (page[2]! << 8) | page[3]!;
  const serial = Buffer.from(page.subarray(4, 4 + length)).toString('latin1');
  return serial.replace(/\0+$/, '').trim();
}

/**
 * The WWID Linux reports for a LIO LUN with this unit serial: LIO builds an NAA IEEE Registered
 * Extended designator from its company id (OUI 00:14:05 by default) and the first 25 hex digits
 * of the serial, zero-filled (target_core_spc.c spc_gen_naa_6h_vendor_specific); sd shows it as
 * "naa." plus 32 lowercase hex digits.
 */
export function buildLioNaaWwid(serial: string, companyId = 0x001405): string {
  const digits = serial.toLowerCase().replace(/[^0-9a-f]/g, '').slice(0, 25).padEnd(25, '0');
  return `naa.6${companyId.toString(16).padStart(6, '0')}${digits}`;
}

export interface DeviceIdentity {
  /** From VPD page 0x80; undefined if the kernel did not read the page. */
  readonly serial: string | undefined;
  /** /sys/block/<dev>/device/wwid; undefined if absent. */
  readonly wwid: string | undefined;
}

/** Reads the unit serial (VPD 0x80) and wwid of a block device such as /dev/sdb or a link to it. */
export async function readDeviceIdentity(device: string, opts: SysfsOptions = {}): Promise<DeviceIdentity> {
  const name = nodePath.basename(await fs.realpath(device));
  const dir = nodePath.join(opts.sysRoot ?? '/sys', 'block', name, 'device');
  const page = await fs.readFile(nodePath.join(dir, 'vpd_pg80')).catch(ignoreMissing);
  const wwid = await fs.readFile(nodePath.join(dir, 'wwid'), 'latin1').catch(ignoreMissing);
  return { serial: page ? parseVpdPage80(page) : undefined, wwid: wwid?.replace(/\0+$/, '').trim() };
}

/** The LUN's unit serial as the initiator sees it (VPD page 0x80); undefined if unreadable. */
export async function readDeviceSerial(device: string, opts: SysfsOptions = {}): Promise<string | undefined> {
  return (await readDeviceIdentity(device, opts)).serial;
}

/**
 * Fails closed unless the device is the LUN with this serial: compares VPD page 0x80, or, if the
 * kernel did not read that page, the wwid LIO derives from the serial (docs/field-notes.md 1.6). Call it
 * before mkfs or mount; a reused LUN number or a stale udev link would otherwise hand us another
 * volume's disk.
 */
export async function verifyDeviceSerial(device: string, expectedSerial: string, opts: SysfsOptions = {}): Promise<'vpd_pg80' | 'wwid'> {
  const id = await readDeviceIdentity(device, opts);
  if (id.serial !== undefined) {
    if (id.serial === expectedSerial) return 'vpd_pg80';
    throw new FailedPreconditionError(`${device} has unit serial ${JSON.stringify(id.serial)}, expected ${expectedSerial}: refusing to use another volume's disk`);
  }
  if (id.wwid !== undefined) {
    if (id.wwid === buildLioNaaWwid(expectedSerial)) return 'wwid';
    throw new FailedPreconditionError(`${device} has wwid ${id.wwid}, expected ${buildLioNaaWwid(expectedSerial)} for serial ${expectedSerial}`);
  }
  throw new FailedPreconditionError(`cannot read the unit serial or wwid of ${device}: refusing to use a disk whose identity is unknown`);
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err: unknown) {
    if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') return [];
    throw err;
  }
}

function ignoreMissing(err: unknown): undefined {
  if (codeOf(err) === 'ENOENT') return undefined;
  throw err;
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
