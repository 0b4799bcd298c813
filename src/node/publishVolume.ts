import { lstat, mkdir, open, rm, rmdir } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from '../errors.ts';
import { dmDevicePath, hasDmDevice } from '../dm/index.ts';
import { validateAbsolutePath } from '../mount/index.ts';
import type { NodeDeps, StepContext } from './NodeDeps.ts';
import { sysfs } from './NodeDeps.ts';
import { ensureReadOnlyDevice, removeReadOnlyDevice } from './readOnlyDevice.ts';
import type { StageRecord } from './stageRecord.ts';
import { buildDmName, buildReadOnlyDmName, isReadOnlyMode, isSingleWriterMode } from './volumeAccess.ts';
import type { AccessMode, VolumeAccess } from './volumeAccess.ts';
import { crashPoint } from '../faults/crashPoint.ts';

export interface PublishRequest {
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly targetPath: string;
  readonly access: VolumeAccess;
  readonly accessMode: AccessMode;
  readonly readOnly: boolean;
}

/**
 * NodePublishVolume:
 *  1. the volume must be staged here, at this staging path, with the same access type;
 *  2. single-writer modes (SINGLE_NODE_WRITER, SINGLE_NODE_SINGLE_WRITER) may be published at one
 *     target path only: another live one is FAILED_PRECONDITION (spec, NodePublishVolume errors);
 *  3. a target already mounted with the same ro/rw state is success; with the other state,
 *     ALREADY_EXISTS;
 *  4. mount: create the target directory, bind-mount the staging path onto it;
 *     block: create the target file, bind-mount /dev/mapper/vbs-… onto it (a device node can be
 *     bound onto a regular file); read-only when the request or the access mode says so, and a
 *     read-only block target gets a read-only dm device of its own (readOnlyDevice.ts);
 *  5. add the target path to the stage record (unstage refuses while it is mounted).
 */
export async function publishVolume(deps: NodeDeps, req: PublishRequest, ctx: StepContext): Promise<void> {
  const { signal } = ctx;
  validateAbsolutePath(req.stagingPath, 'staging_target_path');
  validateAbsolutePath(req.targetPath, 'target_path');
  const record = await deps.records.read(req.volumeId);
  if (!record) throw new FailedPreconditionError(`volume ${req.volumeId} is not staged on this node; call NodeStageVolume first`);
  if (record.stagingPath !== req.stagingPath) throw new FailedPreconditionError(`volume ${req.volumeId} is staged at ${record.stagingPath}, not ${req.stagingPath}`);
  if (record.access.kind !== req.access.kind) throw new InvalidArgumentError(`volume ${req.volumeId} was staged for ${record.access.kind} access, not ${req.access.kind}`);

  if (isSingleWriterMode(req.accessMode)) {
    for (const other of record.publishedPaths.filter((p) => p !== req.targetPath)) {
      if (await deps.mounter.findMount(other, signal)) {
        throw new FailedPreconditionError(`volume ${req.volumeId} (${req.accessMode}) is already published at ${other}; it can be published at one target path only`);
      }
    }
  }

  const readOnly = req.readOnly || isReadOnlyMode(req.accessMode);
  const existing = await deps.mounter.findMount(req.targetPath, signal);
  if (existing) {
    if (existing.isReadOnly !== readOnly) throw new AlreadyExistsError(`${req.targetPath} is already published ${existing.isReadOnly ? 'read-only' : 'read-write'}`);
  } else if (record.access.kind === 'mount') {
    if (!(await deps.mounter.findMount(record.stagingPath, signal))) throw new FailedPreconditionError(`volume ${req.volumeId} has no filesystem mounted at ${record.stagingPath}; stage it again`);
    await mkdir(req.targetPath, { recursive: true });
    await deps.mounter.bindMount(record.stagingPath, req.targetPath, { readOnly }, signal);
    // Mounted but not yet in the stage record: the retry finds the mount and records it.
    crashPoint('node.publish.after-mount');
  } else {
    if (!(await deps.dmsetup.info(record.dmName, signal))) throw new FailedPreconditionError(`volume ${req.volumeId} has no device ${dmDevicePath(record.dmName)}; stage it again`);
    // A volume staged read-only has a read-only device already; a read-write one gets a
    // read-only device of its own for this target (readOnlyDevice.ts says why).
    const ro = readOnly && !record.readOnly ? await ensureReadOnlyDevice(deps, record, req.targetPath, ctx) : undefined;
    try {
      await ensureFile(req.targetPath);
      await deps.mounter.bindMount(ro?.device ?? dmDevicePath(record.dmName), req.targetPath, { readOnly }, signal);
    } catch (err: unknown) {
      if (ro?.created) await removeReadOnlyDevice(deps, buildReadOnlyDmName(record.dmName, req.targetPath), ctx).catch((e: unknown) => ctx.log.warn({ err: e }, 'rollback of the read-only device failed; unpublish or unstage removes it'));
      throw err;
    }
  }
  await rememberPath(deps, record, req.targetPath);
}

