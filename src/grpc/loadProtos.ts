import { fileURLToPath } from 'node:url';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType as CsiProto } from '../generated/csi.ts';
import { PROTO_LOADER_OPTIONS } from './protoLoaderOptions.ts';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

let csi: CsiProto | undefined;

/** The CSI package (csi.v1) with its service definitions and client constructors, loaded once. */
export function loadCsiProto(): CsiProto {
  csi ??= loadPackageDefinition(loadSync('csi.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] })) as unknown as CsiProto;
  return csi;
}
