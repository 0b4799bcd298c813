import type { status } from '@grpc/grpc-js';
import type { AgentStatusHandlers } from '../../src/generated/vbs/agent/v1/AgentStatus.ts';
import type { AgentVolumesHandlers } from '../../src/generated/vbs/agent/v1/AgentVolumes.ts';
import type { ControllerHandlers } from '../../src/generated/csi/v1/Controller.ts';
import type { IdentityHandlers } from '../../src/generated/csi/v1/Identity.ts';
import type { NodeHandlers } from '../../src/generated/csi/v1/Node.ts';
import { WORKER_IQN } from './BadInputBed.ts';
import type { Fixtures, ServiceName } from './BadInputBed.ts';

/** The method names of a generated Handlers interface, without its index signature. */
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };

interface RpcNames {
  readonly identity: KnownKeys<IdentityHandlers>;
  readonly controller: KnownKeys<ControllerHandlers>;
  readonly node: KnownKeys<NodeHandlers>;
  readonly agentStatus: KnownKeys<AgentStatusHandlers>;
  readonly agentVolumes: KnownKeys<AgentVolumesHandlers>;
}

/** An object the method's serializer encodes (int64 fields may be strings), or bytes sent as they are. */
type Request = object | Uint8Array;

export type CodeName = keyof typeof status;

/** One hostile call and the only answer that is right for it. */
export type BadInputCase = {
  [S in ServiceName]: {
    readonly service: S;
    readonly rpc: RpcNames[S];
    /** What is wrong with the request, as a sentence. */
    readonly name: string;
    readonly request: Request | ((f: Fixtures) => Request);
    readonly code: CodeName;
    /** Set for a case the driver does not pass yet: it runs as a todo test and this says why. */
    readonly knownIssue?: string;
  };
}[ServiceName];

type Row = readonly [name: string, request: Request | ((f: Fixtures) => Request), code: CodeName];

function rows<S extends ServiceName>(service: S, rpc: RpcNames[S], list: readonly Row[]): BadInputCase[] {
  return list.map(([name, request, code]) => ({ service, rpc, name, request, code }) as BadInputCase);
}

// ---- building blocks -------------------------------------------------------------------------

const MiB = 1024 * 1024;
const KiB4 = 'x'.repeat(4096);
const INT64_MAX = '9223372036854775807';
const INT64_MIN = '-9223372036854775808';
const UINT64_MAX = '18446744073709551615';
/** 4 PiB: a safe integer, four times the largest volume an agent makes. */
const FOUR_PIB = 4 * 2 ** 50;
/** 43 three-byte characters: 129 bytes of UTF-8, one over CSI's limit for names. */
const NAME_129_BYTES = '名'.repeat(43);

/**
 * Well formed, naming a storage node nobody runs: the controller cannot tell it from a node that
 * is down, so every call on it is UNAVAILABLE (docs/storage-node-removal.md).
 */
const FORGED_VOLUME = 'store-zz/vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa';
const FORGED_SNAPSHOT = 'store-zz/vbs-snap-aaaaaaaaaaaaaaaaaaaaaaaaaa';
/** Well formed, on the storage node the bed declares removed (BadInputBed: REMOVED_STORAGE_NODE): gone. */
const REMOVED_VOLUME = 'store-gone/vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa';
const REMOVED_SNAPSHOT = 'store-gone/vbs-snap-aaaaaaaaaaaaaaaaaaaaaaaaaa';
/** Well formed, on a real storage node, but no such LV. */
const MISSING_VOLUME = 'store-a/vbs-vol-bbbbbbbbbbbbbbbbbbbbbbbbbb';
const MISSING_SNAPSHOT = 'store-a/vbs-snap-bbbbbbbbbbbbbbbbbbbbbbbbbb';
const LV_VOLUME = 'vbs-vol-cccccccccccccccccccccccccc';
const LV_SNAPSHOT = 'vbs-snap-cccccccccccccccccccccccccc';
/** Ids that try to climb, point elsewhere, hide a NUL or are not ours at all. */
const HOSTILE_IDS: readonly (readonly [string, string])[] = [
  ['a path traversal', '../../../etc/passwd'],
  ['a traversal between storage nodes', 'store-a/../store-b/vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ['an absolute path', '/var/lib/kubelet/pods'],
  ['a NUL byte', 'store-a/vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa\u0000/etc'],
  ['4 KiB', KiB4],
  ['unicode look-alikes', 'stоre-a/vbs-vоl-aaaaaaaaaaaaaaaaaaaaaaaaaa'],
];

const SNW = { mode: 'SINGLE_NODE_WRITER' };
const EXT4 = { mount: { fs_type: 'ext4' }, access_mode: SNW };
const BLOCK = { block: {}, access_mode: SNW };
/** Both access types: protobuf keeps the last member of a oneof, so this reads as mount. */
const MOUNT_AND_BLOCK = { block: {}, mount: { fs_type: 'ext4' }, access_mode: SNW };
const NO_ACCESS_TYPE = { access_mode: SNW };
const NO_ACCESS_MODE = { mount: { fs_type: 'ext4' } };
const UNKNOWN_MODE = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'UNKNOWN' } };
const UNDEFINED_MODE_NUMBER = { mount: { fs_type: 'ext4' }, access_mode: { mode: 99 } };
const FILESYSTEM_RWX = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
const BTRFS = { mount: { fs_type: 'btrfs' }, access_mode: SNW };
const FS_TYPE_INJECTION = { mount: { fs_type: 'ext4 -o exec' }, access_mode: SNW };
const MOUNT_GROUP = { mount: { fs_type: 'ext4', volume_mount_group: '0' }, access_mode: SNW };
/** Capabilities no request may carry, each with the code the Controller and Node give it. */
const BAD_CAPABILITIES: readonly (readonly [string, object])[] = [
  ['no access type', NO_ACCESS_TYPE],
  ['no access mode', NO_ACCESS_MODE],
  ['access mode UNKNOWN', UNKNOWN_MODE],
  ['an access mode number the spec does not define', UNDEFINED_MODE_NUMBER],
  ['a filesystem written from several nodes', FILESYSTEM_RWX],
  ['an unsupported filesystem', BTRFS],
  ['an fs_type carrying mount options', FS_TYPE_INJECTION],
];

