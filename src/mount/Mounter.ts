import { realpath as fsRealpath, stat as fsStat, statfs as fsStatfs } from 'node:fs/promises';
import type { CommandRunner } from '../exec/index.ts';
import { CommandFailedError } from '../exec/index.ts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.ts';
import { parseBlkidExport } from './parseBlkidExport.ts';
import { splitDevT } from './deviceSize.ts';
import { parseFindmntJson } from './parseFindmntJson.ts';
import type { MountInfo } from './parseFindmntJson.ts';
import { parseMountInfo } from './parseMountInfo.ts';
import { validateAbsolutePath, validateDevicePath } from './validatePaths.ts';

/** The filesystems the driver formats and grows. */
export const SUPPORTED_FS_TYPES = ['ext4', 'xfs'] as const;
export type FsType = (typeof SUPPORTED_FS_TYPES)[number];

/** What is on a device, read from the device itself (docs/field-notes.md 2.1). Anything but 'blank' holds data. */
export type FilesystemProbe =
  | { readonly kind: 'blank'; readonly sizeBytes: number }
  | { readonly kind: 'filesystem'; readonly sizeBytes: number; readonly fsType: string; readonly uuid: string | undefined; readonly label: string | undefined }
  | { readonly kind: 'partition-table'; readonly sizeBytes: number; readonly ptType: string }
  /** blkid found something it could not name (exit 0 without TYPE/PTTYPE) or several signatures (exit 8). */
  | { readonly kind: 'unknown-signature'; readonly sizeBytes: number; readonly fields: Readonly<Record<string, string>> };

export interface FilesystemStats {
  readonly totalBytes: number;
  readonly usedBytes: number;
  /** What an unprivileged writer can still use (ext4 reserved blocks excluded). */
  readonly availableBytes: number;
  readonly totalInodes: number;
  readonly usedInodes: number;
  readonly availableInodes: number;
}

export interface MountOptions {
  readonly fsType: string;
  /** Extra options from the CO (StorageClass mountOptions); joined with ','. */
  readonly options?: readonly string[];
  readonly readOnly?: boolean;
}

export interface MounterOptions {
  readonly runner: CommandRunner;
  /** For blkid, blockdev, findmnt. Default 30 s. */
  readonly probeTimeoutMs?: number;
  /** For mount and umount. Default 60 s. */
  readonly mountTimeoutMs?: number;
  /** For mkfs, resize2fs, xfs_growfs. Default 10 min: big volumes over iSCSI are slow (docs/field-notes.md 2.2). */
  readonly formatTimeoutMs?: number;
  /** Resolves device symlinks (/dev/disk/by-path/...) to compare with findmnt's SOURCE. Default fs.realpath. */
  readonly realpath?: (path: string) => Promise<string>;
  /** Default fs.statfs with bigint results. */
  readonly statfs?: (path: string) => Promise<StatfsFigures>;
  /**
   * Reads the mount table (mountinfo text) in-process instead of spawning findmnt for every "is it
   * mounted?" (0.3-1.5 s each under emulation). Only valid when this process shares the mount
   * namespace the runner's commands run in, i.e. the runner has no host prefix: then pass
   * `() => readFile('/proc/self/mountinfo', 'utf8')`. Default: findmnt through the runner.
   */
  readonly readMountInfo?: () => Promise<string>;
  /**
   * Reads a block device's size in bytes in-process (undefined = no such device) instead of
   * spawning `blockdev --getsize64`, e.g. readBlockDeviceSizeBytes (./deviceSize.ts), which reads
   * sysfs. Same condition as readMountInfo: this process must see the runner's /dev and /sys.
   * Default: blockdev through the runner.
   */
  readonly readDeviceSizeBytes?: (device: string) => Promise<number | undefined>;
}

/** The statfs(2) fields getFilesystemStats uses, as bigints. */
export interface StatfsFigures {
  readonly bsize: bigint;
  readonly blocks: bigint;
  readonly bfree: bigint;
  readonly bavail: bigint;
  readonly files: bigint;
  readonly ffree: bigint;
}

