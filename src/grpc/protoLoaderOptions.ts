import type { Options } from '@grpc/proto-loader';

/**
 * The one set of options for loading our protos. scripts/generate-proto-types.ts passes the
 * same choices to proto-loader-gen-types, so the generated types describe exactly the objects
 * the runtime hands to handlers:
 * - keepCase: field names as the CSI spec writes them (volume_id, not volumeId);
 * - longs: Number — byte sizes stay below 2^53 (8 PiB); larger requests are refused anyway;
 * - enums: String — 'SINGLE_NODE_WRITER' reads better than 1 in code and logs;
 * - defaults + oneofs: absent scalars read as zero values and `access_type` names the set member.
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const satisfies Options;

/** The same choices as proto-loader-gen-types flags. */
export const PROTO_GEN_TYPES_FLAGS = ['--keepCase', '--longs=Number', '--enums=String', '--defaults', '--oneofs'] as const;
