import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { VolumeCapability } from '../generated/csi/v1/VolumeCapability.ts';
import type { AccessChoice, VolumeKind } from './parseCliArgs.ts';

const MODES = {
  rwo: 'SINGLE_NODE_WRITER',
  'rwx-block': 'MULTI_NODE_MULTI_WRITER',
  rox: 'MULTI_NODE_READER_ONLY',
} as const;

/** The CSI volume capability for a filesystem or raw block volume and an access choice. */
export function volumeCapability(volume: VolumeKind, access: AccessChoice): VolumeCapability {
  const access_mode = { mode: MODES[access] };
  return volume.kind === 'block' ? { block: {}, access_mode } : { mount: { fs_type: volume.fsType, mount_flags: [] }, access_mode };
}

/**
 * Where `attach` stages a volume: one directory per volume under the work dir, named by a hash of
 * the id (ids contain '/'), so `detach` finds it again from the id alone.
 */
export function stagingPathFor(workDir: string, volumeId: string): string {
  return join(workDir, 'staging', createHash('sha256').update(volumeId).digest('hex').slice(0, 32));
}