/** Undecodable protobuf: a tag with wire type 7, which does not exist. */
const GARBAGE = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
/** Field 1 says 5 bytes follow; 1 does. */
const TRUNCATED = Uint8Array.from([0x0a, 0x05, 0x61]);
/** Field 1 (a string in every request that has one) sent as a varint: the decoder skips it. */
const WRONG_WIRE_TYPE = Uint8Array.from([0x08, 0x96, 0x01]);
/** Only a field number no message defines (1000, varint 1): proto3 ignores it. */
const UNKNOWN_FIELD_ONLY = Uint8Array.from([0xc0, 0x3e, 0x01]);

const PUBLISH_CONTEXT = {
  targetPortal: '192.168.1.1:3260',
  targetIqn: 'iqn.2026-11.io.vbs-test.store-a:vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa',
  lun: '0',
  serial: 'c0ffee00c0ffee00c0ffee00c0ffee00',
  agentAddress: '192.168.1.1:9500',
};

/** Malformed publish contexts, each refused before the node runs iscsiadm. */
const BAD_PUBLISH_CONTEXTS: readonly (readonly [string, Record<string, string>])[] = [
  ['an empty publish_context', {}],
  ['a publish_context without targetIqn', { ...PUBLISH_CONTEXT, targetIqn: '' }],
  ['a negative lun', { ...PUBLISH_CONTEXT, lun: '-1' }],
  ['a lun in exponent notation', { ...PUBLISH_CONTEXT, lun: '1e3' }],
  ['a lun past 65535', { ...PUBLISH_CONTEXT, lun: '9999999' }],
  ['a portal that is a host name', { ...PUBLISH_CONTEXT, targetPortal: 'evil.example.com:3260' }],
  ['a portal port past 65535', { ...PUBLISH_CONTEXT, targetPortal: '192.168.1.1:99999' }],
  ['an agent address with a scheme', { ...PUBLISH_CONTEXT, agentAddress: 'dns:///evil.example.com:9500' }],
  ['an agent address without a port', { ...PUBLISH_CONTEXT, agentAddress: '192.168.1.1' }],
  ['an agent address with a newline', { ...PUBLISH_CONTEXT, agentAddress: 'a\nb:1' }],
  ['a target IQN with a path in it', { ...PUBLISH_CONTEXT, targetIqn: 'iqn.2026-11.io.x:../../etc/passwd' }],
  ['a target IQN with a newline', { ...PUBLISH_CONTEXT, targetIqn: 'iqn.2026-11.io.x:a\nnode.startup=automatic' }],
  ['a 4 KiB agent address', { ...PUBLISH_CONTEXT, agentAddress: `${KiB4}:1` }],
];

/** Paths a CO must never hand the node, each INVALID_ARGUMENT. */
const BAD_PATHS: readonly (readonly [string, (f: Fixtures) => string])[] = [
  ['a relative path', () => 'var/lib/kubelet/x'],
  ['a path climbing out with ..', (f) => `${f.dir}/../../../etc`],
  ['a path with a NUL byte', (f) => `${f.dir}/a\u0000b`],
  ['a path with a newline', (f) => `${f.dir}/a\nb`],
  ['a path of 5000 characters', (f) => `${f.dir}/${'p'.repeat(5000)}`],
];

// ---- the corpus ------------------------------------------------------------------------------

const identity: BadInputCase[] = [
  ...rows('identity', 'GetPluginInfo', [
    ['undecodable bytes (grpc-js refuses them before any handler)', GARBAGE, 'INTERNAL'],
    ['a truncated message', TRUNCATED, 'INTERNAL'],
    ['only an unknown field, which proto3 ignores', UNKNOWN_FIELD_ONLY, 'OK'],
  ]),
  ...rows('identity', 'GetPluginCapabilities', [['undecodable bytes', GARBAGE, 'INTERNAL']]),
  ...rows('identity', 'Probe', [
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
    ['only an unknown field', UNKNOWN_FIELD_ONLY, 'OK'],
  ]),
];

const createVolume = (extra: object) => ({ name: 'pvc-hostile', capacity_range: { required_bytes: 64 * MiB }, volume_capabilities: [EXT4], ...extra });

