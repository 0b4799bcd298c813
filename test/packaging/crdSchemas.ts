/**
 * Validates KubeVirt and CDI objects against the openAPIV3Schema of those projects' released CRDs
 * (cached by scripts/fetch-crd-schemas.ts), with Ajv, the way the API server applies a structural schema:
 *  - unknown fields are errors (kubectl's default server-side field validation is Strict), except under
 *    `x-kubernetes-preserve-unknown-fields` and in objects that declare no properties (the CRDs' metadata,
 *    which the API server checks as ObjectMeta, not by this schema);
 *  - `nullable: true` admits null; `x-kubernetes-int-or-string` is already spelled out by the CRDs as
 *    anyOf integer/string;
 *  - formats int32, int64 and date-time are checked; CEL rules (`x-kubernetes-validations`) are not;
 *    keywords that do not apply to a value's type are ignored, as JSON Schema says (strictTypes off:
 *    the CRDs put `pattern` beside `anyOf` integer/string for quantities).
 * Any other keyword makes the conversion throw, so a release that adds one is noticed, not ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { CRD_RELEASES, type CrdSchemaFile, crdSchemaPath } from '../../scripts/fetch-crd-schemas.ts';
import type { K8sObject } from './support.ts';

/** API groups whose kinds must be validated here (never by a hand-written check). */
export const CRD_SCHEMA_GROUPS: readonly string[] = ['kubevirt.io', 'cdi.kubevirt.io'];

export function isCrdSchemaGroup(apiVersion: string): boolean {
  const slash = apiVersion.indexOf('/');
  return slash > 0 && CRD_SCHEMA_GROUPS.includes(apiVersion.slice(0, slash));
}

type Schema = Record<string, unknown>;

/** Keywords with nothing to check (documentation, defaults, list/map merge hints, CEL rules). */
const IGNORED = new Set([
  'description', 'default', 'example', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-validations',
]);
const COPIED = new Set(['type', 'enum', 'required', 'pattern', 'format', 'maxItems', 'minItems', 'maxLength', 'minLength', 'maximum', 'minimum']);

/** One openAPIV3Schema node → a JSON Schema node Ajv compiles in strict mode. */
export function toJsonSchema(node: Schema, path = '#'): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (IGNORED.has(key) || key === 'nullable' || key === 'x-kubernetes-preserve-unknown-fields') continue;
    if (COPIED.has(key)) out[key] = value;
    else if (key === 'properties') {
      out['properties'] = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([name, s]) => [name, toJsonSchema(s, `${path}/${name}`)]));
    } else if (key === 'items') out['items'] = toJsonSchema(value as Schema, `${path}[]`);
    else if (key === 'additionalProperties') out['additionalProperties'] = typeof value === 'boolean' ? value : toJsonSchema(value as Schema, `${path}{}`);
    else if (key === 'anyOf' || key === 'oneOf' || key === 'allOf') out[key] = (value as Schema[]).map((s, i) => toJsonSchema(s, `${path}/${key}[${i}]`));
    else throw new Error(`${path}: schema keyword ${key} is not handled by test/packaging/crdSchemas.ts`);
  }
  if (node['nullable'] === true && typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
  const open = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!open && out['properties'] !== undefined && out['additionalProperties'] === undefined) out['additionalProperties'] = false;
  return out;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface CrdValidators {
  /** apiVersion/kind → its validator (compiled on first use), for every kind of the cached releases */
  readonly kinds: ReadonlyMap<string, () => ValidateFunction>;
  /** the releases the schemas come from, e.g. kubevirt.io/kubevirt@v1.9.0 */
  readonly releases: readonly string[];
}

let loaded: CrdValidators | undefined;

/** The validators, or an error saying how to fetch the schemas when the cache lacks them. */
export function crdValidators(): CrdValidators {
  if (loaded) return loaded;
  const missing = CRD_RELEASES.filter((r) => !existsSync(crdSchemaPath(r)));
  if (missing.length > 0) {
    throw new Error(
      `the KubeVirt/CDI CRD schemas are not cached (${missing.map(crdSchemaPath).join(', ')}): ` +
        'run `npm run setup`, or only `node scripts/fetch-crd-schemas.ts` (needs the Go toolchain and the Go module proxy)',
    );
  }
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', RFC3339);
  const kinds = new Map<string, () => ValidateFunction>();
  const releases: string[] = [];
  for (const release of CRD_RELEASES) {
    const file = JSON.parse(readFileSync(crdSchemaPath(release), 'utf8')) as CrdSchemaFile;
    if (file.sum !== release.sum) throw new Error(`${crdSchemaPath(release)} is not ${release.module}@${release.version}: run \`node scripts/fetch-crd-schemas.ts\``);
    releases.push(`${release.module}@${release.version}`);
    for (const [key, schema] of Object.entries(file.schemas)) {
      let compiled: ValidateFunction | undefined;
      kinds.set(key, () => (compiled ??= ajv.compile(toJsonSchema(schema as Schema, key))));
    }
  }
  loaded = { kinds, releases };
  return loaded;
}

/** The schema errors of one object (empty: valid); throws when its kind has no schema in the releases. */
export function crdSchemaErrors(o: K8sObject): string[] {
  const key = `${o.apiVersion}/${o.kind}`;
  const { kinds, releases } = crdValidators();
  const compile = kinds.get(key);
  if (!compile) throw new Error(`${key} is not a kind served by ${releases.join(' or ')}`);
  const validate = compile();
  if (validate(o)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
}
