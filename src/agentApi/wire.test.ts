import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import type { ChapCredentials__Output } from '../generated/vbs/agent/v1/ChapCredentials.ts';
import type { CreateVolumeRequest__Output } from '../generated/vbs/agent/v1/CreateVolumeRequest.ts';
import type { ExportRequest__Output } from '../generated/vbs/agent/v1/ExportRequest.ts';
import type { ExportResponse__Output } from '../generated/vbs/agent/v1/ExportResponse.ts';
import type { GetChapCredentialsResponse__Output } from '../generated/vbs/agent/v1/GetChapCredentialsResponse.ts';
import type { GetMirrorRecordResponse__Output } from '../generated/vbs/agent/v1/GetMirrorRecordResponse.ts';
import type { SetMirrorRecordRequest__Output } from '../generated/vbs/agent/v1/SetMirrorRecordRequest.ts';
import type { SetMirrorRecordResponse__Output } from '../generated/vbs/agent/v1/SetMirrorRecordResponse.ts';
import type { GetSnapshotResponse__Output } from '../generated/vbs/agent/v1/GetSnapshotResponse.ts';
import type { GetVolumeResponse__Output } from '../generated/vbs/agent/v1/GetVolumeResponse.ts';
import type { ListSnapshotsRequest__Output } from '../generated/vbs/agent/v1/ListSnapshotsRequest.ts';
import type { NodeStatus__Output } from '../generated/vbs/agent/v1/NodeStatus.ts';
import type { UnexportRequest__Output } from '../generated/vbs/agent/v1/UnexportRequest.ts';
import { loadAgentProto } from '../grpc/loadProtos.ts';
import { buildAgentId } from './ids.ts';
import type { AgentExport, AgentMirror, AgentSnapshot, AgentTarget, AgentVolume, CreateAgentVolumeRequest, ExportAgentVolumeRequest, SetMirrorRecordRequest, SetMirrorRecordResult } from './types.ts';
import {
  chapFromWire,
  chapToWire,
  createVolumeRequestFromWire,
  createVolumeRequestToWire,
  exportResponseFromWire,
  credentialsFromWire,
  exportRequestFromWire,
  exportRequestToWire,
  exportResponseToWire,
  credentialsToWire,
  mirrorFromWire,
  mirrorRecordResponseFromWire,
  mirrorRecordResponseToWire,
  requireSize,
  setMirrorRecordRequestFromWire,
  setMirrorRecordRequestToWire,
  setMirrorRecordResultFromWire,
  setMirrorRecordResultToWire,
  snapshotFilterFromWire,
  snapshotFilterToWire,
  snapshotFromWire,
  snapshotToWire,
  statusFromWire,
  targetToWire,
  volumeFromWire,
  volumeInitiatorFromWire,
  volumeInitiatorToWire,
  volumeToWire,
} from './wire.ts';

describe('requireSize', () => {
  it('refuses a size that is not a positive whole number', () => {
    for (const bad of [0, -1, 0.5, Number.NaN]) assert.throws(() => requireSize(bad, 'size_bytes'), InvalidArgumentError, String(bad));
  });

  it('passes a huge uint64 such as 2^64 - 1 on, so the agent answers OUT_OF_RANGE for it rather than INVALID_ARGUMENT', () => {
    assert.equal(requireSize(2 ** 64, 'size_bytes'), 2 ** 64);
  });
});

/**
 * Round trips through the bytes grpc-js really sends: domain → wire → the loaded proto's
 * serializer → its deserializer (proto-loader options as in production) → domain.
 */