/** blkid -p: 0 = found something, 2 = nothing found, 8 = ambivalent (several signatures). */
const BLKID_FOUND = 0;
const BLKID_NOTHING = 2;
const BLKID_AMBIVALENT = 8;
/** findmnt exits 1 when no mount matches. */
const FINDMNT_NONE = 1;
/** util-linux umount: 32 = mount failure, which includes "not mounted". */
const UMOUNT_FAILURE = 32;

/**
 * The worker side's filesystem tools: blkid, mkfs, mount, umount, findmnt, resize2fs, xfs_growfs.
 * Every path is validated before it reaches a command. "Is it mounted?" is read from the mount
 * table (findmnt reads /proc/self/mountinfo), never from st_dev (vm-test-bed.md pitfall), and
 * findmnt runs through the same runner (same mount namespace) as mount itself, unless the caller
 * hands in `readMountInfo` because this process shares that namespace.
 */
export class Mounter {
  readonly #runner: CommandRunner;
  readonly #probeTimeoutMs: number;
  readonly #mountTimeoutMs: number;
  readonly #formatTimeoutMs: number;
  readonly #realpath: (path: string) => Promise<string>;
  readonly #statfs: (path: string) => Promise<StatfsFigures>;
  readonly #readMountInfo: (() => Promise<string>) | undefined;
  readonly #readDeviceSizeBytes: ((device: string) => Promise<number | undefined>) | undefined;

  constructor(opts: MounterOptions) {
    this.#runner = opts.runner;
    this.#probeTimeoutMs = opts.probeTimeoutMs ?? 30_000;
    this.#mountTimeoutMs = opts.mountTimeoutMs ?? 60_000;
    this.#formatTimeoutMs = opts.formatTimeoutMs ?? 600_000;
    this.#realpath = opts.realpath ?? ((path) => fsRealpath(path));
    this.#statfs = opts.statfs ?? ((path) => fsStatfs(path, { bigint: true }));
    this.#readMountInfo = opts.readMountInfo;
    this.#readDeviceSizeBytes = opts.readDeviceSizeBytes;
  }

  /**
   * Reads what the device holds, failing closed (docs/field-notes.md 2.1):
   * 1. `blockdev --getsize64 <dev>` (or readDeviceSizeBytes): the device must exist and be
   *    non-empty; `blkid -p` alone exits 2 ("nothing found") for a path that does not exist, which
   *    would read as blank.
   * 2. `blkid -p -o export <dev>` probes the device itself, not udev's cache: exit 2 = blank;
   *    TYPE = filesystem; PTTYPE = partition table; exit 0 without either, or exit 8
   *    (several signatures) = unknown signature. Any other failure throws.
   */
  async probeFilesystem(device: string, signal?: AbortSignal): Promise<FilesystemProbe> {
    validateDevicePath(device);
    const sizeBytes = await this.#deviceSize(device, signal);
    const result = await this.#runner.run(
      { file: 'blkid', args: ['-p', '-o', 'export', device], timeoutMs: this.#probeTimeoutMs, okExitCodes: [BLKID_FOUND, BLKID_NOTHING, BLKID_AMBIVALENT] },
      signal,
    );
    if (result.exitCode === BLKID_NOTHING) return { kind: 'blank', sizeBytes };
    const fields = parseBlkidExport(result.stdout);
    if (result.exitCode === BLKID_AMBIVALENT) return { kind: 'unknown-signature', sizeBytes, fields };
    const fsType = fields['TYPE'];
    if (fsType) return { kind: 'filesystem', sizeBytes, fsType, uuid: fields['UUID'], label: fields['LABEL'] };
    const ptType = fields['PTTYPE'];
    if (ptType) return { kind: 'partition-table', sizeBytes, ptType };
    return { kind: 'unknown-signature', sizeBytes, fields };
  }