export interface UnpublishRequest {
  readonly volumeId: string;
  readonly targetPath: string;
}

/**
 * NodeUnpublishVolume: unmount the target path (every stacked mount), remove the directory or
 * file NodePublish created, forget the path in the stage record. A target path that does not
 * exist is success (spec; csi-sanity checks it). A mount there that is not this volume's is
 * FAILED_PRECONDITION and left alone: a wrong or forged volume id must not take down another pod's
 * mount.
 */
export async function unpublishVolume(deps: NodeDeps, req: UnpublishRequest, ctx: StepContext): Promise<void> {
  const { signal } = ctx;
  validateAbsolutePath(req.targetPath, 'target_path');
  const record = await deps.records.read(req.volumeId);
  const roName = buildReadOnlyDmName(record?.dmName ?? buildDmName(deps.initiatorName, req.volumeId), req.targetPath);
  if (await exists(req.targetPath)) {
    if (await deps.mounter.findMount(req.targetPath, signal)) await requireOwnMount(deps, req, roName, signal);
    for (let i = 0; i < 8 && (await deps.mounter.findMount(req.targetPath, signal)); i++) await deps.mounter.unmount(req.targetPath, signal);
    if (await deps.mounter.findMount(req.targetPath, signal)) throw new FailedPreconditionError(`${req.targetPath} is still mounted after unmounting it 8 times`);
    const st = await lstat(req.targetPath);
    if (st.isDirectory()) {
      try {
        await rmdir(req.targetPath);
      } catch (err: unknown) {
        if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY') throw new FailedPreconditionError(`${req.targetPath} is not empty after unmounting; leaving it for the operator`);
        throw err;
      }
    } else {
      await rm(req.targetPath, { force: true });
    }
  }
  // Target gone, its read-only device maybe not: the retry (the path no longer exists) removes it.
  crashPoint('node.unpublish.after-unmount');
  await removeReadOnlyDevice(deps, roName, ctx);
  if (record?.publishedPaths.includes(req.targetPath)) {
    await deps.records.write({ ...record, publishedPaths: record.publishedPaths.filter((p) => p !== req.targetPath) });
  }
}

/**
 * What NodePublish mounts at a target is always this volume's dm device, or the read-only device
 * it made for that target: the staging filesystem on it, bound (st_dev), or its device node, bound
 * (st_rdev). Both names derive from the node, the volume id and the target path, so this holds
 * without the stage record (a lost state dir, a crash before the record was written). While such
 * a mount exists, the device cannot be gone: a filesystem holds it open, and unstage refuses while
 * a target is mounted.
 */
async function requireOwnMount(deps: NodeDeps, req: UnpublishRequest, roName: string, signal: AbortSignal): Promise<void> {
  const dmName = buildDmName(deps.initiatorName, req.volumeId);
  const [dm, ro, mounted] = await Promise.all([
    deps.dmsetup.info(dmName, signal),
    hasDmDevice(roName, sysfs(deps)).then((has) => (has ? deps.dmsetup.info(roName, signal) : undefined)),
    deps.mounter.mountedDevice(req.targetPath),
  ]);
  if ([dm, ro].some((d) => d && d.major === mounted.major && d.minor === mounted.minor)) return;
  throw new FailedPreconditionError(
    `${req.targetPath} holds a mount of device ${mounted.major}:${mounted.minor}, not of volume ${req.volumeId}'s ` +
      `${dm ? `device ${dmDevicePath(dmName)} (${dm.major}:${dm.minor})` : `device ${dmDevicePath(dmName)}, which does not exist on this node`}; leaving it mounted`,
  );
}

async function rememberPath(deps: NodeDeps, record: StageRecord, targetPath: string): Promise<void> {
  if (record.publishedPaths.includes(targetPath)) return;
  await deps.records.write({ ...record, publishedPaths: [...record.publishedPaths, targetPath] });
}

/** The block target: a regular file the device is bound onto; its directory may not exist yet. */
async function ensureFile(path: string): Promise<void> {
  await mkdir(nodePath.dirname(path), { recursive: true });
  const handle = await open(path, 'a', 0o600);
  await handle.close();
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
