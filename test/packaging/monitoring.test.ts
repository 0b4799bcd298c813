import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { everyDriverMetric, seriesNames, type MetricDescription } from '../../src/metrics/testing/everyMetric.ts';
import { chartDir, find, helm, type K8sObject, render } from './support.ts';
import { promqlReferences } from './promqlSelectors.ts';

/** `helm template` as on a cluster that serves the Prometheus Operator's API, with both objects on. */
const MONITORING_ON: readonly string[] = [
  '--api-versions', 'monitoring.coreos.com/v1/PodMonitor',
  '--api-versions', 'monitoring.coreos.com/v1/PrometheusRule',
  '--set', 'monitoring.podMonitor.enabled=true,monitoring.prometheusRule.enabled=true',
];

/** Labels Prometheus adds to every target of the chart's PodMonitor (its relabelings included). */
const TARGET_LABELS = ['namespace', 'pod', 'container', 'endpoint', 'job', 'instance', 'kubernetes_node', 'component'];

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string };
}
type RuleObject = K8sObject & { spec: { groups: { name: string; rules: Rule[] }[] } };

const kinds = (objects: readonly K8sObject[]) => objects.filter((o) => o.apiVersion === 'monitoring.coreos.com/v1').map((o) => o.kind).sort();
const rulesOf = (objects: readonly K8sObject[]): Rule[] => (find(objects, 'PrometheusRule', 'vbs-csi') as RuleObject).spec.groups.flatMap((g) => g.rules);

/** What is wrong with an expression, given the metrics the code registers: unknown names, labels the series do not carry. */
function checkExpression(expr: string, metrics: readonly MetricDescription[], extraMetrics: Readonly<Record<string, readonly string[]>> = {}): string[] {
  const labelsBySeries = new Map<string, readonly string[]>();
  for (const m of metrics) for (const s of seriesNames(m)) labelsBySeries.set(s, m.type === 'histogram' && s.endsWith('_bucket') ? [...m.labelNames, 'le'] : m.labelNames);
  for (const [name, labels] of Object.entries(extraMetrics)) labelsBySeries.set(name, labels);
  const problems: string[] = [];
  const refs = promqlReferences(expr);
  const known = new Set<string>(TARGET_LABELS);
  for (const { metric, labels } of refs.selectors) {
    const own = labelsBySeries.get(metric);
    if (!own) {
      problems.push(`${metric} is not a metric the driver registers`);
      continue;
    }
    own.forEach((l) => known.add(l));
    for (const l of labels) if (!own.includes(l) && !TARGET_LABELS.includes(l)) problems.push(`${metric} has no label ${l}`);
  }
  for (const l of refs.groupingLabels) if (!known.has(l)) problems.push(`no series of the expression has label ${l}`);
  if (refs.selectors.length === 0) problems.push('refers to no metric');
  return problems;
}

