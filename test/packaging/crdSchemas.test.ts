import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { goStringMap } from '../../scripts/fetch-crd-schemas.ts';
import { crdSchemaErrors, crdValidators, isCrdSchemaGroup, toJsonSchema } from './crdSchemas.ts';
import { find, type K8sObject, yamlFilesIn } from './support.ts';

const examples = [...yamlFilesIn('examples').values()].flat();
const crdObjects = examples.filter((o) => isCrdSchemaGroup(o.apiVersion));
const example = (kind: string, name: string): K8sObject => structuredClone(find(examples, kind, name));

describe('KubeVirt and CDI objects against their released CRD schemas (scripts/fetch-crd-schemas.ts)', () => {
  it('the schemas of the pinned releases are cached, and every kind in them compiles', () => {
    const { kinds, releases } = crdValidators();
    assert.deepEqual(releases, ['kubevirt.io/kubevirt@v1.9.0', 'kubevirt.io/containerized-data-importer@v1.65.0']);
    for (const key of ['kubevirt.io/v1/VirtualMachine', 'kubevirt.io/v1/VirtualMachineInstanceMigration', 'cdi.kubevirt.io/v1beta1/DataVolume', 'cdi.kubevirt.io/v1beta1/StorageProfile']) {
      assert.ok(kinds.has(key), `${key} is in the cache`);
    }
    for (const [key, compile] of kinds) assert.doesNotThrow(compile, key);
  });

  it('every KubeVirt and CDI object in examples/ is valid', () => {
    const kinds = new Set(crdObjects.map((o) => `${o.apiVersion}/${o.kind}`));
    assert.deepEqual([...kinds].sort(), [
      'cdi.kubevirt.io/v1beta1/DataVolume',
      'cdi.kubevirt.io/v1beta1/StorageProfile',
      'kubevirt.io/v1/VirtualMachine',
      'kubevirt.io/v1/VirtualMachineInstanceMigration',
    ]);
    for (const o of crdObjects) assert.deepEqual(crdSchemaErrors(o), [], `${o.kind} ${o.metadata.name}`);
  });

  it('the validator is live: a wrong type, an unknown field, a missing required field and a bad quantity fail', () => {
    const vm = example('VirtualMachine', 'vm1') as K8sObject & { spec: Record<string, unknown> & { template: { spec: { domain: { devices: { interfaces: Record<string, unknown>[] } } } } } };
    vm.spec['runStrategy'] = 7;
    vm.spec.template.spec.domain.devices.interfaces[0]!['masquarade'] = {};
    assert.deepEqual(crdSchemaErrors(vm), [
      '/spec/runStrategy must be string',
      '/spec/template/spec/domain/devices/interfaces/0 must NOT have additional properties (masquarade)',
    ]);

    const dv = example('DataVolume', 'ubuntu-golden') as K8sObject & { spec?: { storage: { resources: { requests: { storage: string } } } } };
    dv.spec!.storage.resources.requests.storage = 'ten gigs';
    assert.match(crdSchemaErrors(dv).join('; '), /\/spec\/storage\/resources\/requests\/storage must match pattern/);
    delete dv.spec;
    assert.deepEqual(crdSchemaErrors(dv), ["/ must have required property 'spec'"]);

    const profile = example('StorageProfile', 'vbs-thin') as K8sObject & { spec: { cloneStrategy: unknown } };
    profile.spec.cloneStrategy = ['csi-clone'];
    assert.deepEqual(crdSchemaErrors(profile), ['/spec/cloneStrategy must be string']);
  });

  it('a kind or version the releases do not serve is refused, not waved through', () => {
    const vm = example('VirtualMachine', 'vm1');
    assert.throws(() => crdSchemaErrors({ ...vm, apiVersion: 'kubevirt.io/v2' }), /kubevirt\.io\/v2\/VirtualMachine is not a kind served by kubevirt\.io\/kubevirt@v1\.9\.0/);
  });

  it('without the cache, the error says how to fetch it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'vbs-crd-cache-'));
    try {
      const url = pathToFileURL(join(import.meta.dirname, 'crdSchemas.ts')).href;
      const script = `import { crdValidators } from ${JSON.stringify(url)}; try { crdValidators(); } catch (e) { console.log(e.message); }`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: empty } });
      assert.match(out, /CRD schemas are not cached .*run `npm run setup`, or only `node scripts\/fetch-crd-schemas\.ts`/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('turning a CRD openAPIV3Schema into a strict JSON Schema', () => {
  it('objects with properties refuse unknown fields unless they preserve them; nullable admits null', () => {
    const schema = toJsonSchema({
      type: 'object',
      properties: {
        a: { type: 'string', nullable: true, description: 'x' },
        free: { type: 'object', properties: { b: { type: 'integer' } }, 'x-kubernetes-preserve-unknown-fields': true },
      },
    });
    assert.deepEqual(schema, {
      type: 'object',
      properties: { a: { type: ['string', 'null'] }, free: { type: 'object', properties: { b: { type: 'integer' } } } },
      additionalProperties: false,
    });
  });

  it('an unknown keyword throws, naming where', () => {
    assert.throws(() => toJsonSchema({ type: 'object', properties: { a: { type: 'string', 'x-new-rule': 1 } } }), /#\/a: schema keyword x-new-rule is not handled/);
  });
});

describe('reading the generated Go map of schemas', () => {
  it('joins raw strings with the interpreted ones Go needs for a backquote, entry by entry', () => {
    const go = 'package x\n\nvar M map[string]string = map[string]string{\n\t"one": `a: ` + "`" + `b` + "`" + `\n`,\n\t"two": `c: d\n`,\n}\n';
    assert.deepEqual([...goStringMap(go)], [
      ['one', 'a: `b`\n'],
      ['two', 'c: d\n'],
    ]);
  });
});