describe('wire conversion round trips', () => {
  const v1 = loadAgentProto().vbs.agent.v1;
  const volumes = v1.AgentVolumes.service;
  const viaResponse = <K extends keyof typeof volumes>(method: K, message: unknown): unknown => {
    const def = volumes[method] as unknown as { responseSerialize: (m: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown };
    return def.responseDeserialize(def.responseSerialize(message));
  };
  const viaRequest = <K extends keyof typeof volumes>(method: K, message: unknown): unknown => {
    const def = volumes[method] as unknown as { requestSerialize: (m: unknown) => Buffer; requestDeserialize: (b: Buffer) => unknown };
    return def.requestDeserialize(def.requestSerialize(message));
  };

  const target: AgentTarget = { iqn: 'iqn.2026-11.io.vbs:store-a:vbs-vol-x', portal: { ip: 'fd00::1', port: 3260 }, lun: 0, serial: '6001405abcdef' };
  const base: AgentVolume = {
    id: buildAgentId('pvc-1', 'volume'),
    name: 'pvc-1',
    sizeBytes: 2 ** 40 + 4 * 1024 * 1024,
    thin: false,
    contentSource: undefined,
    createdAt: new Date(1_700_000_000_987),
    target,
    initiators: [],
  };
  const mirror: AgentMirror = {
    slot: 2,
    headerBytes: 4 * 2 ** 20,
    record: { generation: 2 ** 40 + 3, copies: [{ node: 'store-a', inSync: true }, { node: 'store-b', inSync: false }, { node: 'store-c.zone-2', inSync: true }], regionBytes: 2 ** 21 },
  };
  const cases: Record<string, AgentVolume> = {
    'without content source or initiators': base,
    'from a snapshot': { ...base, thin: true, contentSource: { kind: 'snapshot', id: buildAgentId('snap-1', 'snapshot') } },
    'cloned from a volume': { ...base, thin: true, contentSource: { kind: 'volume', id: buildAgentId('pvc-0', 'volume') } },
    'with initiators read-write, read-only and mutual': {
      ...base,
      initiators: [
        { iqn: 'iqn.1993-08.org.debian:01:w1', readOnly: false, mutualChap: false },
        { iqn: 'iqn.1993-08.org.debian:01:w2', readOnly: true, mutualChap: false },
        { iqn: 'iqn.1993-08.org.debian:01:w3', readOnly: true, mutualChap: true },
      ],
    },
    'that is a copy of a replicated volume': { ...base, thin: true, mirror },
  };
  for (const [what, v] of Object.entries(cases)) {
    test(`a volume ${what}`, () => {
      const decoded = viaResponse('GetVolume', { volume: volumeToWire(v) }) as GetVolumeResponse__Output;
      assert.deepEqual(volumeFromWire(decoded.volume), v);
    });
  }

  test('a volume from an agent that sends bare initiator IQNs reads them as read-write one-way CHAP', () => {
    const wire = { ...volumeToWire(cases['with initiators read-write, read-only and mutual']!), initiator_details: [] };
    const decoded = viaResponse('GetVolume', { volume: wire }) as GetVolumeResponse__Output;
    assert.deepEqual(volumeFromWire(decoded.volume).initiators.map((i) => [i.readOnly, i.mutualChap]), [[false, false], [false, false], [false, false]]);
  });

  test('a snapshot, ready or not', () => {
    for (const readyToUse of [true, false]) {
      const s: AgentSnapshot = { id: buildAgentId('snap-1', 'snapshot'), name: 'snap-1', sourceVolumeId: base.id, sizeBytes: 3 * 2 ** 30, createdAt: new Date(1_700_000_001_001), readyToUse };
      const decoded = viaResponse('GetSnapshot', { snapshot: snapshotToWire(s) }) as GetSnapshotResponse__Output;
      assert.deepEqual(snapshotFromWire(decoded.snapshot), s);
    }
  });

  test("an export's target (no secret on the controller's link), and a node's target and CHAP credentials, one-way and mutual", () => {
    assert.deepEqual(exportResponseFromWire(viaResponse('Export', exportResponseToWire({ target })) as ExportResponse__Output), { target });
    const oneWay: AgentExport = { target, chap: { username: 'vbs-aaaa', password: 'secret-one-123456789012' } };
    const mutual: AgentExport = { target, chap: { ...oneWay.chap, mutual: { username: 'vbs-t-bbbb', password: 'secret-two-123456789012' } } };
    // A volume export carrying credentials would not even encode them: the field is reserved.
    assert.equal(Object.keys(viaResponse('Export', { ...exportResponseToWire({ target }), chap: oneWay.chap } as never) as object).includes('chap'), false);
    for (const e of [oneWay, mutual]) {
      const creds = v1.AgentCredentials.service.GetChapCredentials as unknown as { responseSerialize: (m: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown };
      assert.deepEqual(credentialsFromWire(creds.responseDeserialize(creds.responseSerialize(credentialsToWire(e))) as GetChapCredentialsResponse__Output), e);
      assert.deepEqual(chapFromWire(chapToWire(e.chap) as ChapCredentials__Output), e.chap);
    }
  });

  test("a copy's record, read and compare-and-set, through the AgentCredentials service", () => {
    const creds = v1.AgentCredentials.service;
    const via = (method: 'GetMirrorRecord' | 'SetMirrorRecord', side: 'request' | 'response', message: unknown): unknown => {
      const def = creds[method] as unknown as Record<string, (m: unknown) => unknown>;
      return def[`${side}Deserialize`]!(def[`${side}Serialize`]!(message));
    };
    assert.deepEqual(mirrorRecordResponseFromWire(via('GetMirrorRecord', 'response', mirrorRecordResponseToWire(mirror)) as GetMirrorRecordResponse__Output), mirror);
    const req: SetMirrorRecordRequest = { volumeId: base.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w1', expectedGeneration: 2 ** 40 + 3, record: { ...mirror.record, generation: 2 ** 40 + 4 } };
    assert.deepEqual(setMirrorRecordRequestFromWire(via('SetMirrorRecord', 'request', setMirrorRecordRequestToWire(req)) as SetMirrorRecordRequest__Output), req);
    for (const applied of [true, false]) {
      const result: SetMirrorRecordResult = { applied, current: mirror };
      assert.deepEqual(setMirrorRecordResultFromWire(via('SetMirrorRecord', 'response', setMirrorRecordResultToWire(result)) as SetMirrorRecordResponse__Output), result);
    }
    // What the agent receives without a record, and answers without one, are errors; a volume without a mirror is a single copy.
    assert.throws(() => setMirrorRecordRequestFromWire(via('SetMirrorRecord', 'request', { volume_id: base.id, initiator_iqn: 'iqn.1993-08.org.debian:01:w1', expected_generation: 1 }) as SetMirrorRecordRequest__Output), (err: unknown) => err instanceof InvalidArgumentError && /record is required/.test(err.message));
    assert.throws(() => setMirrorRecordRequestFromWire(via('SetMirrorRecord', 'request', { volume_id: '', initiator_iqn: 'x', record: {} }) as SetMirrorRecordRequest__Output), /volume_id is required/);
    assert.throws(() => mirrorRecordResponseFromWire(via('GetMirrorRecord', 'response', {}) as GetMirrorRecordResponse__Output), /no mirror/);
    assert.throws(() => setMirrorRecordResultFromWire(via('SetMirrorRecord', 'response', { applied: true }) as SetMirrorRecordResponse__Output), /no current/);
    assert.throws(() => mirrorFromWire({ slot: 0, header_bytes: 1, record: null }), /no mirror\.record/);
    assert.equal(mirrorFromWire(null), undefined);
  });

  test('requests: create (with and without a source), export, unexport, list snapshots', () => {
    const creates: CreateAgentVolumeRequest[] = [
      { name: 'pvc-1', sizeBytes: 100 * 2 ** 20, thick: true },
      { name: 'pvc-2', sizeBytes: 100 * 2 ** 20, thick: false, contentSource: { kind: 'volume', id: base.id } },
      { name: 'pvc-3', sizeBytes: 100 * 2 ** 20, thick: false, contentSource: { kind: 'snapshot', id: buildAgentId('s', 'snapshot') } },
      { name: 'pvc-4', sizeBytes: 100 * 2 ** 20, thick: false, mirror: { slot: 0, record: mirror.record } },
      { name: 'pvc-5', sizeBytes: 100 * 2 ** 20, thick: true, mirror: { slot: 2, record: mirror.record } },
    ];
    for (const c of creates) assert.deepEqual(createVolumeRequestFromWire(viaRequest('CreateVolume', createVolumeRequestToWire(c)) as CreateVolumeRequest__Output), c);
    for (const readOnly of [true, false]) {
      for (const mutualChap of [true, false]) {
        const e: ExportAgentVolumeRequest = { volumeId: base.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w1', readOnly, mutualChap };
        assert.deepEqual(exportRequestFromWire(viaRequest('Export', exportRequestToWire(e)) as ExportRequest__Output), e);
      }
    }
    const u = { volumeId: base.id, initiatorIqn: 'iqn.1993-08.org.debian:01:w1' };
    assert.deepEqual(volumeInitiatorFromWire(viaRequest('Unexport', volumeInitiatorToWire(u)) as UnexportRequest__Output), u);
    for (const f of [{}, { sourceVolumeId: base.id }]) {
      assert.deepEqual(snapshotFilterFromWire(viaRequest('ListSnapshots', snapshotFilterToWire(f)) as ListSnapshotsRequest__Output), f);
    }
  });

  test('requests the agent receives with a required field left empty are INVALID_ARGUMENT naming it', () => {
    assert.throws(() => createVolumeRequestFromWire(viaRequest('CreateVolume', { name: '', size_bytes: 1 }) as CreateVolumeRequest__Output), /name is required/);
    assert.throws(() => createVolumeRequestFromWire(viaRequest('CreateVolume', { name: 'x', size_bytes: 0 }) as CreateVolumeRequest__Output), /size_bytes must be/);
    assert.throws(() => createVolumeRequestFromWire(viaRequest('CreateVolume', { name: 'x', size_bytes: 1, content_source: { snapshot_id: '' } }) as CreateVolumeRequest__Output), InvalidArgumentError);
    assert.throws(() => createVolumeRequestFromWire(viaRequest('CreateVolume', { name: 'x', size_bytes: 1, mirror: { slot: 0 } }) as CreateVolumeRequest__Output), /mirror\.record is required/);
    assert.throws(() => exportRequestFromWire(viaRequest('Export', { volume_id: base.id }) as ExportRequest__Output), /initiator_iqn is required/);
  });

  test('an answer without the parts the controller needs is an error, not a half-filled object', () => {
    assert.throws(() => volumeFromWire(null), /no volume/);
    assert.throws(() => exportResponseFromWire({ target: null } as ExportResponse__Output), /no target/);
    assert.throws(() => credentialsFromWire({ target: null, chap: chapToWire({ username: 'u', password: 'p' }) } as GetChapCredentialsResponse__Output), /no target/);
    assert.throws(() => credentialsFromWire({ target: targetToWire(target), chap: null } as GetChapCredentialsResponse__Output), /no chap/);
  });

  test("a node status, as the agent's reporter sends it, condensed for placement", () => {
    const status = v1.AgentStatus.service.GetNodeStatus as unknown as { responseSerialize: (m: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown };
    const wire = {
      node_name: 'store-a', ready: true, labels: { tier: 'ssd', zone: 'z1' },
      volume_group: { name: 'vg0', size_bytes: 2 ** 41, free_bytes: 2 ** 40, extent_size_bytes: 4 * 2 ** 20 },
      thin_pool: { name: 'pool', size_bytes: 2 ** 40, data_percent: 10, metadata_percent: 2, provisioned_bytes: 2 ** 39, overprovision_ratio: 2, allocatable_bytes: 3 * 2 ** 39, health: 'ok' },
      io_load: { read_iops: 1, write_iops: 2, read_bytes_per_second: 3, write_bytes_per_second: 4, utilization: 0.25, average_latency_ms: 1.5, window_seconds: 10, devices: [] },
      portal: { ip: '10.0.0.1', port: 3260 }, volume_count: 7, snapshot_count: 2,
    };
    assert.deepEqual(statusFromWire(status.responseDeserialize(status.responseSerialize(wire)) as NodeStatus__Output), {
      name: 'store-a', ready: true, labels: { tier: 'ssd', zone: 'z1' }, extentSizeBytes: 4 * 2 ** 20, thinAllocatableBytes: 3 * 2 ** 39, vgFreeBytes: 2 ** 40,
      thinPoolHealth: 'ok', thinPoolDataUsedRatio: 0.1, thinPoolMetadataUsedRatio: 0.02, utilization: 0.25, averageLatencyMs: 1.5, volumeCount: 7,
    });
  });

  test('a node status with missing parts reads as nothing to offer', () => {
    const s = statusFromWire({
      node_name: 'store-a', ready: true, labels: { tier: 'ssd' },
      volume_group: { name: 'vg0', size_bytes: 10, free_bytes: 7, extent_size_bytes: 4 },
      thin_pool: null, io_load: null, portal: null, volume_count: 3, snapshot_count: 1,
    } as NodeStatus__Output);
    assert.deepEqual(s, {
      name: 'store-a', ready: true, labels: { tier: 'ssd' }, extentSizeBytes: 4, thinAllocatableBytes: 0, vgFreeBytes: 7,
      thinPoolHealth: 'unknown', utilization: 0, averageLatencyMs: 0, volumeCount: 3,
    });
  });
});
