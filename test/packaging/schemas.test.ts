import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crdSchemaErrors, isCrdSchemaGroup } from './crdSchemas.ts';
import { type K8sObject, MODELS, render, SNAPSHOT_API, yamlFilesIn } from './support.ts';

/**
 * Kinds from CRDs that kubernetes-models (the Kubernetes OpenAPI schemas) does not carry and for which no
 * validating model is published on the npm registry: checked structurally here, field by field, instead.
 * (snapshot.storage.k8s.io: external-snapshotter's CRDs; cert-manager.io: cert-manager's, fields as its v1
 * API reference names them; monitoring.coreos.com: the Prometheus Operator's, fields as in its API reference
 * https://prometheus-operator.dev/docs/api-reference/api/.) KubeVirt's and CDI's kinds are validated against
 * their released CRD schemas instead (crdSchemas.ts, crdSchemas.test.ts).
 */
const STRUCTURAL: Record<string, (o: K8sObject) => void> = {
  'cert-manager.io/v1/Issuer': (o) => {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = o['spec'] as Record<string, unknown>;
    assert.equal(Object.keys(spec).length, 1, 'exactly one issuer type');
    assert.ok('selfSigned' in spec || typeof (spec['ca'] as { secretName?: unknown } | undefined)?.secretName === 'string', 'selfSigned or ca.secretName');
  },
  'cert-manager.io/v1/Certificate': (o) => {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = o['spec'] as Record<string, unknown>;
    onlyKeys(spec, ['secretName', 'commonName', 'isCA', 'uris', 'dnsNames', 'usages', 'duration', 'renewBefore', 'privateKey', 'issuerRef']);
    assert.equal(typeof spec['secretName'], 'string');
    for (const d of ['duration', 'renewBefore']) assert.match(String(spec[d]), /^\d+h$/, d);
    const key = spec['privateKey'] as Record<string, unknown>;
    onlyKeys(key, ['algorithm', 'size', 'rotationPolicy', 'encoding']);
    assert.ok(['RSA', 'ECDSA', 'Ed25519'].includes(key['algorithm'] as string));
    assert.ok(['Never', 'Always'].includes(key['rotationPolicy'] as string));
    const usages = (spec['usages'] as string[] | undefined) ?? [];
    for (const u of usages) assert.ok(['digital signature', 'key encipherment', 'server auth', 'client auth', 'cert sign'].includes(u), u);
    const ref = spec['issuerRef'] as Record<string, unknown>;
    assert.ok(['Issuer', 'ClusterIssuer'].includes(ref['kind'] as string) && typeof ref['name'] === 'string');
  },
  'snapshot.storage.k8s.io/v1/VolumeSnapshotClass': (o) => {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'driver', 'deletionPolicy', 'parameters']);
    assert.equal(typeof o['driver'], 'string');
    assert.ok(['Delete', 'Retain'].includes(o['deletionPolicy'] as string), 'deletionPolicy is Delete or Retain');
  },
  'snapshot.storage.k8s.io/v1/VolumeSnapshot': (o) => {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = o['spec'] as Record<string, unknown>;
    onlyKeys(spec, ['source', 'volumeSnapshotClassName']);
    const source = spec['source'] as Record<string, unknown>;
    assert.equal(Object.keys(source).length, 1, 'exactly one source');
    assert.ok(typeof source['persistentVolumeClaimName'] === 'string' || typeof source['volumeSnapshotContentName'] === 'string');
  },
  'monitoring.coreos.com/v1/PodMonitor': (o) => {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = o['spec'] as Record<string, unknown>;
    onlyKeys(spec, ['selector', 'namespaceSelector', 'podMetricsEndpoints', 'jobLabel', 'podTargetLabels', 'sampleLimit']);
    labelSelector(spec['selector']);
    const ns = spec['namespaceSelector'] as Record<string, unknown>;
    onlyKeys(ns, ['any', 'matchNames']);
    const endpoints = spec['podMetricsEndpoints'] as Record<string, unknown>[];
    assert.ok(Array.isArray(endpoints) && endpoints.length > 0, 'podMetricsEndpoints');
    for (const e of endpoints) {
      onlyKeys(e, ['port', 'portNumber', 'path', 'scheme', 'interval', 'scrapeTimeout', 'honorLabels', 'relabelings', 'metricRelabelings']);
      assert.equal(typeof e['port'], 'string', 'port is a container port name');
      assert.ok(['http', 'https', undefined].includes(e['scheme'] as string));
      if (e['interval'] !== undefined) assert.match(e['interval'] as string, PROM_DURATION);
      for (const r of (e['relabelings'] ?? []) as Record<string, unknown>[]) {
        onlyKeys(r, ['sourceLabels', 'separator', 'targetLabel', 'regex', 'modulus', 'replacement', 'action']);
        assert.ok((r['sourceLabels'] as unknown[]).every((l) => typeof l === 'string' && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l)));
        assert.match(r['targetLabel'] as string, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
      }
    }
  },
  'monitoring.coreos.com/v1/PrometheusRule': (o) => {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = o['spec'] as Record<string, unknown>;
    onlyKeys(spec, ['groups']);
    const groups = spec['groups'] as Record<string, unknown>[];
    assert.ok(Array.isArray(groups) && groups.length > 0);
    assert.equal(new Set(groups.map((g) => g['name'])).size, groups.length, 'group names are unique');
    for (const g of groups) {
      onlyKeys(g, ['name', 'interval', 'rules', 'limit', 'partial_response_strategy']);
      assert.equal(typeof g['name'], 'string');
      for (const r of g['rules'] as Record<string, unknown>[]) {
        onlyKeys(r, ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
        assert.ok((typeof r['alert'] === 'string') !== (typeof r['record'] === 'string'), 'alert or record');
        assert.ok(typeof r['expr'] === 'string' && r['expr'].length > 0, 'expr');
        if (r['for'] !== undefined) assert.match(r['for'] as string, PROM_DURATION);
        for (const map of [r['labels'], r['annotations']]) {
          if (map === undefined) continue;
          for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
            assert.match(k, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
            assert.equal(typeof v, 'string', `${k} is a string`);
          }
        }
      }
    }
  },
};