  /**
   * Formats the device only if probeFilesystem says it is blank. A device that already has a
   * filesystem of the requested type is left alone (a retried NodeStage); any other content is a
   * FailedPreconditionError, never a format.
   * - ext4: `mkfs.ext4 -F -m0 -E nodiscard,lazy_itable_init=1[,lazy_journal_init=1] <dev>`
   * - xfs:  `mkfs.xfs -K <dev>`
   * nodiscard/-K: discarding a big thin LV over iSCSI can outlast the RPC (docs/field-notes.md 2.2).
   * -m0: no root-reserved blocks on a volume the pod should get whole (docs/field-notes.md 6.7).
   * lazy_journal_init skips zeroing the journal, safe only when the volume was never written,
   * so only with `isFreshVolume` (a thin LV from a zeroing pool reads zeros, docs/field-notes.md 3.6).
   */
  async formatIfBlank(device: string, fsType: string, opts: { readonly isFreshVolume?: boolean } = {}, signal?: AbortSignal): Promise<{ readonly formatted: boolean }> {
    const type = validateFsType(fsType);
    const probe = await this.probeFilesystem(device, signal);
    switch (probe.kind) {
      case 'blank':
        break;
      case 'filesystem':
        if (probe.fsType === type) return { formatted: false };
        throw new FailedPreconditionError(`device ${device} already holds a ${probe.fsType} filesystem, not ${type}; refusing to format it`);
      case 'partition-table':
        throw new FailedPreconditionError(`device ${device} holds a ${probe.ptType} partition table; refusing to format it`);
      case 'unknown-signature':
        throw new FailedPreconditionError(`device ${device} holds data blkid cannot name (${describeFields(probe.fields)}); refusing to format it`);
    }
    const command =
      type === 'ext4'
        ? { file: 'mkfs.ext4', args: ['-F', '-m0', '-E', `nodiscard,lazy_itable_init=1${opts.isFreshVolume ? ',lazy_journal_init=1' : ''}`, device] }
        : { file: 'mkfs.xfs', args: ['-K', device] };
    await this.#runner.run({ ...command, timeoutMs: this.#formatTimeoutMs }, signal);
    return { formatted: true };
  }

