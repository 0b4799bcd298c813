import { InvalidArgumentError } from '../errors.ts';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability.ts';

export const SUPPORTED_FS_TYPES = ['ext4', 'xfs'] as const;
export type FsType = (typeof SUPPORTED_FS_TYPES)[number];
export const DEFAULT_FS_TYPE: FsType = 'ext4';

export type AccessMode =
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER';

/** One volume capability, checked and reduced to what the driver acts on. */
export type Capability =
  | { readonly access: 'block'; readonly mode: AccessMode }
  | { readonly access: 'mount'; readonly mode: AccessMode; readonly fsType: FsType; readonly mountFlags: readonly string[] };

const MODES: readonly AccessMode[] = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
];

export function isSingleNodeMode(mode: AccessMode): boolean {
  return mode.startsWith('SINGLE_NODE_');
}

export function isReadOnlyMode(mode: AccessMode): boolean {
  return mode.endsWith('_READER_ONLY');
}

/** A mount flag becomes a `mount -o` argument: no separators, no spaces, no control characters. */
const MOUNT_FLAG = /^[A-Za-z0-9_.=:/+-]{1,256}$/;

/**
 * Checks one capability and returns the reason it is unsupported, or the parsed capability.
 *
 * Writers on several nodes are allowed only for raw block: KubeVirt live migration attaches one
 * block volume to two nodes for a moment (docs/field-notes.md 6.1), but two nodes mounting one ext4 or
 * XFS filesystem corrupt it, since neither is a cluster filesystem. Readers on several nodes
 * may mount, read-only.
 */
export function checkCapability(cap: VolumeCapability__Output | null | undefined, defaultFsType: FsType = DEFAULT_FS_TYPE): Capability | string {
  if (!cap) return 'a volume capability is empty';
  const modeText = cap.access_mode?.mode;
  const mode = MODES.find((m) => m === modeText);
  if (!mode) return `access mode ${JSON.stringify(modeText ?? '')} is not supported; use one of ${MODES.join(', ')}`;
  if (cap.access_type === 'block') return { access: 'block', mode };
  if (cap.access_type !== 'mount' || !cap.mount) return 'a volume capability must set access_type to block or mount';
  if (!isSingleNodeMode(mode) && !isReadOnlyMode(mode)) {
    return `access mode ${mode} needs volumeMode: Block: a filesystem (ext4, xfs) written from several nodes at once is corrupted`;
  }
  const requested = cap.mount.fs_type;
  const fsType = requested === '' ? defaultFsType : SUPPORTED_FS_TYPES.find((t) => t === requested);
  if (!fsType) return `filesystem type ${JSON.stringify(requested)} is not supported; use ${SUPPORTED_FS_TYPES.join(' or ')}`;
  const bad = cap.mount.mount_flags.find((f) => !MOUNT_FLAG.test(f));
  if (bad !== undefined) return `mount flag ${JSON.stringify(bad)} has characters a mount option cannot have`;
  if (cap.mount.volume_mount_group !== '') return 'volume_mount_group is not supported (the driver does not advertise VOLUME_MOUNT_GROUP)';
  return { access: 'mount', mode, fsType, mountFlags: [...cap.mount.mount_flags] };
}

/** Every capability of a request, or InvalidArgumentError naming the first unsupported one. */
export function parseCapabilities(caps: readonly VolumeCapability__Output[] | undefined, defaultFsType: FsType = DEFAULT_FS_TYPE): Capability[] {
  if (!caps || caps.length === 0) throw new InvalidArgumentError('volume_capabilities is required');
  return caps.map((cap, i) => {
    const checked = checkCapability(cap, defaultFsType);
    if (typeof checked === 'string') throw new InvalidArgumentError(`volume capability ${i}: ${checked}`);
    return checked;
  });
}

/** The same, for RPCs with one required capability. */
export function parseCapability(cap: VolumeCapability__Output | null | undefined, defaultFsType: FsType = DEFAULT_FS_TYPE): Capability {
  if (!cap) throw new InvalidArgumentError('volume_capability is required');
  const checked = checkCapability(cap, defaultFsType);
  if (typeof checked === 'string') throw new InvalidArgumentError(`volume capability: ${checked}`);
  return checked;
}
