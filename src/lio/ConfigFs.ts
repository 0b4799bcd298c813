/** What a configfs entry is: a directory (config group), a symlink (LUN mapping) or an attribute file. */
export type ConfigFsEntryKind = 'dir' | 'link' | 'attr';

export interface ConfigFsEntry {
  readonly name: string;
  readonly kind: ConfigFsEntryKind;
}

/**
 * The LIO configfs tree, addressed by paths relative to its root (`/sys/kernel/config/target`
 * on a real host, a temp dir in unit tests), segments separated by '/'.
 *
 * Every operation has "ensure" semantics so callers can observe and converge instead of
 * failing on state a previous, interrupted run left behind (rtslib-fb node.py, mode "any").
 * Note that the real kernel creates default children on mkdir (tpgt_N/{acls,lun,np,attrib,...})
 * and removes them with their parent: callers must not create or remove those themselves.
 */
export interface ConfigFs {
  /** Creates one directory (not its parents); true if it was created now, false if it existed. */
  ensureDir(path: string): Promise<boolean>;
  /** Writes an attribute in a single write() and without a trailing newline (the kernel keeps CHAP values verbatim). */
  writeAttr(path: string, value: string): Promise<void>;
  /** The attribute's text as the kernel shows it (usually with a trailing newline); undefined if the file does not exist. */
  readAttr(path: string): Promise<string | undefined>;
  /** Creates a symlink at linkPath to targetPath; true if created now, false if it already pointed there. */
  ensureLink(linkPath: string, targetPath: string): Promise<boolean>;
  /** Where a symlink points, relative to the root; undefined if there is no such link. */
  readLink(linkPath: string): Promise<string | undefined>;
  /** rmdir a directory or unlink a symlink; true if removed now, false if it was already gone. */
  removeIfPresent(path: string): Promise<boolean>;
  /** The entries of a directory; empty if the directory does not exist. */
  list(path: string): Promise<ConfigFsEntry[]>;
  exists(path: string): Promise<boolean>;
}

/**
 * The kernel (or the file system) refused a configfs operation. Carries the path and errno code
 * (EBUSY, EINVAL, ...), never the value written, which may be a CHAP secret.
 */
export class ConfigFsError extends Error {
  override readonly name = 'ConfigFsError';
  readonly op: string;
  readonly path: string;
  readonly code: string | undefined;

  constructor(op: string, path: string, code: string | undefined, detail?: string) {
    super(`configfs ${op} ${path} failed${code ? ` (${code})` : ''}${detail ? `: ${detail}` : ''}`);
    this.op = op;
    this.path = path;
    this.code = code;
  }
}