  /**
   * `mount -t <fs> -o <options> <dev> <target>`. XFS always gets `nouuid`, so a clone or restored
   * snapshot mounts next to its origin (docs/field-notes.md 2.3). If the target is already mounted from
   * the same device with the same read-only state, nothing is done; if from anything else, the
   * call fails rather than stacking a second mount.
   */
  async mount(device: string, target: string, opts: MountOptions, signal?: AbortSignal): Promise<void> {
    validateDevicePath(device);
    validateAbsolutePath(target, 'mount target');
    const type = validateFsType(opts.fsType);
    const options = validateMountOptions(opts.options ?? []);
    if (type === 'xfs' && !options.includes('nouuid')) options.push('nouuid');
    const readOnly = opts.readOnly ?? false;
    if (readOnly && !options.includes('ro')) options.push('ro');

    const existing = await this.findMount(target, signal);
    if (existing) {
      // findmnt names dm devices /dev/mapper/<name> and iSCSI disks /dev/sdX, while callers pass
      // /dev/<vg>/<lv> or /dev/disk/by-path/... links: compare what both resolve to.
      const [wanted, actual] = await Promise.all([device, existing.source].map((p) => this.#realpath(p).catch(() => p)));
      if (wanted === actual && existing.isReadOnly === readOnly) return;
      throw new FailedPreconditionError(
        `${target} is already mounted from ${existing.source} (${existing.isReadOnly ? 'ro' : 'rw'}), not ${device} (${readOnly ? 'ro' : 'rw'})`,
      );
    }
    await this.#runner.run(
      { file: 'mount', args: ['-t', type, ...(options.length > 0 ? ['-o', options.join(',')] : []), device, target], timeoutMs: this.#mountTimeoutMs },
      signal,
    );
  }

  /**
   * `mount --bind <source> <target>`, then for read-only `mount -o remount,bind,ro <target>`
   * (a bind mount ignores ro on the first call on older kernels and util-linux). The source may
   * be a directory or a device (raw block volumes are bind-mounted onto a file, docs/field-notes.md 2.7).
   * A target that is already a mount point is left alone: findmnt cannot name a bind mount's
   * source reliably (a device shows as "devtmpfs[/sdb]"), so the caller, which knows what it
   * staged, decides whether that mount is the right one.
   */
  async bindMount(source: string, target: string, opts: { readonly readOnly?: boolean } = {}, signal?: AbortSignal): Promise<void> {
    validateAbsolutePath(source, 'bind mount source');
    validateAbsolutePath(target, 'mount target');
    if (await this.findMount(target, signal)) return;
    await this.#runner.run({ file: 'mount', args: ['--bind', source, target], timeoutMs: this.#mountTimeoutMs }, signal);
    if (opts.readOnly) {
      await this.#runner.run({ file: 'mount', args: ['-o', 'remount,bind,ro', target], timeoutMs: this.#mountTimeoutMs }, signal);
    }
  }

  /**
   * `umount <target>`. A target that is not mounted (or does not exist) counts as unmounted;
   * "target is busy" is a FailedPreconditionError. Removes one mount: if mounts were stacked,
   * findMount still reports the one below.
   */
  async unmount(target: string, signal?: AbortSignal): Promise<void> {
    validateAbsolutePath(target, 'mount target');
    if (!(await this.findMount(target, signal))) return;
    try {
      await this.#runner.run({ file: 'umount', args: [target], timeoutMs: this.#mountTimeoutMs }, signal);
    } catch (err: unknown) {
      if (err instanceof CommandFailedError && err.exitCode === UMOUNT_FAILURE) {
        // Raced with another unmount between findmnt and umount.
        if (/not mounted|no mount point specified/.test(err.stderr)) return;
        if (/target is busy/.test(err.stderr)) throw new FailedPreconditionError(`${target} is busy: something still uses it`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * The visible mount at exactly `target` (not a parent's), or undefined. With `readMountInfo`,
   * from the mountinfo text: the last entry whose mount point is `target` or what it resolves to
   * (findmnt --mountpoint compares both). Otherwise
   * `findmnt -J -l -b -o TARGET,SOURCE,FSTYPE,OPTIONS --mountpoint <target>` (exit 1 = none).
   */
  async findMount(target: string, signal?: AbortSignal): Promise<MountInfo | undefined> {
    validateAbsolutePath(target, 'mount target');
    if (this.#readMountInfo) {
      const [text, resolved] = await Promise.all([this.#readMountInfo(), this.#realpath(target).catch(() => target)]);
      return parseMountInfo(text).findLast((m) => m.target === target || m.target === resolved);
    }
    const result = await this.#runner.run(
      {
        file: 'findmnt',
        args: ['-J', '-l', '-b', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS', '--mountpoint', target],
        timeoutMs: this.#probeTimeoutMs,
        okExitCodes: [0, FINDMNT_NONE],
      },
      signal,
    );
    if (result.exitCode === FINDMNT_NONE) return undefined;
    return parseFindmntJson(result.stdout).at(-1);
  }

  /**
   * The device behind what is mounted at target: the filesystem's device (st_dev) for a directory,
   * the device itself (st_rdev) for a block device node bound onto a file. Compared with a volume's
   * dm device, it tells our bind mounts from anybody else's without trusting a mount table's
   * source string (findmnt shows a bound device node as devtmpfs[/dm-N]).
   */
  async mountedDevice(target: string): Promise<{ readonly major: number; readonly minor: number }> {
    validateAbsolutePath(target, 'mount target');
    const st = await fsStat(target, { bigint: true });
    return splitDevT(st.isBlockDevice() ? st.rdev : st.dev);
  }

  async isMounted(target: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.findMount(target, signal)) !== undefined;
  }

  /**
   * Grows the filesystem to fill its (already grown) device, online:
   * ext4 `resize2fs <dev>` (works on the device), xfs `xfs_growfs <mountPath>` (needs the mount).
   */
  async growFilesystem(device: string, mountPath: string, fsType: string, signal?: AbortSignal): Promise<void> {
    validateDevicePath(device);
    validateAbsolutePath(mountPath, 'mount path');
    const type = validateFsType(fsType);
    const command = type === 'ext4' ? { file: 'resize2fs', args: [device] } : { file: 'xfs_growfs', args: [mountPath] };
    await this.#runner.run({ ...command, timeoutMs: this.#formatTimeoutMs }, signal);
  }

  /** statfs(2) of a mounted path (NodeGetVolumeStats). A missing path is a NotFoundError, as CSI wants. */
  async getFilesystemStats(path: string): Promise<FilesystemStats> {
    validateAbsolutePath(path, 'volume path');
    let st: StatfsFigures;
    try {
      st = await this.#statfs(path);
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${path} does not exist`, { cause: err });
      throw err;
    }
    return {
      totalBytes: toSafeNumber(st.blocks * st.bsize),
      usedBytes: toSafeNumber((st.blocks - st.bfree) * st.bsize),
      availableBytes: toSafeNumber(st.bavail * st.bsize),
      totalInodes: toSafeNumber(st.files),
      usedInodes: toSafeNumber(st.files - st.ffree),
      availableInodes: toSafeNumber(st.ffree),
    };
  }

  /** `blockdev --getsize64 <dev>`: the device's size in bytes; a missing device is a NotFoundError. */
  async getDeviceSizeBytes(device: string, signal?: AbortSignal): Promise<number> {
    validateDevicePath(device);
    return this.#deviceSize(device, signal);
  }

  /**
   * `blockdev --flushbufs <dev>`: writes the kernel's dirty buffers of the device out before it is
   * removed (docs/field-notes.md 1.10). A device that no longer exists has nothing to flush.
   */
  async flushBuffers(device: string, signal?: AbortSignal): Promise<void> {
    validateDevicePath(device);
    try {
      await this.#runner.run({ file: 'blockdev', args: ['--flushbufs', device], timeoutMs: this.#mountTimeoutMs }, signal);
    } catch (err: unknown) {
      if (err instanceof CommandFailedError && /No such file or directory|No such device/.test(err.stderr)) return;
      throw err;
    }
  }

  async #deviceSize(device: string, signal: AbortSignal | undefined): Promise<number> {
    if (this.#readDeviceSizeBytes) {
      const bytes = await this.#readDeviceSizeBytes(device);
      if (bytes === undefined) throw new NotFoundError(`device ${device} does not exist`);
      if (bytes === 0) throw new FailedPreconditionError(`device ${device} has size 0; refusing to treat it as blank`);
      return bytes;
    }
    let stdout: string;
    try {
      ({ stdout } = await this.#runner.run({ file: 'blockdev', args: ['--getsize64', device], timeoutMs: this.#probeTimeoutMs }, signal));
    } catch (err: unknown) {
      if (err instanceof CommandFailedError && /No such file or directory/.test(err.stderr)) {
        throw new NotFoundError(`device ${device} does not exist`, { cause: err });
      }
      throw err;
    }
    const text = stdout.trim();
    const size = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(size)) throw new Error(`blockdev --getsize64 ${device} printed ${JSON.stringify(text)}`);
    if (size === 0) throw new FailedPreconditionError(`device ${device} has size 0; refusing to treat it as blank`);
    return size;
  }
}

/** Returns fsType as an FsType, or throws InvalidArgumentError for a type the driver does not support. */
export function validateFsType(fsType: string): FsType {
  const known: readonly string[] = SUPPORTED_FS_TYPES;
  if (!known.includes(fsType)) throw new InvalidArgumentError(`filesystem type ${JSON.stringify(fsType)} is not supported; use one of ${SUPPORTED_FS_TYPES.join(', ')}`);
  return fsType as FsType;
}

/**
 * Mount options travel as one `-o` argument; each must be non-empty and free of control characters.
 * Double quotes must pair up: kubelet's SELinux option (CSIDriver seLinuxMount) is
 * `context="system_u:object_r:container_file_t:s0:c10,c20"`, whose comma libmount keeps inside the
 * quotes; an unpaired quote would swallow the options after it.
 */
function validateMountOptions(options: readonly string[]): string[] {
  for (const option of options) {
    if (option.length === 0 || /[\u0000-\u001f\u007f\s]/.test(option)) throw new InvalidArgumentError(`mount option ${JSON.stringify(option)} is not valid`);
    if ((option.match(/"/g) ?? []).length % 2 !== 0) throw new InvalidArgumentError(`mount option ${JSON.stringify(option)} has an unpaired double quote`);
  }
  return [...options];
}

function describeFields(fields: Readonly<Record<string, string>>): string {
  const keys = Object.keys(fields).filter((key) => key !== 'DEVNAME');
  return keys.length > 0 ? keys.map((key) => `${key}=${fields[key]}`).join(' ') : 'several signatures';
}

function toSafeNumber(value: bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`filesystem statistic ${value} is too large to handle exactly`);
  return n;
}
