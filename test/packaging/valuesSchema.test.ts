import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { chartDir, helm } from './support.ts';

/**
 * charts/vbs-csi/values.schema.json: helm checks values against it at install, upgrade, template and
 * lint, so a bad value fails before anything reaches the cluster, with the path and the reason.
 */
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  $ref?: string;
}
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Schema & { definitions: Record<string, Schema> };
const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;

const template = (args: readonly string[]) => helm(['template', 'vbs-csi', chartDir, '--namespace', 'vbs-csi', ...args]);

/** Renders with one values file holding `doc` (JSON is YAML): keeps types exact, unlike --set. */
function templateWith(doc: unknown): { status: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vbs-csi-schema-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, JSON.stringify(doc));
    return template(['--values', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** [what is wrong, the values, the path helm names, the reason it gives] */
const BAD: readonly [string, unknown, string, RegExp][] = [
  ['a percentage over 100', { agent: { dataLimitPercent: 150 } }, '/agent/dataLimitPercent', /maximum: got 150, want 100/],
  ['a log level pino does not have', { logLevel: 'verbose' }, '/logLevel', /must be one of 'trace', 'debug', 'info'/],
  ['a number given as text', { controller: { replicas: '2' } }, '/controller/replicas', /got string, want integer/],
  ['no replicas at all', { controller: { replicas: 0 } }, '/controller/replicas', /minimum: got 0, want 1/],
  ['a port out of range', { metrics: { ports: { node: 70000 } } }, '/metrics/ports/node', /maximum: got 70,000, want 65,535/],
  ['a StorageClass parameter the driver refuses (wrong case)', { storageClass: { parameters: { fstype: 'xfs' } } }, '/storageClass/parameters', /additional properties 'fstype' not allowed/],
  ['a filesystem the driver does not make', { storageClass: { parameters: { fsType: 'btrfs' } } }, '/storageClass/parameters/fsType', /must be one of 'ext4', 'xfs'/],
  ['a reclaim policy Kubernetes does not have', { storageClass: { reclaimPolicy: 'Recycle' } }, '/storageClass/reclaimPolicy', /must be one of 'Delete', 'Retain'/],
  ['a binding mode in the wrong case', { storageClass: { volumeBindingMode: 'waitForFirstConsumer' } }, '/storageClass/volumeBindingMode', /must be one of/],
  ['a snapshot deletion policy Kubernetes does not have', { volumeSnapshotClass: { deletionPolicy: 'Keep' } }, '/volumeSnapshotClass/deletionPolicy', /must be one of 'Delete', 'Retain'/],
  ['a memory limit that is not a quantity', { node: { resources: { limits: { memory: 'lots' } } } }, '/node/resources/limits/memory', /does not match pattern/],
  ['a misspelt resources key', { agent: { resources: { limit: { memory: '1Gi' } } } }, '/agent/resources', /additional properties 'limit' not allowed/],
  ['a relative kubelet directory', { kubeletDir: 'var/lib/kubelet' }, '/kubeletDir', /does not match pattern/],
  ['a volume group name lvm refuses', { agent: { vg: 'my vg' } }, '/agent/vg', /does not match pattern/],
  ['an IQN prefix that is not iqn.YYYY-MM.domain', { agent: { iqnPrefix: 'iqn.example.com' } }, '/agent/iqnPrefix', /does not match pattern/],
  ['a zone that is no label value', { node: { zone: '-a' } }, '/node/zone', /does not match pattern/],
  ['an agent discovery the controller does not have', { controller: { agentDiscovery: 'endpoints' } }, '/controller/agentDiscovery', /must be one of 'endpointslices', 'dns'/],
  ['a driver name with an underscore', { driverName: 'vbs_csi' }, '/driverName', /does not match pattern/],
  ['a pull policy in the wrong case', { image: { pullPolicy: 'always' } }, '/image/pullPolicy', /must be one of 'Always', 'IfNotPresent', 'Never'/],
  ['a misspelt sidecar', { sidecars: { provisoner: { image: 'x:1' } } }, '/sidecars', /additional properties 'provisoner' not allowed/],
  ['seLinuxMount as text', { csiDriver: { seLinuxMount: 'yes' } }, '/csiDriver/seLinuxMount', /got string, want boolean/],
  ['a PodDisruptionBudget of no pods', { controller: { podDisruptionBudget: { maxUnavailable: 0 } } }, '/controller/podDisruptionBudget/maxUnavailable', /minimum: got 0, want 1/],
  ['kernel module loading as text', { node: { loadKernelModules: 'true' } }, '/node/loadKernelModules', /got string, want boolean/],
  ['a kubelet registration mode the chart does not have', { node: { kubeletRegistration: 'none' } }, '/node/kubeletRegistration', /must be one of 'sidecar', 'builtin'/],
  ['the livenessprobe sidecar switched off as text', { sidecars: { livenessProbe: { enabled: 'no' } } }, '/sidecars/livenessProbe/enabled', /got string, want boolean/],
];

describe('values.schema.json', () => {
  it('the defaults pass helm lint --strict and helm template', () => {
    const lint = helm(['lint', '--strict', chartDir]);
    assert.equal(lint.status, 0, lint.output);
    const rendered = template([]);
    assert.equal(rendered.status, 0, rendered.output);
  });

  for (const [what, doc, path, reason] of BAD) {
    it(`refuses ${what}, naming ${path}`, () => {
      const { status, output } = templateWith(doc);
      assert.notEqual(status, 0, `${JSON.stringify(doc)} was accepted`);
      assert.match(output, /values don't meet the specifications of the schema/);
      assert.ok(output.includes(`at '${path}'`), output);
      assert.match(output, reason);
    });
  }

  it('helm lint fails on a bad value too, with the same sentence', () => {
    const { status, output } = helm(['lint', '--strict', chartDir, '--set', 'agent.overprovisionRatio=0']);
    assert.notEqual(status, 0);
    assert.match(output, /at '\/agent\/overprovisionRatio': minimum: got 0, want 1/);
  });

  it('good values of every kind pass: quantities as numbers or text, percentages, Retain, xfs, thick', () => {
    const { status, output } = templateWith({
      controller: { replicas: 2, resources: { requests: { cpu: 0.5, memory: '1Gi' } }, podDisruptionBudget: { maxUnavailable: '50%' } },
      storageClass: { reclaimPolicy: 'Retain', volumeBindingMode: 'Immediate', parameters: { fsType: 'xfs', provisioning: 'thick', nodeLabels: 'rack=r1,disk=ssd' } },
      volumeSnapshotClass: { deletionPolicy: 'Retain' },
      agent: { overprovisionRatio: 2.5, labels: { tier: 'fast' } },
      image: { repository: 'registry.example.com:5000/storage/vbs-csi', tag: '1.0.0', pullPolicy: 'Always' },
    });
    assert.equal(status, 0, output);
  });

  it('leaves room in the sections other parts of the chart grow: an unknown key there is not an error', () => {
    for (const doc of [{ newTopLevel: { enabled: true } }, { controller: { newKey: 1 } }, { node: { newKey: 'x' } }, { agent: { newKey: [] } }, { secrets: { newKey: {} } }, { metrics: { newKey: true } }]) {
      const { status, output } = templateWith(doc);
      assert.equal(status, 0, `${JSON.stringify(doc)}: ${output}`);
    }
  });

  it('describes every key of values.yaml (a new key needs its type here, else it is not checked)', () => {
    const missing: string[] = [];
    const resolve = (s: Schema): Schema => (s.$ref ? resolve(schema.definitions[s.$ref.replace('#/definitions/', '')] ?? {}) : s);
    const walk = (value: unknown, s: Schema | undefined, path: string): void => {
      if (s === undefined) {
        missing.push(path);
        return;
      }
      const node = resolve(s);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      // Free-form maps (nodeSelector, labels, annotations, requests) type their values, not their keys.
      if (!node.properties) return;
      for (const [k, v] of Object.entries(value)) walk(v, node.properties[k], `${path}.${k}`);
    };
    walk(values, schema, 'values');
    assert.deepEqual(missing, [], 'add these keys to charts/vbs-csi/values.schema.json');
  });
});
