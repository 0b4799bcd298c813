import { InvalidArgumentError } from '../errors.ts';
import type { Command, CommandResult, CommandRunner } from '../exec/index.ts';
import { CommandFailedError } from '../exec/index.ts';
import { buildLinearTable, DM_INFO_COLUMNS, parseDmInfo, parseDmTable } from './parseDmsetup.ts';
import type { DmInfo, DmTableLine } from './parseDmsetup.ts';
import { buildRaid1Table, parseRaidStatus } from './raid.ts';
import type { Raid1Table, RaidStatus } from './raid.ts';

export interface DmsetupOptions {
  readonly runner: CommandRunner;
  /** Default "dmsetup"; a host prefix (chroot/nsenter) belongs in the runner. */
  readonly file?: string;
  readonly timeoutMs?: number;
}

/** A linear mapping of a whole device: what NodeStage puts between the iSCSI disk and the pod. */
export interface LinearMapping {
  readonly sectors: number;
  /** "major:minor" (what the kernel stores and `dmsetup table` prints) or a /dev path. */
  readonly device: string;
  /** Where on `device` the mapping starts, in sectors; default 0 (a replicated copy's data leg starts after its header). */
  readonly offsetSector?: number;
}

/** dm names: what the kernel allows (< 128 bytes) minus anything a path or a table could misread. */
const DM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,126}$/;
const DM_UUID = /^[A-Za-z0-9][A-Za-z0-9_.+:-]{0,126}$/;
const DM_DEVICE = /^(?:[0-9]{1,9}:[0-9]{1,9}|\/dev\/[A-Za-z0-9/_.:+-]+)$/;
const MISSING = /Device does not exist|No such device or address/i;

/**
 * The only code that runs dmsetup. Every call passes --noudevsync: in a container without udev a
 * udev-synchronised dmsetup waits for cookies that never complete (docs/field-notes.md 3.1). Nodes in
 * /dev/mapper are made by libdevmapper itself at create (--verifyudev), so they exist whether or
 * not udev runs, and whenever udev gets to the event.
 */
export class Dmsetup {
  readonly #runner: CommandRunner;
  readonly #file: string;
  readonly #timeoutMs: number;

