/**
 * Puts the openAPIV3Schema of KubeVirt's and CDI's CRDs, at pinned releases, in a cache outside the
 * repository (~/.cache/vbs-csi/crd-schemas/, or $XDG_CACHE_HOME/vbs-csi/crd-schemas/), for
 * test/packaging/crdSchemas.ts to validate examples/ against (docs/kubevirt.md).
 *
 * Both projects install their CRDs from their operators, which build them from schemas generated into Go
 * sources: KubeVirt's validations_generated.go maps a CRD's name to its `openAPIV3Schema` YAML, CDI's
 * crds_generated.go maps it to the whole CRD YAML. The release modules are fetched with the Go toolchain
 * (`go mod download`, which checks them against the Go checksum database) and their hashes must also
 * equal the ones pinned here, so a moved tag cannot change what the tests check. Only the extracted JSON
 * is kept; the module cache used for the download is removed.
 *
 * Idempotent: a cache file of the pinned release and hash is kept, with no network.
 * Usage: node scripts/fetch-crd-schemas.ts   (prints the cache files)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { goCommand, vbsCsiCacheDir } from './goCommand.ts';

export interface CrdRelease {
  /** file name stem in the cache */
  readonly name: string;
  readonly module: string;
  readonly version: string;
  /** the module's go.sum hash (`h1:`), as `go mod download -json` reports it */
  readonly sum: string;
  /** the generated Go source holding the schemas, in the module */
  readonly source: string;
  readonly layout: 'kubevirt-validations' | 'crd-yaml';
}

export const CRD_RELEASES: readonly CrdRelease[] = [
  {
    name: 'kubevirt',
    module: 'kubevirt.io/kubevirt',
    version: 'v1.9.0',
    sum: 'h1:eauQfI39dRALNciMIQtR7UsbTUjUft5V6IBO57Icl/k=',
    source: 'pkg/virt-operator/resource/generate/components/validations_generated.go',
    layout: 'kubevirt-validations',
  },
  {
    name: 'cdi',
    module: 'kubevirt.io/containerized-data-importer',
    version: 'v1.65.0',
    sum: 'h1:V2Yc+D+WeZ3uUubzxuOvMiXe5puIyekY5498xBmG3hA=',
    source: 'pkg/operator/resources/crds_generated.go',
    layout: 'crd-yaml',
  },
];

/**
 * KubeVirt's generated file names each schema by the CRD's lower-case kind only; its CRDs of the group
 * kubevirt.io serve v1 (and the deprecated v1alpha3, left out here). These are the kinds a user writes.
 */
const KUBEVIRT_CORE_KINDS = ['VirtualMachine', 'VirtualMachineInstance', 'VirtualMachineInstanceMigration', 'VirtualMachineInstanceReplicaSet'] as const;

export const crdSchemaDir = join(vbsCsiCacheDir(), 'crd-schemas');

export function crdSchemaPath(release: CrdRelease): string {
  return join(crdSchemaDir, `${release.name}-${release.version}.json`);
}

/** What a cache file holds: apiVersion/kind (`group/version/Kind`) → that version's openAPIV3Schema. */
export interface CrdSchemaFile {
  readonly module: string;
  readonly version: string;
  readonly sum: string;
  readonly schemas: Record<string, unknown>;
}

/**
 * The entries of a generated `map[string]string{ "key": <string>, ... }`, where <string> is raw string
 * literals joined with `+` to interpreted ones (Go's way to put a backquote in a raw string).
 */
export function goStringMap(source: string): Map<string, string> {
  const entries = new Map<string, string>();
  const start = /^\t"([^"\\]+)": /gm;
  for (let m = start.exec(source); m !== null; m = start.exec(source)) {
    let at = start.lastIndex;
    let value = '';
    for (;;) {
      const quote = source[at];
      if (quote === '`') {
        const end = source.indexOf('`', at + 1);
        if (end < 0) throw new Error(`entry ${m[1]}: unterminated raw string`);
        value += source.slice(at + 1, end);
        at = end + 1;
      } else if (quote === '"') {
        const literal = /^"(?:[^"\\\n]|\\.)*"/.exec(source.slice(at));
        if (!literal) throw new Error(`entry ${m[1]}: unterminated string`);
        value += JSON.parse(literal[0]) as string;
        at += literal[0].length;
      } else {
        throw new Error(`entry ${m[1]}: expected a string literal at offset ${at}`);
      }
      const rest = /^\s*(?:,|\+\s*)/.exec(source.slice(at));
      if (!rest) throw new Error(`entry ${m[1]}: expected + or , at offset ${at}`);
      at += rest[0].length;
      if (rest[0].endsWith(',')) break;
    }
    entries.set(m[1]!, value);
    start.lastIndex = at;
  }
  return entries;
}

