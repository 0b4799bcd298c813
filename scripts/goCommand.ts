import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The project's cache outside the repository: ~/.cache/vbs-csi, or $XDG_CACHE_HOME/vbs-csi. */
export function vbsCsiCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'vbs-csi');
}

/**
 * The go command: on PATH, else under $GOROOT, else where Go's own installer puts it. A non-interactive
 * shell (CI's `bash .ci/run`) may lack the PATH entry a login shell's profile adds.
 */
export function goCommand(): string {
  const onPath = (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'go')));
  if (onPath) return 'go';
  for (const candidate of [process.env['GOROOT'] && join(process.env['GOROOT'], 'bin', 'go'), '/usr/local/go/bin/go']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return 'go';
}

/**
 * Go's module, build and GOPATH caches under the project's cache, shared by every Go build of the project
 * and kept between builds; GOTOOLCHAIN=local so a go.mod never makes go fetch another toolchain.
 */
export function goCachesEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const root = join(vbsCsiCacheDir(env), 'go');
  return { GOPATH: join(root, 'path'), GOMODCACHE: join(root, 'mod'), GOCACHE: join(root, 'build'), GOTOOLCHAIN: 'local' };
}
