import { credentials } from '@grpc/grpc-js';
import type { CallOptions, ServiceError } from '@grpc/grpc-js';
import type { IdentityClient } from '../generated/csi/v1/Identity.ts';
import type { GetPluginInfoResponse__Output } from '../generated/csi/v1/GetPluginInfoResponse.ts';
import type { GetPluginCapabilitiesResponse__Output } from '../generated/csi/v1/GetPluginCapabilitiesResponse.ts';
import type { ProbeResponse__Output } from '../generated/csi/v1/ProbeResponse.ts';
import { loadCsiProto } from './loadProtos.ts';

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

/**
 * Runs one unary call and resolves with its response, or rejects with grpc-js's ServiceError
 * (code, details). `invoke` receives the call options (a deadline) and the callback, which keeps
 * the generated client's overloads typed at the call site.
 */
export function unary<Res>(invoke: (options: CallOptions, cb: Callback<Res>) => unknown, deadlineMs = 10_000): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    invoke({ deadline: new Date(Date.now() + deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** The Identity service of a CSI endpoint (grpc-js address: unix:///path or host:port), as promises. */
export function connectIdentity(address: string, deadlineMs = 10_000) {
  const csi = loadCsiProto();
  const client: IdentityClient = new csi.csi.v1.Identity(address, credentials.createInsecure());
  return {
    getPluginInfo: () => unary<GetPluginInfoResponse__Output>((o, cb) => client.GetPluginInfo({}, o, cb), deadlineMs),
    getPluginCapabilities: () =>
      unary<GetPluginCapabilitiesResponse__Output>((o, cb) => client.GetPluginCapabilities({}, o, cb), deadlineMs),
    probe: () => unary<ProbeResponse__Output>((o, cb) => client.Probe({}, o, cb), deadlineMs),
    close: () => client.close(),
  };
}
export type IdentityApi = ReturnType<typeof connectIdentity>;