describe('monitoring: PodMonitor and PrometheusRule', () => {
  it('are off by default, and need both the values and the monitoring.coreos.com API', () => {
    assert.deepEqual(kinds(render()), []);
    assert.deepEqual(kinds(render(['--set', 'monitoring.podMonitor.enabled=true,monitoring.prometheusRule.enabled=true'])), [], 'no API, no objects (the install would fail)');
    assert.deepEqual(kinds(render(MONITORING_ON)), ['PodMonitor', 'PrometheusRule']);
    assert.deepEqual(kinds(render([...MONITORING_ON, '--set', 'metrics.enabled=false'])), [], 'nothing to scrape without metrics ports');
    assert.deepEqual(kinds(render([...MONITORING_ON, '--set', 'monitoring.podMonitor.enabled=false'])), ['PrometheusRule']);
  });

  it('pass helm lint --strict with them on', () => {
    const { status, output } = helm(['lint', '--strict', chartDir, '--set', 'monitoring.podMonitor.enabled=true,monitoring.prometheusRule.enabled=true']);
    assert.equal(status, 0, output);
  });

  it('the PodMonitor selects every vbs-csi pod of the release and scrapes the port its vbs-csi container names metrics', () => {
    const objects = render(MONITORING_ON);
    const pm = find(objects, 'PodMonitor', 'vbs-csi') as K8sObject & {
      spec: { selector: { matchLabels: Record<string, string>; matchExpressions: { key: string; values: string[] }[] }; namespaceSelector: { matchNames: string[] }; podMetricsEndpoints: { port: string }[] };
    };
    assert.deepEqual(pm.spec.namespaceSelector.matchNames, ['vbs-csi']);
    assert.deepEqual(pm.spec.podMetricsEndpoints.map((e) => e.port), ['metrics', 'provisioner', 'attacher', 'resizer', 'snapshotter']);
    const sidecarPorts = new Set(
      (find(objects, 'Deployment', 'vbs-csi-controller') as K8sObject & { spec: { template: { spec: { containers: { ports?: { name?: string }[] }[] } } } }).spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)),
    );
    for (const e of pm.spec.podMetricsEndpoints) assert.ok(sidecarPorts.has(e.port) || e.port === 'metrics', `the controller pod has a port named ${e.port}`);
    const withoutSidecars = find(render([...MONITORING_ON, '--set', 'monitoring.podMonitor.sidecars=false']), 'PodMonitor', 'vbs-csi') as typeof pm;
    assert.deepEqual(withoutSidecars.spec.podMetricsEndpoints.map((e) => e.port), ['metrics']);
    const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet') as (K8sObject & {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; ports?: { name?: string; containerPort: number }[] }[] } } };
    })[];
    assert.equal(workloads.length, 3, 'controller, node plugin, agent');
    for (const w of workloads) {
      const labels = w.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) assert.equal(labels[k], v, `${w.metadata.name} pods carry ${k}`);
      for (const e of pm.spec.selector.matchExpressions) assert.ok(e.values.includes(labels[e.key]!), `${w.metadata.name}: ${e.key}`);
      const ports = w.spec.template.spec.containers.find((c) => c.name === 'vbs-csi')?.ports ?? [];
      assert.ok(ports.some((p) => p.name === 'metrics'), `${w.metadata.name}'s vbs-csi container has a metrics port`);
    }
  });

  it('has the alerts an operator needs, each with a severity, a duration and an actionable text', () => {
    const rules = rulesOf(render(MONITORING_ON));
    assert.deepEqual(rules.map((r) => r.alert).sort(), [
      'VbsCsiAgentNotReady',
      'VbsCsiCertificateExpiring',
      'VbsCsiCertificateExpiringSoon',
      'VbsCsiMetricsTargetDown',
      'VbsCsiNodeOperationsFailing',
      'VbsCsiReconcileFailing',
      'VbsCsiStorageNodeUnreachable',
      'VbsCsiThinPoolDataFilling',
      'VbsCsiThinPoolDataFull',
      'VbsCsiThinPoolMetadataFilling',
      'VbsCsiThinPoolMetadataFull',
      'VbsCsiThinPoolRefusingVolumes',
    ]);
    for (const r of rules) {
      assert.ok(['warning', 'critical'].includes(r.labels?.severity ?? ''), `${r.alert} severity`);
      assert.match(r.for ?? '', /^\d+[smh]$/, `${r.alert} waits before firing`);
      assert.ok((r.annotations?.summary ?? '').length > 10 && (r.annotations?.description ?? '').length > 30, `${r.alert} says what to do`);
      assert.match(r.expr, /namespace="vbs-csi"/, `${r.alert} only looks at this release's namespace`);
    }
    const withoutPodMonitor = rulesOf(render([...MONITORING_ON, '--set', 'monitoring.podMonitor.enabled=false'])).map((r) => r.alert);
    assert.ok(!withoutPodMonitor.includes('VbsCsiMetricsTargetDown'), 'the scrape job is only known when the chart makes the PodMonitor');
  });

  it("every alert refers only to metrics and labels the code registers (a rename breaks this test)", async () => {
    const metrics = await everyDriverMetric();
    const rules = rulesOf(render(MONITORING_ON));
    const used = new Set<string>();
    for (const r of rules) {
      // `up` is Prometheus' own, per target.
      assert.deepEqual(checkExpression(r.expr, metrics, { up: [] }), [], `${r.alert}: ${r.expr}`);
      promqlReferences(r.expr).selectors.forEach((s) => used.add(s.metric));
    }
    for (const needed of ['vbs_csi_storage_node_thin_pool_data_used_ratio', 'vbs_csi_storage_node_thin_pool_metadata_used_ratio', 'vbs_csi_storage_node_up', 'vbs_csi_agent_reconcile_runs_total', 'vbs_csi_tls_certificate_expiry_timestamp_seconds', 'vbs_csi_operations_total']) {
      assert.ok(used.has(needed), `an alert uses ${needed}`);
    }
  });

  it('the check catches an old name, a missing label and a grouping label no series has', async () => {
    const metrics = await everyDriverMetric();
    assert.deepEqual(checkExpression('max by (node) (vbs_csi_storage_node_latency_ms) > 0.1', metrics), ['vbs_csi_storage_node_latency_ms is not a metric the driver registers', 'no series of the expression has label node']);
    assert.deepEqual(checkExpression('vbs_csi_agent_ready{result="ok"} == 0', metrics), ['vbs_csi_agent_ready has no label result']);
    assert.deepEqual(checkExpression('sum by (volume) (vbs_csi_agent_ready)', metrics), ['no series of the expression has label volume']);
    assert.deepEqual(checkExpression('histogram_quantile(0.99, sum by (le) (rate(vbs_csi_operation_duration_seconds_bucket[5m])))', metrics), []);
  });

  it('values.schema.json refuses a fill threshold that is not a ratio, a bad interval and a misspelt key', () => {
    for (const [set, path] of [
      ['monitoring.prometheusRule.thinPoolData.critical=85', '/monitoring/prometheusRule/thinPoolData/critical'],
      ['monitoring.podMonitor.interval=30 seconds', '/monitoring/podMonitor/interval'],
      ['monitoring.prometheusRule.enable=true', '/monitoring/prometheusRule'],
    ] as const) {
      const { status, output } = helm(['template', 'vbs-csi', chartDir, '--set', set]);
      assert.notEqual(status, 0, set);
      assert.ok(output.includes(`at '${path}'`), output);
    }
  });

  it('thresholds come from values', () => {
    const rules = rulesOf(render([...MONITORING_ON, '--set', 'monitoring.prometheusRule.thinPoolData.critical=0.93,monitoring.prometheusRule.certificateExpiryDays.warning=30']));
    assert.match(rules.find((r) => r.alert === 'VbsCsiThinPoolDataFull')!.expr, /> 0\.93$/);
    assert.match(rules.find((r) => r.alert === 'VbsCsiCertificateExpiringSoon')!.expr, /< 30 \* 86400$/);
  });
});
