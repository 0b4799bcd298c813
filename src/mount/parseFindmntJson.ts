/** One mount as findmnt reports it. */
export interface MountInfo {
  readonly target: string;
  /** e.g. "/dev/sdb"; for a bind mount of a device file "devtmpfs[/sdb]". */
  readonly source: string;
  readonly fsType: string;
  readonly options: readonly string[];
  readonly isReadOnly: boolean;
}

/**
 * Parses `findmnt -J -l -b -o TARGET,SOURCE,FSTYPE,OPTIONS ...`. Mounts stacked on one target
 * come in mount order, the visible (topmost) one last. Throws on any other shape.
 */
export function parseFindmntJson(stdout: string): MountInfo[] {
  const doc: unknown = JSON.parse(stdout);
  const list = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['filesystems'] : undefined;
  if (!Array.isArray(list)) throw new Error('findmnt output has no "filesystems" array');
  return list.map((entry: unknown) => {
    const row = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const field = (name: string): string => {
      const value = row[name];
      if (typeof value !== 'string') throw new Error(`findmnt entry lacks field ${name}`);
      return value;
    };
    const options = field('options').split(',').filter((o) => o !== '');
    return { target: field('target'), source: field('source'), fsType: field('fstype'), options, isReadOnly: options.includes('ro') };
  });
}