/** Prometheus' duration syntax (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#duration). */
const PROM_DURATION = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/;

function labelSelector(sel: unknown): void {
  const s = sel as Record<string, unknown>;
  onlyKeys(s, ['matchLabels', 'matchExpressions']);
  for (const e of (s['matchExpressions'] ?? []) as Record<string, unknown>[]) {
    onlyKeys(e, ['key', 'operator', 'values']);
    assert.ok(['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e['operator'] as string));
  }
}

function onlyKeys(o: object, allowed: readonly string[]): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  assert.deepEqual(extra, [], `unknown fields ${extra.join(', ')}`);
}

function validate(o: K8sObject, where: string): 'schema' | 'crd schema' | 'structural' {
  const key = `${o.apiVersion}/${o.kind}`;
  const model = MODELS.get(key);
  const label = `${where}: ${o.kind} ${o.metadata?.name}`;
  assert.equal(typeof o.metadata?.name, 'string', `${label} has a name`);
  if (model) {
    assert.doesNotThrow(() => new model(o).validate(), `${label} against the ${key} schema`);
    return 'schema';
  }
  if (isCrdSchemaGroup(o.apiVersion)) {
    assert.deepEqual(crdSchemaErrors(o), [], `${label} against the ${key} CRD schema`);
    return 'crd schema';
  }
  const check = STRUCTURAL[key];
  assert.ok(check, `${label}: no schema and no structural check for ${key}`);
  check(o);
  return 'structural';
}

const RENDERINGS: Record<string, readonly string[]> = {
  'chart defaults': [],
  'chart with the snapshot API absent': ['--set', 'volumeSnapshotClass.create=true'],
  'certificates from cert-manager': ['--set', 'certificates.source=certManager'],
  'chart with every option': [
    '--api-versions', SNAPSHOT_API,
    '--set', 'certificates.source=external,secrets.create=true,secrets.chap.key=0123456789abcdef0123456789abcdef',
    '--set', 'secrets.agentTls.caCrt=x,secrets.agentTls.tlsCrt=x,secrets.agentTls.tlsKey=x',
    '--set', 'secrets.controllerTls.caCrt=x,secrets.controllerTls.tlsCrt=x,secrets.controllerTls.tlsKey=x',
    '--set', 'storageClass.isDefault=true,volumeSnapshotClass.isDefault=true,storageClass.parameters.tier=ssd',
    '--set', 'storageClass.parameters.nodeLabels=rack=r1,controller.replicas=2',
    '--set', 'imagePullSecrets[0].name=regcred,controller.resources.limits.memory=256Mi',
    '--set', 'node.extraArgs[0]=--iscsi-iface=vbs,agent.extraArgs[0]=--log-level=debug',
    '--set', 'storageClass.allowedTopologies[0].matchLabelExpressions[0].key=topology.vbs.csi.io/zone',
    '--set', 'storageClass.allowedTopologies[0].matchLabelExpressions[0].values[0]=a',
  ],
  'chart with monitoring (the Prometheus Operator API present)': [
    '--api-versions', 'monitoring.coreos.com/v1/PodMonitor',
    '--api-versions', 'monitoring.coreos.com/v1/PrometheusRule',
    '--set', 'monitoring.podMonitor.enabled=true,monitoring.prometheusRule.enabled=true',
  ],
};

describe('every object validates against the Kubernetes OpenAPI schemas (kubernetes-models)', () => {
  for (const [name, args] of Object.entries(RENDERINGS)) {
    it(`${name}: every rendered object`, () => {
      const objects = render(args);
      assert.ok(objects.length >= 13, `${objects.length} objects`);
      for (const o of objects) validate(o, name);
    });
  }

  for (const folder of ['manifests', 'examples']) {
    it(`every object of every file in ${folder}/`, () => {
      const files = yamlFilesIn(folder);
      assert.ok(files.size > 0);
      for (const [file, objects] of files) {
        assert.ok(objects.length > 0, `${file} holds objects`);
        for (const o of objects) validate(o, file);
      }
    });
  }

  it('only the CRD kinds listed above are checked structurally; every built-in kind gets its schema', () => {
    const kinds = new Map<string, string>();
    for (const objects of [render(['--api-versions', SNAPSHOT_API]), render(['--api-versions', SNAPSHOT_API, '--set', 'certificates.source=certManager']), ...Object.values(RENDERINGS).map((args) => render(args)), ...yamlFilesIn('manifests').values(), ...yamlFilesIn('examples').values()]) {
      for (const o of objects) kinds.set(`${o.apiVersion}/${o.kind}`, validate(o, 'all'));
    }
    const structural = [...kinds].filter(([, how]) => how === 'structural').map(([k]) => k).sort();
    assert.deepEqual(structural, Object.keys(STRUCTURAL).sort());
  });

  it('a malformed PrometheusRule or PodMonitor is caught by its structural check', () => {
    const objects = render(RENDERINGS['chart with monitoring (the Prometheus Operator API present)']);
    const rule = structuredClone(objects.find((o) => o.kind === 'PrometheusRule')) as K8sObject & { spec: { groups: { rules: Record<string, unknown>[] }[] } };
    rule.spec.groups[0]!.rules[0]!['for'] = '5 minutes';
    assert.throws(() => validate(rule, 'broken'), /5 minutes/);
    const monitor = structuredClone(objects.find((o) => o.kind === 'PodMonitor')) as K8sObject & { spec: Record<string, unknown> };
    monitor.spec['endpoints'] = monitor.spec['podMetricsEndpoints'];
    assert.throws(() => validate(monitor, 'broken'), /unknown fields endpoints/);
  });

  it('a wrong field type is caught (the validator is live, not a no-op)', () => {
    const [daemonSet] = render(['--show-only', 'templates/node.yaml']).filter((o) => o.kind === 'DaemonSet');
    assert.ok(daemonSet);
    const broken = structuredClone(daemonSet) as { spec: { template: { spec: { hostNetwork: unknown } } } } & K8sObject;
    broken.spec.template.spec.hostNetwork = 'yes';
    assert.throws(() => validate(broken, 'broken'), /hostNetwork must be boolean/);
  });
});
