import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { ConfigFs, ConfigFsEntry } from './ConfigFs.ts';
import { ConfigFsError } from './ConfigFs.ts';

export const DEFAULT_CONFIGFS_ROOT = '/sys/kernel/config/target';

/** The ConfigFs port on node:fs/promises. The root is injected so unit tests can use a temp dir. */
export class FsConfigFs implements ConfigFs {
  readonly root: string;

  constructor(opts: { root?: string } = {}) {
    this.root = nodePath.resolve(opts.root ?? DEFAULT_CONFIGFS_ROOT);
  }

  async ensureDir(path: string): Promise<boolean> {
    const abs = this.#abs(path);
    try {
      await fs.mkdir(abs);
      return true;
    } catch (err: unknown) {
      if (codeOf(err) === 'EEXIST') {
        const st = await fs.lstat(abs);
        if (st.isDirectory()) return false;
        throw new ConfigFsError('mkdir', path, 'EEXIST', 'exists and is not a directory');
      }
      throw wrap('mkdir', path, err);
    }
  }

  async writeAttr(path: string, value: string): Promise<void> {
    const abs = this.#abs(path);
    // O_WRONLY|O_TRUNC without O_CREAT: a missing attribute is an error, as on configfs, and the
    // whole value goes down in one write(), which is what a configfs store() receives.
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(abs, constants.O_WRONLY | constants.O_TRUNC);
      const data = Buffer.from(value, 'utf8');
      const { bytesWritten } = await handle.write(data, 0, data.length, null);
      if (bytesWritten !== data.length) throw new ConfigFsError('write', path, undefined, `short write (${bytesWritten} of ${data.length} bytes)`);
    } catch (err: unknown) {
      throw wrap('write', path, err);
    } finally {
      await handle?.close();
    }
  }

  async readAttr(path: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.#abs(path), 'utf8');
    } catch (err: unknown) {
      if (codeOf(err) === 'ENOENT') return undefined;
      throw wrap('read', path, err);
    }
  }

  async ensureLink(linkPath: string, targetPath: string): Promise<boolean> {
    const absTarget = this.#abs(targetPath);
    try {
      await fs.symlink(absTarget, this.#abs(linkPath));
      return true;
    } catch (err: unknown) {
      if (codeOf(err) !== 'EEXIST') throw wrap('symlink', linkPath, err);
      const current = await this.readLink(linkPath);
      if (current === normalizeRel(targetPath)) return false;
      throw new ConfigFsError('symlink', linkPath, 'EEXIST', `already points to ${current ?? 'something that is not a link'}`);
    }
  }

  async readLink(linkPath: string): Promise<string | undefined> {
    const abs = this.#abs(linkPath);
    let target: string;
    try {
      target = await fs.readlink(abs);
    } catch (err: unknown) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'EINVAL') return undefined;
      throw wrap('readlink', linkPath, err);
    }
    // configfs answers with a relative path ("../../../../core/iblock_0/vol"); resolve it.
    const resolved = nodePath.resolve(nodePath.dirname(abs), target);
    return nodePath.relative(this.root, resolved).split(nodePath.sep).join('/');
  }

  async removeIfPresent(path: string): Promise<boolean> {
    const abs = this.#abs(path);
    let st;
    try {
      st = await fs.lstat(abs);
    } catch (err: unknown) {
      if (codeOf(err) === 'ENOENT') return false;
      throw wrap('lstat', path, err);
    }
    try {
      if (st.isSymbolicLink()) await fs.unlink(abs);
      else if (st.isDirectory()) await fs.rmdir(abs);
      else throw new ConfigFsError('remove', path, undefined, 'is an attribute, not a directory or link');
      return true;
    } catch (err: unknown) {
      if (codeOf(err) === 'ENOENT') return false;
      throw wrap(st.isSymbolicLink() ? 'unlink' : 'rmdir', path, err);
    }
  }

  async list(path: string): Promise<ConfigFsEntry[]> {
    let dirents;
    try {
      dirents = await fs.readdir(this.#abs(path), { withFileTypes: true });
    } catch (err: unknown) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw wrap('readdir', path, err);
    }
    return dirents
      .map((d): ConfigFsEntry => ({ name: d.name, kind: d.isSymbolicLink() ? 'link' : d.isDirectory() ? 'dir' : 'attr' }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fs.lstat(this.#abs(path));
      return true;
    } catch (err: unknown) {
      if (codeOf(err) === 'ENOENT') return false;
      throw wrap('lstat', path, err);
    }
  }

  /** Refuses anything that could leave the root: absolute paths, '..', empty segments. */
  #abs(path: string): string {
    const segments = path.split('/');
    if (path === '' || segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) {
      throw new ConfigFsError('resolve', path, 'EINVAL', 'not a clean relative configfs path');
    }
    return nodePath.join(this.root, ...segments);
  }
}

function normalizeRel(path: string): string {
  return path.split('/').filter((s) => s !== '').join('/');
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function wrap(op: string, path: string, err: unknown): Error {
  if (err instanceof ConfigFsError) return err;
  return new ConfigFsError(op, path, codeOf(err), codeOf(err) ? undefined : String(err));
}
