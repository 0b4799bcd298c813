import { fileURLToPath } from 'node:url';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType as CsiProto } from '../generated/csi.ts';
import type { ProtoGrpcType as AgentProto } from '../generated/agent.ts';
import type { ProtoGrpcType as RegistrationProto } from '../generated/pluginregistration.ts';
import { PROTO_LOADER_OPTIONS } from './protoLoaderOptions.ts';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

let csi: CsiProto | undefined;

/** The CSI package (csi.v1) with its service definitions and client constructors, loaded once. */
export function loadCsiProto(): CsiProto {
  csi ??= loadPackageDefinition(loadSync('csi.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] })) as unknown as CsiProto;
  return csi;
}

let agent: AgentProto | undefined;

/** The storage agent's package (vbs.agent.v1), loaded once. */
export function loadAgentProto(): AgentProto {
  agent ??= loadPackageDefinition(loadSync('agent.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] })) as unknown as AgentProto;
  return agent;
}

let registration: RegistrationProto | undefined;

/** kubelet's plugin-registration package (pluginregistration, k8s.io/kubelet .../pluginregistration/v1), loaded once. */
export function loadPluginRegistrationProto(): RegistrationProto {
  registration ??= loadPackageDefinition(
    loadSync('pluginregistration.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] }),
  ) as unknown as RegistrationProto;
  return registration;
}
