/**
 * Builds the test bed's Go tools from their Go modules at pinned versions, into a cache outside the
 * repository: the binaries at ~/.cache/vbs-csi/go-tools/<name>-<version>/<name> (or under
 * $XDG_CACHE_HOME/vbs-csi), Go's module and build caches in ~/.cache/vbs-csi/go/ (GOPATH, GOMODCACHE,
 * GOCACHE), so a rebuild after a version bump downloads and compiles only what changed.
 *
 * Each module is first fetched with `go mod download` (checked against the Go checksum database) and its
 * hash must equal the one pinned in GO_TOOLS, so a moved tag cannot change what runs; `go install
 * <package>@<version>` then builds with the module's own go.mod and go.sum, which pin every dependency.
 * GOTOOLCHAIN=local: the installed Go builds it, no other toolchain is downloaded behind our back.
 *
 * Idempotent: a binary whose stamp names the pinned module, version and hash is kept, with no network and
 * without running go at all. Usage: node scripts/build-go-tools.ts [name ...]   (prints the binaries' paths)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goCachesEnv, goCommand, vbsCsiCacheDir } from './goCommand.ts';

export interface GoTool {
  /** the binary's name, and the tool's name here */
  readonly name: string;
  readonly module: string;
  readonly version: string;
  /** the module's go.sum hash (`h1:`), as `go mod download -json` reports it */
  readonly sum: string;
  /** the main package's import path, in the module */
  readonly package: string;
}

/**
 * csi-sanity v5.6.0 is built against CSI spec v1.13.0, the version of proto/csi.proto (issue 17).
 * Add a row to build another tool; e2e scenarios name the tools they need (Scenario.goTools).
 */
export const GO_TOOLS: readonly GoTool[] = [
  {
    name: 'csi-sanity',
    module: 'github.com/kubernetes-csi/csi-test/v5',
    version: 'v5.6.0',
    sum: 'h1:fQgB/CRoqTEAtlHwfD0Y785LjQJ/OxNGUE7AHw68VLg=',
    package: 'github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity',
  },
];

/** A cold `go install` of csi-sanity took 57-74 s on the project's 2-core machine; a slow proxy gets room. */
const BUILD_TIMEOUT_MS = 15 * 60_000;

export function goToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(vbsCsiCacheDir(env), 'go-tools');
}

/** Where a tool's binary is, versioned so that two pinned versions never overwrite each other. */
export function goToolPath(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  return join(goToolsDir(env), `${tool.name}-${tool.version}`, tool.name);
}

/** Go's own caches, shared by every tool and kept between builds. */
export function goCacheEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    ...goCachesEnv(env),
    // -modcacherw: the module cache stays deletable with rm -rf, which Go's read-only default is not.
    GOFLAGS: `${env['GOFLAGS'] ?? ''} -modcacherw`.trim(),
    // A static binary needs no C compiler here and runs the same in the guest.
    CGO_ENABLED: '0',
  };
}

/** The tools of these names, in table order; an unknown name is an error that lists the known ones. */
export function selectGoTools(names: readonly string[]): GoTool[] {
  const unknown = names.filter((n) => !GO_TOOLS.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`unknown Go tool ${unknown.join(', ')}: scripts/build-go-tools.ts knows ${GO_TOOLS.map((t) => t.name).join(', ')}`);
  return GO_TOOLS.filter((t) => names.includes(t.name));
}

/** What the stamp next to a binary says: the binary was built from exactly this module. */
export function stampText(tool: GoTool): string {
  return `${JSON.stringify({ module: tool.module, version: tool.version, sum: tool.sum })}\n`;
}

function isBuilt(tool: GoTool, env: NodeJS.ProcessEnv): boolean {
  const binary = goToolPath(tool, env);
  const stamp = `${binary}.stamp`;
  return existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8') === stampText(tool);
}

function runGo(tool: GoTool, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string, output: 'capture' | 'show'): string {
  const command = `go ${args.join(' ')}`;
  try {
    return execFileSync(goCommand(), args, {
      cwd,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      timeout: BUILD_TIMEOUT_MS,
      // stderr shown as it comes: go's "downloading ..." lines are the progress of a cold build.
      stdio: ['ignore', output === 'capture' ? 'pipe' : 'inherit', 'inherit'],
      env: { ...env, ...goCacheEnv(env) },
    });
  } catch (err: unknown) {
    const e = err as { code?: string; signal?: string; stdout?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error(`building ${tool.name} needs the Go toolchain (Go ≥ the module's go line; 1.26 is tested): install it from https://go.dev/dl/ (or Debian: apt-get install golang-go) and run \`node scripts/build-go-tools.ts\` again`);
    }
    if (e.signal === 'SIGTERM') throw new Error(`${command} took longer than ${BUILD_TIMEOUT_MS / 60_000} min; is the Go module proxy (GOPROXY=${env['GOPROXY'] ?? 'default'}) reachable and fast?`);
    throw new Error(
      `${command} failed for ${tool.name} ${tool.version} (go's messages are above). ` +
        'If it could not download: check that the Go module proxy (GOPROXY) is reachable. ' +
        'If it needs a newer Go: install one (GOTOOLCHAIN=local keeps go from fetching its own). ' +
        `Then run \`node scripts/build-go-tools.ts ${tool.name}\` again.${e.stdout ? `\n${e.stdout}` : ''}`,
    );
  }
}

function build(tool: GoTool, env: NodeJS.ProcessEnv, log: (line: string) => void): void {
  const started = performance.now();
  const dir = join(goToolsDir(env), `${tool.name}-${tool.version}`);
  mkdirSync(dir, { recursive: true });
  const scratch = mkdtempSync(join(dir, 'build-'));
  try {
    log(`go-tools: ${tool.name} ${tool.version}: go mod download ${tool.module}@${tool.version}`);
    const info = JSON.parse(runGo(tool, ['mod', 'download', '-json', `${tool.module}@${tool.version}`], env, scratch, 'capture')) as { Sum?: string; Error?: string };
    if (info.Error) throw new Error(`go mod download ${tool.module}@${tool.version}: ${info.Error}`);
    if (info.Sum !== tool.sum) {
      throw new Error(`${tool.module}@${tool.version} has hash ${info.Sum}, not the pinned ${tool.sum}: refusing it (update the pin in scripts/build-go-tools.ts only for a release you mean to move to)`);
    }
    log(`go-tools: ${tool.name} ${tool.version}: go install ${tool.package}@${tool.version} (about a minute the first time)`);
    runGo(tool, ['install', '-trimpath', `${tool.package}@${tool.version}`], { ...env, GOBIN: scratch }, scratch, 'show');
    const binary = goToolPath(tool, env);
    // Binary first, stamp last: a build cut short leaves no stamp and is done again.
    renameSync(join(scratch, tool.name), binary);
    writeFileSync(`${binary}.stamp`, stampText(tool));
    log(`go-tools: ${tool.name} ${tool.version}: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Builds the named tools (all when none is named) unless already built; returns name → binary path.
 * Progress lines go to `log`; go's own output to stderr.
 */
export function buildGoTools(names: readonly string[] = GO_TOOLS.map((t) => t.name), log: (line: string) => void = (line) => console.error(line), env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const tool of selectGoTools(names)) {
    if (isBuilt(tool, env)) log(`go-tools: ${tool.name} ${tool.version}: up to date`);
    else build(tool, env, log);
    paths[tool.name] = goToolPath(tool, env);
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const paths = buildGoTools(process.argv.length > 2 ? process.argv.slice(2) : undefined);
  for (const path of Object.values(paths)) console.log(path);
}