const controller: BadInputCase[] = [
  ...rows('controller', 'CreateVolume', [
    ['no name', createVolume({ name: '' }), 'INVALID_ARGUMENT'],
    ['a 4 KiB name', createVolume({ name: KiB4 }), 'INVALID_ARGUMENT'],
    ['a name of 129 bytes of UTF-8', createVolume({ name: NAME_129_BYTES }), 'INVALID_ARGUMENT'],
    ['no volume capabilities', createVolume({ volume_capabilities: [] }), 'INVALID_ARGUMENT'],
    ...BAD_CAPABILITIES.map(([what, cap]): Row => [`a capability with ${what}`, createVolume({ volume_capabilities: [cap] }), 'INVALID_ARGUMENT']),
    ['a good capability next to a bad one', createVolume({ volume_capabilities: [EXT4, NO_ACCESS_TYPE] }), 'INVALID_ARGUMENT'],
    ['required_bytes of 2^63 - 1', createVolume({ capacity_range: { required_bytes: INT64_MAX } }), 'OUT_OF_RANGE'],
    ['required_bytes of 4 PiB, past the largest volume', createVolume({ capacity_range: { required_bytes: FOUR_PIB } }), 'OUT_OF_RANGE'],
    ['a negative required_bytes', createVolume({ capacity_range: { required_bytes: '-1' } }), 'INVALID_ARGUMENT'],
    ['required_bytes of -2^63', createVolume({ capacity_range: { required_bytes: INT64_MIN } }), 'INVALID_ARGUMENT'],
    ['a negative limit_bytes', createVolume({ capacity_range: { limit_bytes: '-5' } }), 'INVALID_ARGUMENT'],
    ['required_bytes above limit_bytes', createVolume({ capacity_range: { required_bytes: 2 * MiB, limit_bytes: MiB } }), 'OUT_OF_RANGE'],
    ['an xfs volume limited below what xfs can hold', createVolume({ capacity_range: { limit_bytes: 100 * MiB }, volume_capabilities: [{ mount: { fs_type: 'xfs' }, access_mode: SNW }] }), 'OUT_OF_RANGE'],
    ['an unknown StorageClass parameter', createVolume({ parameters: { tire: 'ssd' } }), 'INVALID_ARGUMENT'],
    ['provisioning neither thin nor thick', createVolume({ parameters: { provisioning: 'thicc' } }), 'INVALID_ARGUMENT'],
    ['an fsType parameter carrying options', createVolume({ parameters: { fsType: 'ext4,exec' } }), 'INVALID_ARGUMENT'],
    ['nodeLabels with a path in them', createVolume({ parameters: { nodeLabels: 'zone=../../etc' } }), 'INVALID_ARGUMENT'],
    ['a snapshot source on an unknown storage node', createVolume({ volume_content_source: { snapshot: { snapshot_id: FORGED_SNAPSHOT } } }), 'UNAVAILABLE'],
    ['a snapshot source on a removed storage node', createVolume({ volume_content_source: { snapshot: { snapshot_id: REMOVED_SNAPSHOT } } }), 'NOT_FOUND'],
    ['a snapshot source that is a path', createVolume({ volume_content_source: { snapshot: { snapshot_id: '../../etc/passwd' } } }), 'NOT_FOUND'],
    ['a snapshot source that is a volume id', (f) => createVolume({ volume_content_source: { snapshot: { snapshot_id: f.volumeId } } }), 'NOT_FOUND'],
    ['a snapshot source that does not exist', createVolume({ volume_content_source: { snapshot: { snapshot_id: MISSING_SNAPSHOT } } }), 'NOT_FOUND'],
    ['a volume source with an empty id', createVolume({ volume_content_source: { volume: { volume_id: '' } } }), 'INVALID_ARGUMENT'],
    ['a volume source on an unknown storage node', createVolume({ volume_content_source: { volume: { volume_id: FORGED_VOLUME } } }), 'UNAVAILABLE'],
    ['a volume source on a removed storage node', createVolume({ volume_content_source: { volume: { volume_id: REMOVED_VOLUME } } }), 'NOT_FOUND'],
    ['a restore that asks for thick provisioning', (f) => createVolume({ parameters: { provisioning: 'thick' }, volume_content_source: { snapshot: { snapshot_id: f.snapshotId } } }), 'INVALID_ARGUMENT'],
    ['the name of an existing volume with another size', createVolume({ name: 'pvc-fixture', capacity_range: { required_bytes: 128 * MiB } }), 'ALREADY_EXISTS'],
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
    ['a name sent with the wire type of a number (skipped, so no name)', WRONG_WIRE_TYPE, 'INVALID_ARGUMENT'],
  ]),
  ...rows('controller', 'DeleteVolume', [
    ['no volume id', { volume_id: '' }, 'INVALID_ARGUMENT'],
    ['a volume on an unknown storage node (it may come back with it)', { volume_id: FORGED_VOLUME }, 'UNAVAILABLE'],
    ['a volume on a removed storage node (gone)', { volume_id: REMOVED_VOLUME }, 'OK'],
    ['a volume that does not exist (already gone)', { volume_id: MISSING_VOLUME }, 'OK'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`an id with ${what} (not ours, so gone)`, { volume_id: id }, 'OK']),
    ['a snapshot id, which must not delete the snapshot', (f) => ({ volume_id: f.snapshotId }), 'OK'],
    ['a volume still published to a node', (f) => ({ volume_id: f.volumeId }), 'FAILED_PRECONDITION'],
  ]),
  ...rows('controller', 'ControllerPublishVolume', [
    ['no volume id', { volume_id: '', node_id: WORKER_IQN, volume_capability: EXT4 }, 'INVALID_ARGUMENT'],
    ['no node id', (f) => ({ volume_id: f.volumeId, node_id: '', volume_capability: EXT4 }), 'INVALID_ARGUMENT'],
    ['no capability', (f) => ({ volume_id: f.volumeId, node_id: WORKER_IQN }), 'INVALID_ARGUMENT'],
    ...BAD_CAPABILITIES.filter(([what]) => !/filesystem|fs_type/.test(what)).map(
      ([what, cap]): Row => [`a capability with ${what}`, (f) => ({ volume_id: f.volumeId, node_id: WORKER_IQN, volume_capability: cap }), 'INVALID_ARGUMENT'],
    ),
    ['a volume on an unknown storage node', { volume_id: FORGED_VOLUME, node_id: WORKER_IQN, volume_capability: EXT4 }, 'UNAVAILABLE'],
    ['a volume on a removed storage node', { volume_id: REMOVED_VOLUME, node_id: WORKER_IQN, volume_capability: EXT4 }, 'NOT_FOUND'],
    ['a volume that does not exist', { volume_id: MISSING_VOLUME, node_id: WORKER_IQN, volume_capability: EXT4 }, 'NOT_FOUND'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id, node_id: WORKER_IQN, volume_capability: EXT4 }, 'NOT_FOUND']),
    ['a node id that is a path', (f) => ({ volume_id: f.volumeId, node_id: '../../etc/passwd', volume_capability: EXT4 }), 'NOT_FOUND'],
    ['a 4 KiB node id', (f) => ({ volume_id: f.volumeId, node_id: `iqn.2026-11.io.test:${KiB4}`, volume_capability: EXT4 }), 'NOT_FOUND'],
    ['a node id with a newline', (f) => ({ volume_id: f.volumeId, node_id: `${WORKER_IQN}\nacl`, volume_capability: EXT4 }), 'NOT_FOUND'],
    ['a second node for a single-node volume', (f) => ({ volume_id: f.volumeId, node_id: 'iqn.2026-11.io.test:worker-2', volume_capability: EXT4 }), 'FAILED_PRECONDITION'],
    ['its own node again, but read-only', (f) => ({ volume_id: f.volumeId, node_id: WORKER_IQN, volume_capability: EXT4, readonly: true }), 'ALREADY_EXISTS'],
  ]),
  ...rows('controller', 'ControllerUnpublishVolume', [
    ['no volume id', { volume_id: '', node_id: WORKER_IQN }, 'INVALID_ARGUMENT'],
    ['a volume on an unknown storage node (it may come back with the ACL)', { volume_id: FORGED_VOLUME, node_id: WORKER_IQN }, 'UNAVAILABLE'],
    ['a volume on a removed storage node (nothing to fence)', { volume_id: REMOVED_VOLUME, node_id: WORKER_IQN }, 'OK'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id, node_id: WORKER_IQN }, 'OK']),
    ['a node id that is not a node, which must not unpublish every node', (f) => ({ volume_id: f.volumeId, node_id: '../../etc/passwd' }), 'OK'],
    ['a node id the volume is not published to', (f) => ({ volume_id: f.volumeId, node_id: 'iqn.2026-11.io.test:worker-9' }), 'OK'],
  ]),
  ...rows('controller', 'ValidateVolumeCapabilities', [
    ['no volume id', { volume_id: '', volume_capabilities: [EXT4] }, 'INVALID_ARGUMENT'],
    ['no capabilities', (f) => ({ volume_id: f.volumeId, volume_capabilities: [] }), 'INVALID_ARGUMENT'],
    ['a volume on an unknown storage node', { volume_id: FORGED_VOLUME, volume_capabilities: [EXT4] }, 'UNAVAILABLE'],
    ['a volume on a removed storage node', { volume_id: REMOVED_VOLUME, volume_capabilities: [EXT4] }, 'NOT_FOUND'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id, volume_capabilities: [EXT4] }, 'NOT_FOUND']),
    ['a capability it cannot serve (answered unconfirmed)', (f) => ({ volume_id: f.volumeId, volume_capabilities: [FILESYSTEM_RWX] }), 'OK'],
    ['mount and block at once (last oneof member wins: mount)', (f) => ({ volume_id: f.volumeId, volume_capabilities: [MOUNT_AND_BLOCK] }), 'OK'],
    ['unknown parameters (answered unconfirmed)', (f) => ({ volume_id: f.volumeId, volume_capabilities: [EXT4], parameters: { tire: 'ssd' } }), 'OK'],
  ]),
  ...rows('controller', 'ListVolumes', [
    ['a starting token this driver never gave', { starting_token: 'garbage' }, 'ABORTED'],
    ['a starting token that is a path', { starting_token: '../../etc/passwd' }, 'ABORTED'],
    ['a 4 KiB starting token', { starting_token: KiB4 }, 'ABORTED'],
    ['a snapshot id as starting token', (f) => ({ starting_token: f.snapshotId }), 'ABORTED'],
    ['a negative max_entries', { max_entries: -1 }, 'INVALID_ARGUMENT'],
    ['max_entries of -2^31', { max_entries: -2147483648 }, 'INVALID_ARGUMENT'],
  ]),
  ...rows('controller', 'GetCapacity', [
    ['an unknown parameter', { parameters: { tire: 'ssd' } }, 'INVALID_ARGUMENT'],
    ...BAD_CAPABILITIES.filter(([what]) => !/written from several/.test(what)).map(([what, cap]): Row => [`a capability with ${what}`, { volume_capabilities: [cap] }, 'INVALID_ARGUMENT']),
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
  ]),
  ...rows('controller', 'ControllerGetCapabilities', [['undecodable bytes', GARBAGE, 'INTERNAL']]),
  ...rows('controller', 'CreateSnapshot', [
    ['no name', (f) => ({ name: '', source_volume_id: f.volumeId }), 'INVALID_ARGUMENT'],
    ['no source volume', { name: 'snap-hostile', source_volume_id: '' }, 'INVALID_ARGUMENT'],
    ['a 4 KiB name', (f) => ({ name: KiB4, source_volume_id: f.volumeId }), 'INVALID_ARGUMENT'],
    ['a name of 129 bytes of UTF-8', (f) => ({ name: NAME_129_BYTES, source_volume_id: f.volumeId }), 'INVALID_ARGUMENT'],
    ['parameters, which snapshots do not take', (f) => ({ name: 'snap-hostile', source_volume_id: f.volumeId, parameters: { a: 'b' } }), 'INVALID_ARGUMENT'],
    ['a source on an unknown storage node', { name: 'snap-hostile', source_volume_id: FORGED_VOLUME }, 'UNAVAILABLE'],
    ['a source on a removed storage node', { name: 'snap-hostile', source_volume_id: REMOVED_VOLUME }, 'NOT_FOUND'],
    ['a source that does not exist', { name: 'snap-hostile', source_volume_id: MISSING_VOLUME }, 'NOT_FOUND'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a source id with ${what}`, { name: 'snap-hostile', source_volume_id: id }, 'NOT_FOUND']),
    ['a snapshot id as source', (f) => ({ name: 'snap-hostile', source_volume_id: f.snapshotId }), 'NOT_FOUND'],
  ]),
  ...rows('controller', 'DeleteSnapshot', [
    ['no snapshot id', { snapshot_id: '' }, 'INVALID_ARGUMENT'],
    ['a snapshot on an unknown storage node (it may come back with it)', { snapshot_id: FORGED_SNAPSHOT }, 'UNAVAILABLE'],
    ['a snapshot on a removed storage node (gone)', { snapshot_id: REMOVED_SNAPSHOT }, 'OK'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`an id with ${what} (not ours, so gone)`, { snapshot_id: id }, 'OK']),
    ['a volume id, which must not delete the volume', (f) => ({ snapshot_id: f.volumeId }), 'OK'],
  ]),
  ...rows('controller', 'ListSnapshots', [
    ['a starting token this driver never gave', { starting_token: 'garbage' }, 'ABORTED'],
    ['a volume id as starting token', (f) => ({ starting_token: f.volumeId }), 'ABORTED'],
    ['a negative max_entries', { max_entries: -1 }, 'INVALID_ARGUMENT'],
    ['a snapshot id that is not ours (an empty list)', { snapshot_id: '../../etc/passwd' }, 'OK'],
    ['a snapshot on an unknown storage node (it may come back with it)', { snapshot_id: FORGED_SNAPSHOT }, 'UNAVAILABLE'],
    ['a snapshot on a removed storage node (an empty list)', { snapshot_id: REMOVED_SNAPSHOT }, 'OK'],
    ['a source volume id that is a path (an empty list)', { source_volume_id: '../../etc/passwd' }, 'OK'],
  ]),
  ...rows('controller', 'ControllerExpandVolume', [
    ['no volume id', { volume_id: '', capacity_range: { required_bytes: 128 * MiB } }, 'INVALID_ARGUMENT'],
    ['no capacity range', (f) => ({ volume_id: f.volumeId }), 'INVALID_ARGUMENT'],
    ['a zero required_bytes', (f) => ({ volume_id: f.volumeId, capacity_range: { required_bytes: 0 } }), 'INVALID_ARGUMENT'],
    ['a volume on an unknown storage node', { volume_id: FORGED_VOLUME, capacity_range: { required_bytes: 128 * MiB } }, 'UNAVAILABLE'],
    ['a volume on a removed storage node', { volume_id: REMOVED_VOLUME, capacity_range: { required_bytes: 128 * MiB } }, 'NOT_FOUND'],
    ['a volume that does not exist', { volume_id: MISSING_VOLUME, capacity_range: { required_bytes: 128 * MiB } }, 'NOT_FOUND'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id, capacity_range: { required_bytes: 128 * MiB } }, 'NOT_FOUND']),
    ['required_bytes of 2^63 - 1', (f) => ({ volume_id: f.volumeId, capacity_range: { required_bytes: INT64_MAX } }), 'OUT_OF_RANGE'],
    ['required_bytes of 4 PiB', (f) => ({ volume_id: f.volumeId, capacity_range: { required_bytes: FOUR_PIB } }), 'OUT_OF_RANGE'],
    ['a negative required_bytes', (f) => ({ volume_id: f.volumeId, capacity_range: { required_bytes: '-1' } }), 'INVALID_ARGUMENT'],
    ['a shrink (limit below the current size)', (f) => ({ volume_id: f.volumeId, capacity_range: { required_bytes: MiB, limit_bytes: MiB } }), 'OUT_OF_RANGE'],
    ['a capability with no access type', (f) => ({ volume_id: f.volumeId, capacity_range: { required_bytes: 128 * MiB }, volume_capability: NO_ACCESS_TYPE }), 'INVALID_ARGUMENT'],
  ]),
  ...rows('controller', 'ControllerGetVolume', [
    ['no volume id', { volume_id: '' }, 'INVALID_ARGUMENT'],
    ['a volume on an unknown storage node', { volume_id: FORGED_VOLUME }, 'UNAVAILABLE'],
    ['a volume on a removed storage node', { volume_id: REMOVED_VOLUME }, 'NOT_FOUND'],
    ['a volume that does not exist', { volume_id: MISSING_VOLUME }, 'NOT_FOUND'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id }, 'NOT_FOUND']),
    ['a snapshot id', (f) => ({ volume_id: f.snapshotId }), 'NOT_FOUND'],
  ]),
  ...rows('controller', 'ControllerGetVolumeHealth', [
    ['no volume id', { volume_id: '' }, 'INVALID_ARGUMENT'],
    ['a volume on an unknown storage node (its health: inaccessible)', { volume_id: FORGED_VOLUME }, 'OK'],
    ['a volume on a removed storage node', { volume_id: REMOVED_VOLUME }, 'NOT_FOUND'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id }, 'NOT_FOUND']),
  ]),
  ...rows('controller', 'ControllerModifyVolume', [['a hostile request to an RPC not offered', { volume_id: FORGED_VOLUME, mutable_parameters: { a: 'b' } }, 'UNIMPLEMENTED']]),
  ...rows('controller', 'ControllerListVolumeHealth', [['a hostile request to an RPC not offered', { starting_token: KiB4 }, 'UNIMPLEMENTED']]),
  ...rows('controller', 'GetSnapshot', [['a hostile request to an RPC not offered', { snapshot_id: '../../etc/passwd' }, 'UNIMPLEMENTED']]),
];

const stage = (f: Fixtures, extra: object) => ({
  volume_id: f.volumeId,
  staging_target_path: `${f.dir}/staging`,
  volume_capability: EXT4,
  publish_context: PUBLISH_CONTEXT,
  ...extra,
});
const publish = (f: Fixtures, extra: object) => ({
  volume_id: f.volumeId,
  staging_target_path: `${f.dir}/staging`,
  target_path: `${f.dir}/pods/p1/mount`,
  volume_capability: EXT4,
  ...extra,
});

const node: BadInputCase[] = [
  ...rows('node', 'NodeStageVolume', [
    ['no volume id', (f) => stage(f, { volume_id: '' }), 'INVALID_ARGUMENT'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, (f) => stage(f, { volume_id: id }), 'NOT_FOUND']),
    ['no staging path', (f) => stage(f, { staging_target_path: '' }), 'INVALID_ARGUMENT'],
    ...BAD_PATHS.map(([what, path]): Row => [`a staging path that is ${what}`, (f) => stage(f, { staging_target_path: path(f) }), 'INVALID_ARGUMENT']),
    ['no capability', (f) => stage(f, { volume_capability: null }), 'INVALID_ARGUMENT'],
    ...BAD_CAPABILITIES.map(([what, cap]): Row => [`a capability with ${what}`, (f) => stage(f, { volume_capability: cap }), 'INVALID_ARGUMENT']),
    ['a volume_mount_group, which is not offered', (f) => stage(f, { volume_capability: MOUNT_GROUP }), 'INVALID_ARGUMENT'],
    ...BAD_PUBLISH_CONTEXTS.map(([what, pc]): Row => [what, (f) => stage(f, { publish_context: pc }), 'INVALID_ARGUMENT']),
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
  ]),
  ...rows('node', 'NodeUnstageVolume', [
    ['no volume id', (f) => ({ volume_id: '', staging_target_path: `${f.dir}/staging` }), 'INVALID_ARGUMENT'],
    ['no staging path', (f) => ({ volume_id: f.volumeId, staging_target_path: '' }), 'INVALID_ARGUMENT'],
    ...BAD_PATHS.map(([what, path]): Row => [`a staging path that is ${what}`, (f) => ({ volume_id: f.volumeId, staging_target_path: path(f) }), 'INVALID_ARGUMENT']),
    ['a volume never staged here (already unstaged)', (f) => ({ volume_id: MISSING_VOLUME, staging_target_path: `${f.dir}/staging` }), 'OK'],
    ['a forged volume whose staging path holds somebody else\'s mount', (f) => ({ volume_id: FORGED_VOLUME, staging_target_path: f.foreignMount }), 'FAILED_PRECONDITION'],
  ]),
  ...rows('node', 'NodePublishVolume', [
    ['no volume id', (f) => publish(f, { volume_id: '' }), 'INVALID_ARGUMENT'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, (f) => publish(f, { volume_id: id }), 'NOT_FOUND']),
    ['no target path', (f) => publish(f, { target_path: '' }), 'INVALID_ARGUMENT'],
    ...BAD_PATHS.map(([what, path]): Row => [`a target path that is ${what}`, (f) => publish(f, { target_path: path(f) }), 'INVALID_ARGUMENT']),
    ...BAD_PATHS.map(([what, path]): Row => [`a staging path that is ${what}`, (f) => publish(f, { staging_target_path: path(f) }), 'INVALID_ARGUMENT']),
    ['no capability', (f) => publish(f, { volume_capability: null }), 'INVALID_ARGUMENT'],
    ...BAD_CAPABILITIES.map(([what, cap]): Row => [`a capability with ${what}`, (f) => publish(f, { volume_capability: cap }), 'INVALID_ARGUMENT']),
    ['a volume not staged here, onto /etc', (f) => publish(f, { target_path: '/etc' }), 'FAILED_PRECONDITION'],
    ['a block volume not staged here, onto a host file', (f) => publish(f, { target_path: '/etc/passwd', volume_capability: BLOCK }), 'FAILED_PRECONDITION'],
  ]),
  ...rows('node', 'NodeUnpublishVolume', [
    ['no volume id', (f) => ({ volume_id: '', target_path: `${f.dir}/pods/p1/mount` }), 'INVALID_ARGUMENT'],
    ['no target path', (f) => ({ volume_id: f.volumeId, target_path: '' }), 'INVALID_ARGUMENT'],
    ...BAD_PATHS.map(([what, path]): Row => [`a target path that is ${what}`, (f) => ({ volume_id: f.volumeId, target_path: path(f) }), 'INVALID_ARGUMENT']),
    ['a target path that does not exist (already unpublished)', (f) => ({ volume_id: f.volumeId, target_path: `${f.dir}/pods/gone/mount` }), 'OK'],
    ['a forged volume whose target path holds somebody else\'s mount', (f) => ({ volume_id: FORGED_VOLUME, target_path: f.foreignMount }), 'FAILED_PRECONDITION'],
  ]),
  ...rows('node', 'NodeExpandVolume', [
    ['no volume id', (f) => ({ volume_id: '', volume_path: `${f.dir}/pods/p1/mount` }), 'INVALID_ARGUMENT'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, (f) => ({ volume_id: id, volume_path: `${f.dir}/pods/p1/mount` }), 'NOT_FOUND']),
    ['no volume path', (f) => ({ volume_id: f.volumeId, volume_path: '' }), 'INVALID_ARGUMENT'],
    // The volume is not staged here: NOT_FOUND before the path's form is looked at, as csi-sanity asks
    // with "some/path"; a staged volume's malformed path is INVALID_ARGUMENT (src/node/nodeService.test.ts).
    ...BAD_PATHS.map(([what, path]): Row => [`a volume path that is ${what}`, (f) => ({ volume_id: f.volumeId, volume_path: path(f) }), 'NOT_FOUND']),
    ['a volume not staged here', (f) => ({ volume_id: f.volumeId, volume_path: f.dir }), 'NOT_FOUND'],
    ['a negative required_bytes', (f) => ({ volume_id: f.volumeId, volume_path: f.dir, capacity_range: { required_bytes: '-1' } }), 'INVALID_ARGUMENT'],
    ['required_bytes of 2^63 - 1', (f) => ({ volume_id: f.volumeId, volume_path: f.dir, capacity_range: { required_bytes: INT64_MAX } }), 'OUT_OF_RANGE'],
  ]),
  ...rows('node', 'NodeGetVolumeStats', [
    ['no volume id', (f) => ({ volume_id: '', volume_path: f.dir }), 'INVALID_ARGUMENT'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, (f) => ({ volume_id: id, volume_path: f.dir }), 'NOT_FOUND']),
    ['no volume path', (f) => ({ volume_id: f.volumeId, volume_path: '' }), 'INVALID_ARGUMENT'],
    // Not one of the volume's paths: the spec's NOT_FOUND ("not published at the given path"), as
    // csi-sanity asks with "some/path"; no such path reaches the filesystem.
    ...BAD_PATHS.map(([what, path]): Row => [`a volume path that is ${what}`, (f) => ({ volume_id: f.volumeId, volume_path: path(f) }), 'NOT_FOUND']),
    ['a volume path that does not exist', (f) => ({ volume_id: f.volumeId, volume_path: `${f.dir}/nothing-here` }), 'NOT_FOUND'],
    ['a volume not staged here, at a directory that exists', (f) => ({ volume_id: f.volumeId, volume_path: f.dir }), 'NOT_FOUND'],
    ['a volume not staged here, at the host\'s root', (f) => ({ volume_id: f.volumeId, volume_path: '/' }), 'NOT_FOUND'],
  ]),
  ...rows('node', 'NodeGetVolumeHealth', [
    ['no volume id', { volume_id: '' }, 'INVALID_ARGUMENT'],
    ...HOSTILE_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id }, 'NOT_FOUND']),
    ['a volume not staged here', (f) => ({ volume_id: f.volumeId }), 'NOT_FOUND'],
  ]),
  ...rows('node', 'NodeGetStorageHealth', [['a request to an RPC not offered', { starting_token: KiB4 }, 'UNIMPLEMENTED']]),
  ...rows('node', 'NodeGetCapabilities', [['undecodable bytes', GARBAGE, 'INTERNAL']]),
  ...rows('node', 'NodeGetInfo', [
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
    ['only an unknown field', UNKNOWN_FIELD_ONLY, 'OK'],
  ]),
];

/** The agent's own ids are LV names: vbs-vol-… and vbs-snap-…, no storage node. */
const HOSTILE_LV_IDS: readonly (readonly [string, string])[] = [
  ['a path traversal', '../../../dev/sda'],
  ['another VG\'s LV path', 'othervg/vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ['an lvm option', '--select=lv_name=~.*'],
  ['a NUL byte', 'vbs-vol-aaaaaaaaaaaaaaaaaaaaaaaaaa\u0000'],
  ['4 KiB', KiB4],
  ['upper case', 'vbs-vol-AAAAAAAAAAAAAAAAAAAAAAAAAA'],
];

const agentStatus: BadInputCase[] = rows('agentStatus', 'GetNodeStatus', [
  ['undecodable bytes', GARBAGE, 'INTERNAL'],
  ['only an unknown field', UNKNOWN_FIELD_ONLY, 'OK'],
]);

const agentVolumes: BadInputCase[] = [
  ...rows('agentVolumes', 'CreateVolume', [
    ['no name', { name: '', size_bytes: 64 * MiB }, 'INVALID_ARGUMENT'],
    ['a 4 KiB name', { name: KiB4, size_bytes: 64 * MiB }, 'INVALID_ARGUMENT'],
    ['a name of 129 bytes of UTF-8', { name: NAME_129_BYTES, size_bytes: 64 * MiB }, 'INVALID_ARGUMENT'],
    ['a size of 0', { name: 'pvc-hostile', size_bytes: 0 }, 'INVALID_ARGUMENT'],
    ['a size of 2^64 - 1', { name: 'pvc-hostile', size_bytes: UINT64_MAX }, 'OUT_OF_RANGE'],
    ['a size of -1 (2^64 - 1 once encoded as uint64)', { name: 'pvc-hostile', size_bytes: '-1' }, 'OUT_OF_RANGE'],
    ['a size of 4 PiB', { name: 'pvc-hostile', size_bytes: FOUR_PIB }, 'OUT_OF_RANGE'],
    ['a snapshot source with an empty id', { name: 'pvc-hostile', size_bytes: 64 * MiB, content_source: { snapshot_id: '' } }, 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`a snapshot source with ${what}`, { name: 'pvc-hostile', size_bytes: 64 * MiB, content_source: { snapshot_id: id } }, 'INVALID_ARGUMENT']),
    ['a snapshot source that does not exist', { name: 'pvc-hostile', size_bytes: 64 * MiB, content_source: { snapshot_id: LV_SNAPSHOT } }, 'NOT_FOUND'],
    ['a volume id as snapshot source', (f) => ({ name: 'pvc-hostile', size_bytes: 64 * MiB, content_source: { snapshot_id: f.agentVolumeId } }), 'INVALID_ARGUMENT'],
    ['a volume source that does not exist', { name: 'pvc-hostile', size_bytes: 64 * MiB, content_source: { volume_id: LV_VOLUME } }, 'NOT_FOUND'],
    ['the name of an existing volume with another size', { name: 'pvc-fixture', size_bytes: 128 * MiB }, 'ALREADY_EXISTS'],
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
  ]),
  ...rows('agentVolumes', 'ExpandVolume', [
    ['no id', { id: '', size_bytes: 128 * MiB }, 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`an id with ${what}`, { id, size_bytes: 128 * MiB }, 'INVALID_ARGUMENT']),
    ['a snapshot id', (f) => ({ id: f.agentSnapshotId, size_bytes: 128 * MiB }), 'INVALID_ARGUMENT'],
    ['a volume that does not exist', { id: LV_VOLUME, size_bytes: 128 * MiB }, 'NOT_FOUND'],
    ['a size of 0', (f) => ({ id: f.agentVolumeId, size_bytes: 0 }), 'INVALID_ARGUMENT'],
    ['a size of 2^64 - 1', (f) => ({ id: f.agentVolumeId, size_bytes: UINT64_MAX }), 'OUT_OF_RANGE'],
    ['a size of 4 PiB', (f) => ({ id: f.agentVolumeId, size_bytes: FOUR_PIB }), 'OUT_OF_RANGE'],
  ]),
  ...rows('agentVolumes', 'DeleteVolume', [
    ['no id', { id: '' }, 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`an id with ${what} (never given out, so gone)`, { id }, 'OK']),
    ['a snapshot id, which must not delete the snapshot', (f) => ({ id: f.agentSnapshotId }), 'OK'],
    ['a volume that does not exist (already gone)', { id: LV_VOLUME }, 'OK'],
    ['a volume that still has snapshots', (f) => ({ id: f.agentVolumeId }), 'FAILED_PRECONDITION'],
  ]),
  ...rows('agentVolumes', 'GetVolume', [
    ['no id', { id: '' }, 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`an id with ${what}`, { id }, 'INVALID_ARGUMENT']),
    ['a volume that does not exist', { id: LV_VOLUME }, 'NOT_FOUND'],
  ]),
  ...rows('agentVolumes', 'ListVolumes', [
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
    ['only an unknown field', UNKNOWN_FIELD_ONLY, 'OK'],
  ]),
  ...rows('agentVolumes', 'CreateSnapshot', [
    ['no name', (f) => ({ name: '', source_volume_id: f.agentVolumeId }), 'INVALID_ARGUMENT'],
    ['a 4 KiB name', (f) => ({ name: KiB4, source_volume_id: f.agentVolumeId }), 'INVALID_ARGUMENT'],
    ['no source', { name: 'snap-hostile', source_volume_id: '' }, 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`a source with ${what}`, { name: 'snap-hostile', source_volume_id: id }, 'INVALID_ARGUMENT']),
    ['a snapshot as source', (f) => ({ name: 'snap-hostile', source_volume_id: f.agentSnapshotId }), 'INVALID_ARGUMENT'],
    ['a source that does not exist', { name: 'snap-hostile', source_volume_id: LV_VOLUME }, 'NOT_FOUND'],
  ]),
  ...rows('agentVolumes', 'DeleteSnapshot', [
    ['no id', { id: '' }, 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`an id with ${what} (never given out, so gone)`, { id }, 'OK']),
    ['a volume id, which must not delete the volume', (f) => ({ id: f.agentVolumeId }), 'OK'],
    ['a snapshot that does not exist (already gone)', { id: LV_SNAPSHOT }, 'OK'],
  ]),
  ...rows('agentVolumes', 'GetSnapshot', [
    ['no id', { id: '' }, 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`an id with ${what}`, { id }, 'INVALID_ARGUMENT']),
    ['a snapshot that does not exist', { id: LV_SNAPSHOT }, 'NOT_FOUND'],
  ]),
  ...rows('agentVolumes', 'ListSnapshots', [
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`a source volume id with ${what} (an empty list)`, { source_volume_id: id }, 'OK']),
    ['undecodable bytes', GARBAGE, 'INTERNAL'],
  ]),
  ...rows('agentVolumes', 'Export', [
    ['no volume id', { volume_id: '', initiator_iqn: WORKER_IQN }, 'INVALID_ARGUMENT'],
    ['no initiator', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: '' }), 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id, initiator_iqn: WORKER_IQN }, 'INVALID_ARGUMENT']),
    ['a volume that does not exist', { volume_id: LV_VOLUME, initiator_iqn: WORKER_IQN }, 'NOT_FOUND'],
    ['an initiator that is a path', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: '../../../sys/kernel/config' }), 'INVALID_ARGUMENT'],
    ['a 4 KiB initiator name', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: `iqn.2026-11.io.test:${KiB4}` }), 'INVALID_ARGUMENT'],
    ['an initiator name with a slash', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: 'iqn.2026-11.io.test:a/../../b' }), 'INVALID_ARGUMENT'],
    ['an initiator name with a newline inside', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: 'iqn.2026-11.io.test:a\nb' }), 'INVALID_ARGUMENT'],
    ['an initiator name with a NUL byte', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: 'iqn.2026-11.io.test:a\u0000b' }), 'INVALID_ARGUMENT'],
  ]),
  ...rows('agentVolumes', 'Unexport', [
    ['no volume id', { volume_id: '', initiator_iqn: WORKER_IQN }, 'INVALID_ARGUMENT'],
    ['no initiator', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: '' }), 'INVALID_ARGUMENT'],
    ...HOSTILE_LV_IDS.map(([what, id]): Row => [`a volume id with ${what}`, { volume_id: id, initiator_iqn: WORKER_IQN }, 'INVALID_ARGUMENT']),
    ['an initiator that is a path', (f) => ({ volume_id: f.agentVolumeId, initiator_iqn: '../../../sys/kernel/config' }), 'INVALID_ARGUMENT'],
    ['a volume that does not exist (nothing to remove)', { volume_id: LV_VOLUME, initiator_iqn: WORKER_IQN }, 'OK'],
  ]),
];

/** Every case, grouped by service. */
export const BAD_INPUT_CORPUS: readonly BadInputCase[] = [...identity, ...controller, ...node, ...agentStatus, ...agentVolumes];
