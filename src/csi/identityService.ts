import type { Logger } from 'pino';
import type { IdentityHandlers } from '../generated/csi/v1/Identity.ts';
import type { GetPluginInfoResponse } from '../generated/csi/v1/GetPluginInfoResponse.ts';
import type { GetPluginCapabilitiesResponse } from '../generated/csi/v1/GetPluginCapabilitiesResponse.ts';
import type { ProbeResponse } from '../generated/csi/v1/ProbeResponse.ts';
import type { PluginCapability } from '../generated/csi/v1/PluginCapability.ts';
import { unaryAdapter } from '../grpc/adaptUnary.ts';
import type { CallObserver } from '../grpc/adaptUnary.ts';
import { runReadinessChecks } from './readiness.ts';
import type { ReadinessCheck, ReadinessReport } from './readiness.ts';

export interface IdentityServiceOptions {
  readonly driverName: string;
  readonly vendorVersion: string;
  /** Only what this process really serves: the CO calls every RPC a capability promises. */
  readonly capabilities: readonly PluginCapability[];
  readonly readiness: readonly ReadinessCheck[];
  readonly log: Logger;
  readonly probeTimeoutMs?: number;
  /** A reporter shared with GET /readyz (createReadinessReporter); without one, made from `readiness`. */
  readonly report?: (() => Promise<ReadinessReport>) | undefined;
  /** Hears every call's method, code and duration (metrics). */
  readonly calls?: CallObserver | undefined;
}

/**
 * Runs the readiness checks and logs a change of readiness once, not on every probe. CSI Probe and
 * the health server's GET /readyz share one reporter, so a chart that probes either logs alike.
 */
export function createReadinessReporter(checks: readonly ReadinessCheck[], log: Logger, timeoutMs = 5_000): () => Promise<ReadinessReport> {
  let lastProblems = '';
  return async () => {
    const report = await runReadinessChecks(checks, timeoutMs);
    const problems = report.problems.join('; ');
    if (problems !== lastProblems) {
      if (report.ready) log.info('ready: every dependency is available');
      else log.warn({ problems: report.problems }, 'not ready');
      lastProblems = problems;
    }
    return report;
  };
}

/**
 * The CSI Identity service. Probe answers ready=false (not an error) while a dependency is
 * missing: the spec keeps gRPC errors for "unhealthy, restart me", and a node waiting for
 * iscsid is not that.
 */
export function createIdentityHandlers(opts: IdentityServiceOptions): IdentityHandlers {
  const { log } = opts;
  const unary = unaryAdapter(log, { calls: opts.calls });
  const report = opts.report ?? createReadinessReporter(opts.readiness, log, opts.probeTimeoutMs);
  return {
    GetPluginInfo: unary('GetPluginInfo', async (): Promise<GetPluginInfoResponse> => ({
      name: opts.driverName,
      vendor_version: opts.vendorVersion,
    })),
    GetPluginCapabilities: unary('GetPluginCapabilities', async (): Promise<GetPluginCapabilitiesResponse> => ({
      capabilities: [...opts.capabilities],
    })),
    Probe: unary('Probe', async (): Promise<ProbeResponse> => ({ ready: { value: (await report()).ready } })),
  };
}
