/** Shared by the packaging tests: render the chart with the real helm, parse YAML, validate objects. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as models from 'kubernetes-models';
import { parseAllDocuments } from 'yaml';
import { installHelm } from '../../scripts/install-helm.ts';
import { chartDir, helmTemplate, projectRoot, SNAPSHOT_API } from '../../scripts/render-manifests.ts';

export { chartDir, helmTemplate, projectRoot, SNAPSHOT_API };

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

/** Every non-empty document of a multi-document YAML text; a YAML error fails loudly. */
export function parseObjects(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

export function render(extraArgs: readonly string[] = []): K8sObject[] {
  return parseObjects(helmTemplate(extraArgs), `helm template ${extraArgs.join(' ')}`);
}

export function helm(args: readonly string[]): { status: number; output: string } {
  try {
    const output = execFileSync(installHelm(), args, { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, output };
  } catch (err: unknown) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** YAML files (relative path → objects) of a project folder. */
export function yamlFilesIn(folder: string): Map<string, K8sObject[]> {
  const files = new Map<string, K8sObject[]>();
  for (const name of readdirSync(join(projectRoot, folder)).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const rel = `${folder}/${name}`;
    files.set(rel, parseObjects(readFileSync(join(projectRoot, rel), 'utf8'), rel));
  }
  return files;
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: unknown): { validate(): void };
}

/** apiVersion/kind → the kubernetes-models class (generated from the Kubernetes OpenAPI schemas). */
export const MODELS: ReadonlyMap<string, ModelClass> = (() => {
  const map = new Map<string, ModelClass>();
  const register = (module: unknown): void => {
    for (const value of Object.values(module as Record<string, unknown>)) {
      if (typeof value !== 'function') continue;
      const cls = value as unknown as Partial<ModelClass>;
      if (typeof cls.apiVersion === 'string' && typeof cls.kind === 'string') map.set(`${cls.apiVersion}/${cls.kind}`, cls as ModelClass);
    }
  };
  // The core group (`v1`) exports its classes directly; the others export versions that do.
  for (const [name, group] of Object.entries(models as Record<string, unknown>)) {
    if (name === 'v1') register(group);
    else for (const version of Object.values(group as Record<string, unknown>)) register(version);
  }
  return map;
})();
