import { createHash } from 'node:crypto';
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability.ts';
import { validateFsType } from '../mount/index.ts';
import type { FsType } from '../mount/index.ts';
import { parseAnyVolumeId } from '../csi/volumeIds.ts';

/** How the pod gets the volume: the raw device, or a filesystem on it. */
export type VolumeAccess =
  | { readonly kind: 'block' }
  | { readonly kind: 'mount'; readonly fsType: FsType; readonly mountFlags: readonly string[] };

export type AccessMode =
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export interface ParsedCapability {
  readonly access: VolumeAccess;
  readonly accessMode: AccessMode;
}

/** The filesystem when the CO names none (CSI leaves the default to the plugin). */
export const DEFAULT_FS_TYPE: FsType = 'ext4';

const MODES: readonly AccessMode[] = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
];

/**
 * Reads a volume_capability. A filesystem can be mounted read-write on one node only: ext4 and
 * XFS are not cluster filesystems, so multi-node writers are offered for block only (KubeVirt's
 * live migration; docs/field-notes.md 6.1).
 */
export function parseVolumeCapability(cap: VolumeCapability__Output | null | undefined): ParsedCapability {
  if (!cap) throw new InvalidArgumentError('volume_capability is required');
  const mode = cap.access_mode?.mode;
  const accessMode = MODES.find((m) => m === mode);
  if (!accessMode) throw new InvalidArgumentError(`volume_capability.access_mode ${JSON.stringify(mode ?? null)} is not supported`);
  if (cap.access_type === 'block') return { access: { kind: 'block' }, accessMode };
  if (cap.access_type !== 'mount' || !cap.mount) throw new InvalidArgumentError('volume_capability needs access_type block or mount');
  if (accessMode === 'MULTI_NODE_MULTI_WRITER' || accessMode === 'MULTI_NODE_SINGLE_WRITER') {
    throw new InvalidArgumentError(`${accessMode} is offered for block volumes only: an ${cap.mount.fs_type || DEFAULT_FS_TYPE} filesystem mounted read-write on two nodes is corrupted`);
  }
  if (cap.mount.volume_mount_group) throw new InvalidArgumentError('volume_mount_group is not supported (the plugin does not advertise VOLUME_MOUNT_GROUP)');
  const fsType = validateFsType(cap.mount.fs_type || DEFAULT_FS_TYPE);
  return { access: { kind: 'mount', fsType, mountFlags: [...cap.mount.mount_flags] }, accessMode };
}

export function isReadOnlyMode(mode: AccessMode): boolean {
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}

/** Modes the spec lets be published read-write at one target path only (spec: "published once"). */
export function isSingleWriterMode(mode: AccessMode): boolean {
  return mode === 'SINGLE_NODE_WRITER' || mode === 'SINGLE_NODE_SINGLE_WRITER';
}

export function requireField(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new InvalidArgumentError(`${name} is required`);
  return value;
}

/**
 * A volume id this driver could have issued; any other is NOT_FOUND (the volume cannot exist).
 * Called after every required field was checked: a missing field is INVALID_ARGUMENT whatever the id.
 */
export function knownVolumeId(id: string): string {
  if (!parseAnyVolumeId(id)) throw new NotFoundError(`volume ${JSON.stringify(id)} does not exist: not an id of this driver`);
  return id;
}

/**
 * The device-mapper name of a volume on this node: `vbs-` and 20 hex digits of
 * sha256(initiator name, volume id). Stable across restarts (NodeUnstage and NodeExpand find the
 * device from the volume id alone), short, and safe in a path. The initiator name is part of the
 * hash so two node plugins with different initiator names on one host (test bed, or a migration
 * rehearsal) never share a device.
 */
export function buildDmName(initiatorName: string, volumeId: string): string {
  return `vbs-${createHash('sha256').update(`${initiatorName}\0${volumeId}`).digest('hex').slice(0, 20)}`;
}

/**
 * The read-only device-mapper device a read-only block publish binds at one target path:
 * `<volume's dm name>-ro-<16 hex of sha256(target path)>`. A read-only bind mount does not make a
 * device node read-only (the mount flag guards the file, not writes through it to the device), so
 * such a target gets a device the kernel itself refuses to write. Named from the target path, so
 * NodeUnpublish (volume id and target path only) finds it; prefixed with the volume's dm name, so
 * NodeUnstage finds every one of the volume.
 */
export function buildReadOnlyDmName(volumeDmName: string, targetPath: string): string {
  return `${readOnlyDmPrefix(volumeDmName)}${createHash('sha256').update(targetPath).digest('hex').slice(0, 16)}`;
}

export function readOnlyDmPrefix(volumeDmName: string): string {
  return `${volumeDmName}-ro-`;
}