export function extractSchemas(release: CrdRelease, goSource: string): Record<string, unknown> {
  const entries = goStringMap(goSource);
  const schemas: Record<string, unknown> = {};
  if (release.layout === 'kubevirt-validations') {
    for (const kind of KUBEVIRT_CORE_KINDS) {
      const yaml = entries.get(kind.toLowerCase());
      if (yaml === undefined) throw new Error(`${release.module}@${release.version} ${release.source}: no schema for ${kind}`);
      const schema = (parseYaml(yaml) as { openAPIV3Schema?: unknown }).openAPIV3Schema;
      if (typeof schema !== 'object' || schema === null) throw new Error(`${kind}: no openAPIV3Schema`);
      schemas[`kubevirt.io/v1/${kind}`] = schema;
    }
  } else {
    for (const [name, yaml] of entries) {
      const crd = parseYaml(yaml) as { spec?: { group?: string; names?: { kind?: string }; versions?: { name: string; served?: boolean; schema?: { openAPIV3Schema?: unknown } }[] } };
      const { group, names, versions } = crd.spec ?? {};
      if (!group || !names?.kind || !versions) throw new Error(`${release.source} entry ${name}: not a CRD`);
      for (const v of versions) {
        if (v.served && v.schema?.openAPIV3Schema) schemas[`${group}/${v.name}/${names.kind}`] = v.schema.openAPIV3Schema;
      }
    }
  }
  if (Object.keys(schemas).length === 0) throw new Error(`${release.module}@${release.version}: no schema found in ${release.source}`);
  return schemas;
}

function cached(release: CrdRelease): boolean {
  const path = crdSchemaPath(release);
  if (!existsSync(path)) return false;
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<CrdSchemaFile>;
    return file.module === release.module && file.version === release.version && file.sum === release.sum;
  } catch {
    return false;
  }
}

/** Downloads one release module into a throw-away module cache and returns its directory. */
function downloadModule(release: CrdRelease, modCache: string): string {
  let out: string;
  try {
    out = execFileSync(goCommand(), ['mod', 'download', '-json', `${release.module}@${release.version}`], {
      cwd: modCache,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      timeout: 15 * 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      // -modcacherw: the extracted files stay writable, so the throw-away cache can be removed.
      env: { ...process.env, GOMODCACHE: join(modCache, 'mod'), GOFLAGS: `${process.env['GOFLAGS'] ?? ''} -modcacherw`.trim() },
    });
  } catch (err: unknown) {
    const e = err as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error('fetching the KubeVirt/CDI CRD schemas needs the Go toolchain (`go mod download`); install it (Debian: apt-get install golang-go) and run `node scripts/fetch-crd-schemas.ts` again');
    }
    throw new Error(`go mod download ${release.module}@${release.version} failed: ${(e.stdout ?? '') + (e.stderr ?? '') || e.message}`);
  }
  const info = JSON.parse(out) as { Dir?: string; Sum?: string; Error?: string };
  if (info.Error) throw new Error(`go mod download ${release.module}@${release.version}: ${info.Error}`);
  if (info.Sum !== release.sum) {
    throw new Error(`${release.module}@${release.version} has hash ${info.Sum}, not the pinned ${release.sum}: refusing it (update the pin only for a release you mean to move to)`);
  }
  if (!info.Dir) throw new Error(`go mod download ${release.module}@${release.version} named no directory`);
  return info.Dir;
}

/** Fetches every release not cached yet; returns the cache files. */
export function fetchCrdSchemas(): string[] {
  mkdirSync(crdSchemaDir, { recursive: true });
  for (const release of CRD_RELEASES) {
    if (cached(release)) continue;
    const modCache = mkdtempSync(join(crdSchemaDir, 'gomod-'));
    try {
      const dir = downloadModule(release, modCache);
      const schemas = extractSchemas(release, readFileSync(join(dir, release.source), 'utf8'));
      const file: CrdSchemaFile = { module: release.module, version: release.version, sum: release.sum, schemas };
      const path = crdSchemaPath(release);
      const temp = `${path}.tmp-${process.pid}`;
      writeFileSync(temp, `${JSON.stringify(file)}\n`);
      renameSync(temp, path);
    } finally {
      rmSync(modCache, { recursive: true, force: true });
    }
  }
  return CRD_RELEASES.map(crdSchemaPath);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const path of fetchCrdSchemas()) console.log(path);
}
