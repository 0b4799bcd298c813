/** The containerd image store as one tar file: packed on the host (containerdImageStore.ts), unpacked in the guest (e2e/cluster/guestNode.ts). */

/**
 * Pure: tar's arguments to pack the store or unpack it into a directory. --xattrs keeps the overlayfs
 * snapshotter's trusted.overlay.* attributes (opaque directories); whiteouts are device files, which
 * tar keeps as they are; --numeric-owner, as the guest's and host's users are the same anyway.
 */
export function storeTarArgs(mode: 'create' | 'extract', archive: string, dir: string): string[] {
  return [mode === 'create' ? '--create' : '--extract', '--file', archive, '--directory', dir, '--xattrs', '--xattrs-include=*', '--numeric-owner', ...(mode === 'create' ? ['.'] : ['--preserve-permissions'])];
}
