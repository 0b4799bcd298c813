import { stat } from 'node:fs/promises';
import { NotFoundError } from '../errors.ts';
import { readDeviceSectors } from '../dm/index.ts';
import type { VolumeUsage } from '../generated/csi/v1/VolumeUsage.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { sysfs } from './NodeDeps.ts';

/**
 * NodeGetVolumeStats: bytes and inodes of a mounted filesystem (statfs); the size of a block
 * volume (the device bound onto the target file, read from sysfs). The path must be the volume's
 * staging path or one of its target paths on this node, else NOT_FOUND (spec, NodeGetVolumeStats
 * errors: "Indicates that the volume does not exist or is not published at the given path"): any
 * other path would report a filesystem that is not the volume's, a host one included. That holds
 * for a path that is not absolute too: it cannot be one of the volume's paths, which stage and
 * publish checked, so it is NOT_FOUND, not INVALID_ARGUMENT (csi-sanity asks with "some/path").
 * A path that does not exist is NOT_FOUND too. Health is NodeGetVolumeHealth's job in CSI 1.13
 * (VolumeCondition is gone).
 */
export async function volumeStats(deps: NodeDeps, volumeId: string, volumePath: string): Promise<VolumeUsage[]> {
  const record = await deps.records.read(volumeId);
  if (!record) throw new NotFoundError(`volume ${volumeId} does not exist on this node (it is not staged here)`);
  if (volumePath !== record.stagingPath && !record.publishedPaths.includes(volumePath)) {
    throw new NotFoundError(`volume ${volumeId} is not published at ${JSON.stringify(volumePath)}: it is neither its staging path nor one of its target paths on this node`);
  }
  let st;
  try {
    st = await stat(volumePath, { bigint: true });
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`volume path ${volumePath} does not exist`);
    throw err;
  }
  if (st.isBlockDevice()) {
    const sectors = await readDeviceSectors(decodeDev(st.rdev), sysfs(deps));
    if (sectors === undefined) throw new NotFoundError(`the device at ${volumePath} is gone`);
    return [{ unit: 'BYTES', total: sectors * 512 }];
  }
  if (!st.isDirectory()) throw new NotFoundError(`${volumePath} is neither a published filesystem nor a block device`);
  const fs = await deps.mounter.getFilesystemStats(volumePath);
  return [
    { unit: 'BYTES', total: fs.totalBytes, used: fs.usedBytes, available: fs.availableBytes },
    { unit: 'INODES', total: fs.totalInodes, used: fs.usedInodes, available: fs.availableInodes },
  ];
}

/** Linux's dev_t layout (glibc sysmacros): 12 bits of major and 20 of minor, split across the word. */
export function decodeDev(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}