  constructor(opts: DmsetupOptions) {
    this.#runner = opts.runner;
    this.#file = opts.file ?? 'dmsetup';
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /**
   * `dmsetup create <name> --noudevsync --verifyudev [-u <uuid>] [--readonly] --table "0 N linear <dev> 0"`.
   * --verifyudev makes libdevmapper create /dev/mapper/<name> itself before it returns. Without it,
   * dmsetup leaves the node to udev when udev runs ("Skipping NODE_ADD [trust_udev]"), and right
   * after the create the node is not there yet (seen in the test bed, lvm2 1.02.185); it used to
   * take a second process, `dmsetup mknodes`. libdm ignores EEXIST, so udev making it first is fine.
   */
  async createLinear(name: string, mapping: LinearMapping, opts: { readonly uuid?: string; readonly readOnly?: boolean } = {}, signal?: AbortSignal): Promise<void> {
    validateName(name);
    if (opts.uuid !== undefined && !DM_UUID.test(opts.uuid)) throw new InvalidArgumentError(`dm uuid ${JSON.stringify(opts.uuid)} is not valid`);
    const args = ['create', name, '--noudevsync', '--verifyudev', ...(opts.uuid ? ['-u', opts.uuid] : []), ...(opts.readOnly ? ['--readonly'] : []), '--table', linearTable(mapping)];
    await this.#run(args, signal);
  }

  /**
   * Loads a new table and makes it live: `dmsetup reload` (inactive slot) then `dmsetup resume`,
   * which suspends the device, flushes in-flight I/O, swaps the tables and resumes; openers never
   * see the device go away. How NodeExpand grows the device, and how a mirror or a migration can
   * later swap what lies beneath it. A read-only device needs `readOnly` again: each table load
   * sets its own mode, and a load without --readonly would make the device writable.
   */
  async reloadLinear(name: string, mapping: LinearMapping, signal?: AbortSignal, opts: { readonly readOnly?: boolean } = {}): Promise<void> {
    validateName(name);
    await this.#run(['reload', name, '--noudevsync', ...(opts.readOnly ? ['--readonly'] : []), '--table', linearTable(mapping)], signal);
    await this.resume(name, signal);
  }

  /**
   * `dmsetup create <name> --table "<raid1 table>"` (src/dm/raid.ts): the mirror of a replicated
   * volume over its legs' linear devices, under the name a single-copy volume's device has.
   */
  async createRaid1(name: string, table: Raid1Table, opts: { readonly uuid?: string; readonly readOnly?: boolean } = {}, signal?: AbortSignal): Promise<void> {
    validateName(name);
    if (opts.uuid !== undefined && !DM_UUID.test(opts.uuid)) throw new InvalidArgumentError(`dm uuid ${JSON.stringify(opts.uuid)} is not valid`);
    const line = raidTable(table);
    await this.#run(['create', name, '--noudevsync', '--verifyudev', ...(opts.uuid ? ['-u', opts.uuid] : []), ...(opts.readOnly ? ['--readonly'] : []), '--table', line], signal);
  }

  /**
   * A new raid1 table made live (reload + resume): a grown size after every leg grew, or legs
   * swapped after a disk came back as another sdX. The resume also re-adds legs that had failed
   * and answer again (dm-raid 1.5.1 "restore transiently failed devices on resume").
   */
  async reloadRaid1(name: string, table: Raid1Table, signal?: AbortSignal, opts: { readonly readOnly?: boolean } = {}): Promise<void> {
    validateName(name);
    const line = raidTable(table);
    await this.#run(['reload', name, '--noudevsync', ...(opts.readOnly ? ['--readonly'] : []), '--table', line], signal);
    await this.resume(name, signal);
  }

  /** `dmsetup suspend`: flushes and holds I/O until resume (with the resume, how dm-raid retries failed legs). */
  async suspend(name: string, signal?: AbortSignal): Promise<void> {
    validateName(name);
    await this.#run(['suspend', name, '--noudevsync'], signal);
  }

  /** A raid device's status (leg health, sync progress), or undefined if there is no device of that name. */
  async raidStatus(name: string, signal?: AbortSignal): Promise<RaidStatus | undefined> {
    validateName(name);
    try {
      return parseRaidStatus((await this.#run(['status', name], signal)).stdout);
    } catch (err: unknown) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async resume(name: string, signal?: AbortSignal): Promise<void> {
    validateName(name);
    await this.#run(['resume', name, '--noudevsync'], signal);
  }

  /**
   * `dmsetup remove --retry <name>` (--retry rides out a udev rule that briefly opens the device).
   * A device that does not exist counts as removed: returns false.
   */
  async remove(name: string, signal?: AbortSignal): Promise<boolean> {
    validateName(name);
    try {
      await this.#run(['remove', '--noudevsync', '--retry', name], signal);
      return true;
    } catch (err: unknown) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** The device's state, or undefined if there is no device of that name. */
  async info(name: string, signal?: AbortSignal): Promise<DmInfo | undefined> {
    validateName(name);
    try {
      const result = await this.#run(['info', '-c', '--noheadings', '--separator', '|', '-o', DM_INFO_COLUMNS.join(','), name], signal);
      return parseDmInfo(result.stdout);
    } catch (err: unknown) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** The live table, or undefined if there is no device of that name. */
  async table(name: string, signal?: AbortSignal): Promise<DmTableLine[] | undefined> {
    validateName(name);
    try {
      return parseDmTable((await this.#run(['table', name], signal)).stdout);
    } catch (err: unknown) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async #run(args: readonly string[], signal?: AbortSignal): Promise<CommandResult> {
    const cmd: Command = { file: this.#file, args, timeoutMs: this.#timeoutMs };
    return this.#runner.run(cmd, signal);
  }
}

/** The /dev path of a dm device; udev and `dmsetup create --verifyudev` both create it. */
export function dmDevicePath(name: string): string {
  return `/dev/mapper/${validateName(name)}`;
}

function validateName(name: string): string {
  if (!DM_NAME.test(name)) throw new InvalidArgumentError(`device-mapper name ${JSON.stringify(name)} must be 1-127 characters of A-Z a-z 0-9 _ . + -`);
  return name;
}

function linearTable(mapping: LinearMapping): string {
  if (!DM_DEVICE.test(mapping.device)) throw new InvalidArgumentError(`dm table device ${JSON.stringify(mapping.device)} must be major:minor or a /dev path`);
  if (mapping.offsetSector !== undefined && (!Number.isSafeInteger(mapping.offsetSector) || mapping.offsetSector < 0)) {
    throw new InvalidArgumentError(`dm table offset ${mapping.offsetSector} is not a sector number`);
  }
  return buildLinearTable(mapping);
}

function raidTable(table: Raid1Table): string {
  try {
    return buildRaid1Table(table);
  } catch (err: unknown) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function isMissing(err: unknown): boolean {
  return err instanceof CommandFailedError && MISSING.test(err.stderr);
}
