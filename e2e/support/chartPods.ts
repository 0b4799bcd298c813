import { parseAllDocuments } from 'yaml';
import { helmTemplate } from '../../scripts/render-manifests.ts';
import type { PodSpec } from './podmanRun.ts';

/**
 * The values the test bed renders the chart with: it has no API server, so the Secrets are made
 * here (as `vbs-csi certs` would: certificates.source=external), the zones are given rather than
 * read from Node labels, and the controller finds the agents by DNS rather than EndpointSlices.
 */
export const CHART_ARGS_WITHOUT_API_SERVER: readonly string[] = Object.freeze([
  '--set', 'certificates.source=external', '--set', 'node.zone=default', '--set', 'agent.zone=default', '--set', 'controller.agentDiscovery=dns',
]);

/**
 * The pod specs of charts/vbs-csi as `helm template` renders them with `setArgs`, by
 * "<Kind>/<name>". Parsed as YAML 1.1, as the API server reads manifests: `defaultMode: 0400` is
 * octal there (YAML 1.2 would read the decimal 400).
 */
export function renderChartPods(setArgs: readonly string[] = []): Map<string, PodSpec> {
  const pods = new Map<string, PodSpec>();
  for (const doc of parseAllDocuments(helmTemplate(setArgs), { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`helm template: ${doc.errors.map((e) => e.message).join('; ')}`);
    const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { template?: { spec?: PodSpec } } } | null;
    const pod = o?.spec?.template?.spec;
    if (o?.kind && o.metadata?.name && pod) pods.set(`${o.kind}/${o.metadata.name}`, pod);
  }
  return pods;
}
