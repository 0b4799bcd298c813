import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { deriveChapCredentials } from '../chap/index.ts';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OperationPendingError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
} from '../errors.ts';
import { ConfigFsError, LioTarget, buildTargetIqn, buildUnitSerial } from '../lio/index.ts';
import type { AclSpec, ExportReport, ExportSpec, ExportSummary } from '../lio/index.ts';
import { SimulatedLioConfigFs } from '../lio/testing/SimulatedLioConfigFs.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { AgentVolumes } from './AgentVolumes.ts';
import type { AgentLio } from './AgentVolumes.ts';
import { InMemoryLvm } from './testing/InMemoryLvm.ts';
import { RecordingZeroer } from './testing/RecordingZeroer.ts';
import type { AgentVolume } from '../agentApi/types.ts';
import { lvUuidKey } from './targetIdentity.ts';
import { buildAclTag, buildAclTagKey } from './volumeTags.ts';
import { growthLvNameOf } from './thickGrowth.ts';
import { MIRROR_HEADER_BYTES, initialMirrorRecord, markAllInSync, markOutOfSync, maxBytesFor } from '../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';

const MiB = 1024 * 1024;
const PREFIX = 'iqn.2026-11.io.vbs-test';
const PORTAL = { ip: '127.0.0.2', port: 3260 };
const KEY = Buffer.alloc(32, 7);
const NOW = new Date('2026-11-23T12:00:00.000Z');
const NODE_A = 'iqn.1993-08.org.debian:01:node-a';
const NODE_B = 'iqn.1993-08.org.debian:01:node-b';
/** The storage node the agent under test serves, and two others. */
const STORE = 'store-a';
const OTHER = 'store-b';
const THIRD = 'store-c';

/** LioTarget with every mutating call noted in the shared journal, and failures on demand. */
class RecordingLio implements AgentLio {
  readonly inner: LioTarget;
  readonly journal: string[];
  readonly failures = new Map<string, Error>();
  #unexportGate: Promise<void> | undefined;
  #unexportEntered: (() => void) | undefined;
  constructor(inner: LioTarget, journal: string[]) {
    this.inner = inner;
    this.journal = journal;
  }
  /** The next unexports block (as a configfs write the kernel holds while it drains I/O) until released. */
  holdUnexport(): { release: () => void; entered: Promise<void> } {
    const gate = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    this.#unexportGate = gate.promise;
    this.#unexportEntered = entered.resolve;
    return {
      release: () => {
        this.#unexportGate = undefined;
        gate.resolve();
      },
      entered: entered.promise,
    };
  }
  #note(line: string, method: string): void {
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
    this.journal.push(`lio ${line}`);
  }
  async exportVolume(spec: ExportSpec): Promise<ExportReport> {
    this.#note(`export ${spec.backstoreName}`, 'exportVolume');
    return this.inner.exportVolume(spec);
  }
  async addAcl(targetIqn: string, acl: AclSpec, opts?: { readonly readOnly?: boolean }): Promise<ExportReport> {
    this.#note(`addAcl ${acl.initiatorIqn}`, 'addAcl');
    return this.inner.addAcl(targetIqn, acl, opts);
  }
  async removeAcl(targetIqn: string, initiatorIqn: string): Promise<boolean> {
    this.#note(`removeAcl ${initiatorIqn}`, 'removeAcl');
    return this.inner.removeAcl(targetIqn, initiatorIqn);
  }
  async unexportVolume(targetIqn: string, backstoreName: string, opts?: { readonly keepBackstore?: boolean }): Promise<ExportReport> {
    this.#note(`unexport ${backstoreName}`, 'unexportVolume');
    if (this.#unexportGate) {
      this.#unexportEntered?.();
      await this.#unexportGate;
    }
    return this.inner.unexportVolume(targetIqn, backstoreName, opts);
  }
  readExport(targetIqn: string, opts?: { readonly includeSecrets?: boolean }): Promise<ExportSummary | undefined> {
    return this.inner.readExport(targetIqn, opts);
  }
  listExports(opts?: { readonly includeSecrets?: boolean }): Promise<ExportSummary[]> {
    return this.inner.listExports(opts);
  }
}

/** `p`, or a rejection naming what waited when it takes longer than `ms`. */
async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (still waiting after ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function retryWhilePendingValue<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err: unknown) {
      if (!(err instanceof OperationPendingError)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

async function retryWhilePending(fn: () => Promise<void>): Promise<void> {
  await retryWhilePendingValue(fn);
}

describe('AgentVolumes', () => {
  let sim: SimulatedLioConfigFs;
  let target: LioTarget;
  let lio: RecordingLio;
  let lvm: InMemoryLvm;
  let journal: string[];
  let volumes: AgentVolumes;
  let zeroer: RecordingZeroer;

  const make = (overrides: { overprovisionRatio?: number; unexportDeadlineMs?: number; storageNode?: string | null } = {}): AgentVolumes =>
    new AgentVolumes({
      lvm,
      lio,
      chapKey: KEY,
      portal: PORTAL,
      ...(overrides.storageNode === null ? {} : { storageNode: overrides.storageNode ?? STORE }),
      iqnPrefix: PREFIX,
      overprovisionRatio: overrides.overprovisionRatio ?? 2,
      ...(overrides.unexportDeadlineMs !== undefined ? { unexportDeadlineMs: overrides.unexportDeadlineMs } : {}),
      zeroer,
      log: pino({ level: 'silent' }),
      clock: () => NOW,
    });

  beforeEach(async () => {
    journal = [];
    sim = await SimulatedLioConfigFs.create();
    target = new LioTarget({ configFs: sim });
    lio = new RecordingLio(target, journal);
    lvm = new InMemoryLvm({ journal, poolSizeBytes: 1024 * MiB });
    zeroer = new RecordingZeroer(journal);
    // LIO's iblock backstore holds the LV open while it is enabled (docs/field-notes.md 4.3).
    lvm.isOpen = async (lv) => (await sim.readAttr(`core/iblock_0/${lv.name}/enable`))?.trim() === '1';
    volumes = make();
  });
  afterEach(async () => sim.destroy());

  const exportOf = (iqn: string) => target.readExport(iqn, { includeSecrets: true });
  const create = (name: string, sizeBytes = 100 * MiB, extra: Partial<Parameters<AgentVolumes['createVolume']>[0]> = {}): Promise<AgentVolume> =>
    volumes.createVolume({ name, sizeBytes, thick: false, ...extra });

  describe('createVolume', () => {
    test('creates a tagged thin LV and exports it with no initiator allowed', async () => {
      const vol = await create('pvc-1', 100 * MiB + 1);
      const id = buildAgentId('pvc-1', 'volume');
      const lv = await lvm.findVolume(id);
      assert.ok(lv);
      assert.deepEqual(vol, {
        id,
        name: 'pvc-1',
        sizeBytes: 104 * MiB,
        thin: true,
        contentSource: undefined,
        createdAt: NOW,
        target: { iqn: buildTargetIqn(PREFIX, `${id}.${lvUuidKey(lv.uuid)}`), portal: PORTAL, lun: 0, serial: buildUnitSerial(lv.uuid) },
        initiators: [],
      });
      assert.deepEqual(lv.tags, { kind: 'volume', name: 'pvc-1', created: String(NOW.getTime()), provisioning: 'thin', identity: 'lv-uuid' });
      const exported = await exportOf(vol.target.iqn);
      assert.equal(exported?.enabled, true);
      assert.deepEqual(exported?.acls, []);
      assert.deepEqual(exported?.luns[0]?.backstore, { plugin: 'iblock', hbaIndex: 0, name: id, devicePath: `/dev/vg0/${id}`, serial: vol.target.serial, enabled: true, thin: true });
    });

    test('returns the same volume for the same name, comparing sizes after rounding to whole extents', async () => {
      const first = await create('pvc-1', 100 * MiB + 1);
      const again = await create('pvc-1', 104 * MiB);
      const unrounded = await create('pvc-1', 100 * MiB + 1);
      assert.deepEqual(again, first);
      assert.deepEqual(unrounded, first);
      assert.equal(journal.filter((l) => l.startsWith('lvm create')).length, 1);
    });

    test('answers ALREADY_EXISTS for the same name with another size, provisioning or source', async () => {
      await create('pvc-1', 100 * MiB);
      await assert.rejects(create('pvc-1', 200 * MiB), AlreadyExistsError);
      await assert.rejects(create('pvc-1', 100 * MiB, { thick: true }), AlreadyExistsError);
      const snap = await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: buildAgentId('pvc-1', 'volume') });
      await assert.rejects(create('pvc-1', 100 * MiB, { contentSource: { kind: 'snapshot', id: snap.id } }), AlreadyExistsError);
    });

    test('exports an LV a crash left unexported when the create is retried, without a second lvcreate', async () => {
      lio.failures.set('exportVolume', new Error('agent died'));
      lvm.isOpen = async () => true; // the crashed agent could not even roll back
      await assert.rejects(create('pvc-1'), /agent died/);
      const id = buildAgentId('pvc-1', 'volume');
      assert.ok(await lvm.findVolume(id), 'the LV outlived the failed export');
      journal.length = 0;
      const vol = await create('pvc-1');
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true);
      assert.deepEqual(journal.filter((l) => l.startsWith('lvm')), []);
    });

    test('rolls back the LV it created when the export fails, and leaves no target behind', async () => {
      sim.crashAtOp = 6; // part-way through the export: backstore enabled, target not yet complete
      await assert.rejects(create('pvc-1'), ConfigFsError);
      assert.deepEqual(lvm.names(), []);
      assert.deepEqual(await target.listExports(), []);
      assert.equal(await sim.exists(`core/iblock_0/${buildAgentId('pvc-1', 'volume')}`), false, 'the backstore was removed before the LV');
      // And a retry simply works.
      const vol = await create('pvc-1');
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true);
    });

    test('never removes an LV that existed before the call, even when its export fails', async () => {
      const vol = await create('pvc-1');
      const id = buildAgentId('pvc-1', 'volume');
      await target.unexportVolume(vol.target.iqn, id);
      lio.failures.set('exportVolume', new Error('configfs trouble'));
      await assert.rejects(create('pvc-1'), /configfs trouble/);
      assert.ok(await lvm.findVolume(id));
    });

    test('refuses a thin volume the pool may not promise with RESOURCE_EXHAUSTED and a way out', async () => {
      await create('big-1', 1500 * MiB); // ratio 2 over a 1 GiB pool: 2 GiB may be promised
      await assert.rejects(create('big-2', 600 * MiB), (err: unknown) => {
        assert.ok(err instanceof ResourceExhaustedError);
        assert.match(err.message, /at ratio 2/);
        assert.match(err.message, /extend the pool/);
        return true;
      });
      lvm.pool.dataPercent = 95;
      await assert.rejects(create('small', 4 * MiB), /data 95% at or over the 90% limit/);
      lvm.pool.dataPercent = 10;
      lvm.pool.metadataPercent = 85;
      await assert.rejects(create('small', 4 * MiB), /metadata 85% at or over the 80% limit/);
      assert.equal(await lvm.findVolume(buildAgentId('small', 'volume')), undefined);
    });

    test('refuses a thick volume larger than the free space of the VG', async () => {
      lvm.vgFreeBytes = 64 * MiB;
      await assert.rejects(create('thick-1', 100 * MiB, { thick: true }), ResourceExhaustedError);
      const vol = await create('thick-2', 60 * MiB, { thick: true });
      assert.equal(vol.thin, false);
      assert.equal((await exportOf(vol.target.iqn))?.luns[0]?.backstore?.thin, false, 'a thick LV does not advertise UNMAP');
    });

    test('admits a burst one at a time, so two creates cannot both take the last room', async () => {
      volumes = make({ overprovisionRatio: 1 });
      const results = await Promise.allSettled([create('burst-1', 600 * MiB), create('burst-2', 600 * MiB)]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const refused = results.find((r) => r.status === 'rejected');
      assert.ok(refused?.reason instanceof ResourceExhaustedError);
    });

    test('validates name and size', async () => {
      await assert.rejects(create('', 1), InvalidArgumentError);
      await assert.rejects(create('x'.repeat(129), 1), InvalidArgumentError);
      await assert.rejects(create('pvc', 0), InvalidArgumentError);
      await assert.rejects(create('pvc', 1.5), InvalidArgumentError);
      await assert.rejects(create('pvc', 2 ** 51), OutOfRangeError);
      await assert.rejects(create('pvc', 1, { contentSource: { kind: 'snapshot', id: '../etc' } }), InvalidArgumentError);
      const maxName = 'n'.repeat(128);
      assert.equal((await create(maxName, 1)).name, maxName, 'a 128-byte name is fine (csi-sanity checks it)');
    });
  });

  describe('createVolume from a content source', () => {
    test('restores a snapshot as an active thin snapshot without the skip flag, extended to a larger request', async () => {
      const src = await create('pvc-1', 100 * MiB);
      const snap = await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: src.id });
      const restored = await create('restored', 200 * MiB, { contentSource: { kind: 'snapshot', id: snap.id } });
      assert.equal(restored.sizeBytes, 200 * MiB);
      assert.deepEqual(restored.contentSource, { kind: 'snapshot', id: snap.id });
      const lv = await lvm.findVolume(restored.id);
      assert.equal(lv?.isActive, true);
      assert.equal(lv?.attr.hasActivationSkip, false);
      assert.equal(lv?.origin, snap.id);
      assert.notEqual(restored.target.serial, src.target.serial, 'a clone has its own serial');
      assert.equal((await exportOf(restored.target.iqn))?.enabled, true);
      assert.ok(journal.includes(`lvm snapshot ${snap.id} as ${restored.id} activate=true`));
      assert.ok(journal.includes(`lvm extend ${restored.id} ${200 * MiB}`));
    });

    test('a retry after a crash between lvcreate -s and lvextend finishes the extend instead of answering ALREADY_EXISTS', async () => {
      const src = await create('pvc-1', 100 * MiB);
      const snap = await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: src.id });
      const fromSnap = { contentSource: { kind: 'snapshot', id: snap.id } } as const;
      // As a kill -9 between the two steps leaves it: the clone at its source's size, nothing rolled back.
      lvm.failNext('extendVolume', new Error('agent killed'));
      lvm.failNext('removeVolume', new Error('agent killed'));
      await assert.rejects(create('restored', 200 * MiB + 1, fromSnap), /agent killed/);
      const id = buildAgentId('restored', 'volume');
      assert.equal((await lvm.findVolume(id))?.sizeBytes, 100 * MiB, 'the crash left the LV at its source size');
      const restored = await create('restored', 200 * MiB + 1, fromSnap);
      assert.equal(restored.sizeBytes, 204 * MiB, 'the retry (same request, same rounding) grew it');
      assert.equal((await lvm.findVolume(id))?.sizeBytes, 204 * MiB);
      assert.equal((await exportOf(restored.target.iqn))?.enabled, true);
      assert.equal(journal.filter((l) => l.startsWith('lvm snapshot')).length, 2, 'no second lvcreate (the first snapshot is the parked one)');
      assert.deepEqual(await create('restored', 204 * MiB, fromSnap), restored, 'idempotent once grown');
      await assert.rejects(create('restored', 300 * MiB, fromSnap), AlreadyExistsError);
    });

    test('a clone made at the size asked is not grown by a later request for more: ALREADY_EXISTS', async () => {
      const src = await create('pvc-1', 100 * MiB);
      const fromVol = { contentSource: { kind: 'volume', id: src.id } } as const;
      await create('clone', 100 * MiB, fromVol);
      await assert.rejects(create('clone', 200 * MiB, fromVol), (err: unknown) => {
        assert.ok(err instanceof AlreadyExistsError);
        assert.match(err.message, /104857600 bytes, not 209715200/);
        return true;
      });
      assert.equal(journal.some((l) => l.startsWith('lvm extend')), false);
    });

    test('clones a volume at its own size without an extend', async () => {
      const src = await create('pvc-1', 100 * MiB);
      const clone = await create('clone', 100 * MiB, { contentSource: { kind: 'volume', id: src.id } });
      assert.equal(clone.sizeBytes, 100 * MiB);
      assert.deepEqual(clone.contentSource, { kind: 'volume', id: src.id });
      assert.equal(journal.some((l) => l.startsWith('lvm extend')), false);
      assert.deepEqual(await create('clone', 100 * MiB, { contentSource: { kind: 'volume', id: src.id } }), clone, 'idempotent');
    });

    test('refuses a request smaller than the source with OUT_OF_RANGE', async () => {
      const src = await create('pvc-1', 100 * MiB);
      await assert.rejects(create('clone', 50 * MiB, { contentSource: { kind: 'volume', id: src.id } }), OutOfRangeError);
      assert.equal(await lvm.findVolume(buildAgentId('clone', 'volume')), undefined);
    });

    test('answers NOT_FOUND for a source that is not here, or not of the kind named', async () => {
      const src = await create('pvc-1');
      await assert.rejects(create('c', 100 * MiB, { contentSource: { kind: 'snapshot', id: buildAgentId('nope', 'snapshot') } }), NotFoundError);
      await assert.rejects(create('c', 100 * MiB, { contentSource: { kind: 'volume', id: buildAgentId('nope', 'volume') } }), NotFoundError);
      lvm.seed({ name: buildAgentId('imposter', 'snapshot'), sizeBytes: 100 * MiB, tags: { kind: 'volume', name: 'x' } });
      await assert.rejects(create('c', 100 * MiB, { contentSource: { kind: 'snapshot', id: buildAgentId('imposter', 'snapshot') } }), NotFoundError);
      assert.ok(src);
    });

    test('refuses a thick clone', async () => {
      const src = await create('pvc-1');
      await assert.rejects(create('c', 100 * MiB, { thick: true, contentSource: { kind: 'volume', id: src.id } }), InvalidArgumentError);
    });
  });

  describe('expandVolume', () => {
    test('grows to whole extents and reports the real size', async () => {
      const vol = await create('pvc-1', 100 * MiB);
      const grown = await volumes.expandVolume(vol.id, 150 * MiB + 1);
      assert.equal(grown.sizeBytes, 152 * MiB);
      assert.deepEqual(grown.target, vol.target, 'same target and serial');
    });

    test('never shrinks: a smaller or equal size returns the volume unchanged without lvextend', async () => {
      const vol = await create('pvc-1', 100 * MiB);
      assert.equal((await volumes.expandVolume(vol.id, 10 * MiB)).sizeBytes, 100 * MiB);
      assert.equal((await volumes.expandVolume(vol.id, 100 * MiB)).sizeBytes, 100 * MiB);
      assert.equal(journal.some((l) => l.startsWith('lvm extend')), false);
    });

    test('checks the added bytes against the pool and answers NOT_FOUND for a missing volume', async () => {
      const vol = await create('pvc-1', 1024 * MiB);
      await assert.rejects(volumes.expandVolume(vol.id, 3000 * MiB), ResourceExhaustedError);
      await assert.rejects(volumes.expandVolume(buildAgentId('nope', 'volume'), MiB), NotFoundError);
      await assert.rejects(volumes.expandVolume('nope', MiB), InvalidArgumentError);
    });
  });

  describe('a new volume never shows old data', () => {
    const thickId = buildAgentId('thick-1', 'volume');

    test('a thick volume is zeroed end to end before its first export, and only then untagged', async () => {
      const vol = await create('thick-1', 100 * MiB, { thick: true });
      assert.equal(vol.thin, false);
      const lines = journal.filter((l) => !l.startsWith('lio addAcl'));
      const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
      assert.ok(at('lvm create thick') < at(`zero /dev/vg0/${thickId} 0+${100 * MiB}`), lines.join('\n'));
      assert.ok(at(`zero /dev/vg0/${thickId}`) < at(`lvm deltag ${thickId} zeroing`), lines.join('\n'));
      assert.ok(at(`lvm deltag ${thickId} zeroing`) < at(`lio export ${thickId}`), lines.join('\n'));
      assert.equal((await lvm.findVolume(thickId))?.tags['zeroing'], undefined);
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true);
    });

    test('thin volumes need no zeroing: the pool zeroes blocks it provisions', async () => {
      await create('thin-1');
      assert.equal(journal.some((l) => l.startsWith('zero ')), false);
    });

    test('a zeroing that outlasts the call answers ABORTED with its progress, goes on, and is never exported meanwhile', async () => {
      volumes = new AgentVolumes({ lvm, lio, chapKey: KEY, portal: PORTAL, iqnPrefix: PREFIX, overprovisionRatio: 2, zeroer, zeroingWaitMs: 20, zeroingChunkBytes: 32 * MiB, log: pino({ level: 'silent' }) });
      const held = zeroer.hold();
      await assert.rejects(create('thick-1', 100 * MiB, { thick: true }), (err: unknown) => {
        assert.ok(err instanceof OperationPendingError);
        assert.match(err.message, /is being zeroed before it is handed out \(0 of 104857600 bytes done\); retry/);
        return true;
      });
      await held.entered;
      assert.equal((await lvm.findVolume(thickId))?.tags['zeroing'], '0', 'still tagged');
      assert.deepEqual(await volumes.reconcile(), { repaired: [], removed: [], failed: [] }, 'reconcile leaves it unexported');
      await assert.rejects(volumes.exportVolume({ volumeId: thickId, initiatorIqn: NODE_A, readOnly: false, mutualChap: false }), OperationPendingError);
      assert.deepEqual(await target.listExports(), [], 'no target while any block may hold old data');
      await assert.rejects(create('thick-1', 100 * MiB, { thick: true }), OperationPendingError, 'a retry meets the same job');
      held.release();
      await waitUntil(async () => (await lvm.findVolume(thickId))?.tags['zeroing'] === undefined);
      journal.length = 0;
      const vol = await create('thick-1', 100 * MiB, { thick: true });
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true);
      assert.deepEqual(journal.filter((l) => l.startsWith('lvm create') || l.startsWith('zero ')), [], 'no second lvcreate and no second zeroing');
    });

    test('a zeroing cut short (the agent died) is redone from the start by the retry, and only then exported', async () => {
      zeroer.failNext(new Error('agent killed'));
      await assert.rejects(create('thick-1', 100 * MiB, { thick: true }), /agent killed/);
      assert.ok(await lvm.findVolume(thickId), 'the LV stays for the retry');
      assert.deepEqual(await target.listExports(), []);
      volumes = make(); // a new agent process: no job in memory, only the tag
      assert.deepEqual(await volumes.reconcile(), { repaired: [], removed: [], failed: [] });
      assert.deepEqual(await target.listExports(), [], 'reconcile never exports a volume still tagged for zeroing');
      journal.length = 0;
      const vol = await create('thick-1', 100 * MiB, { thick: true });
      assert.deepEqual(journal.filter((l) => l.startsWith('zero ')), [`zero /dev/vg0/${thickId} 0+${100 * MiB}`]);
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true);
    });

    test('deleting a volume while it is being zeroed stops the zeroing and removes the LV', async () => {
      volumes = new AgentVolumes({ lvm, lio, chapKey: KEY, portal: PORTAL, iqnPrefix: PREFIX, overprovisionRatio: 2, zeroer, zeroingWaitMs: 20, log: pino({ level: 'silent' }) });
      const held = zeroer.hold();
      await assert.rejects(create('thick-1', 100 * MiB, { thick: true }), OperationPendingError);
      await held.entered;
      await volumes.deleteVolume(thickId);
      assert.deepEqual(lvm.names(), []);
      held.release();
    });

    test('expanding a thick volume zeroes the added extents before they join it, so no rescan ever shows them unzeroed', async () => {
      const vol = await create('thick-1', 100 * MiB, { thick: true });
      const growth = growthLvNameOf(thickId);
      journal.length = 0;
      const grown = await volumes.expandVolume(vol.id, 200 * MiB);
      assert.equal(grown.sizeBytes, 200 * MiB);
      const lines = journal.filter((l) => l.startsWith('lvm') || l.startsWith('zero'));
      // The fake hands out extents upwards: the volume has 0-24, the growth LV gets 25-49.
      assert.deepEqual(lines, [
        `lvm create thick ${growth} ${100 * MiB}`,
        `zero /dev/vg0/${growth} 0+${100 * MiB}`,
        `lvm deltag ${growth} zeroing`,
        `lvm remove ${growth}`,
        `lvm extend ${thickId} ${200 * MiB} from /dev/sdb:25-49`,
      ]);
      assert.deepEqual(await lvm.physicalExtentRanges(thickId), ['/dev/sdb:0-24', '/dev/sdb:25-49'], 'the volume grew onto exactly the zeroed extents');
      assert.deepEqual(lvm.names(), [thickId], 'no growth LV left');
    });

    test('a thick expand whose zeroing outlives the wait answers ABORTED, never grows the volume meanwhile, and its retry finishes', async () => {
      volumes = new AgentVolumes({ lvm, lio, chapKey: KEY, portal: PORTAL, iqnPrefix: PREFIX, overprovisionRatio: 2, zeroer, zeroingWaitMs: 20, log: pino({ level: 'silent' }), clock: () => NOW });
      const vol = await create('thick-1', 100 * MiB, { thick: true });
      const held = zeroer.hold();
      await assert.rejects(volumes.expandVolume(vol.id, 200 * MiB), (err: unknown) => err instanceof OperationPendingError && /being zeroed before they join it/.test(err.message));
      assert.equal((await lvm.findVolume(thickId))?.sizeBytes, 100 * MiB, 'the volume (and so the LUN) keeps its size while the zeroing runs');
      held.release();
      const grown = await retryWhilePendingValue(() => volumes.expandVolume(vol.id, 200 * MiB));
      assert.equal(grown.sizeBytes, 200 * MiB);
      assert.deepEqual(lvm.names(), [thickId]);
    });

    test('deleting a thick volume removes the growth LV an interrupted expand left', async () => {
      const vol = await create('thick-1', 100 * MiB, { thick: true });
      lvm.failNext('physicalExtentRanges', new Error('killed'));
      await assert.rejects(volumes.expandVolume(vol.id, 200 * MiB), /killed/);
      assert.deepEqual(lvm.names(), [growthLvNameOf(thickId), thickId].sort());
      await volumes.deleteVolume(vol.id);
      assert.deepEqual(lvm.names(), []);
    });

    test('a volume created again under the same name gets another target IQN and other CHAP secrets', async () => {
      const first = await create('pvc-1');
      await volumes.exportVolume({ volumeId: first.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: true });
      const firstChap = (await volumes.chapCredentials({ volumeId: first.id, initiatorIqn: NODE_A })).chap;
      await volumes.unexportVolume({ volumeId: first.id, initiatorIqn: NODE_A });
      await volumes.deleteVolume(first.id);
      const again = await create('pvc-1');
      await volumes.exportVolume({ volumeId: again.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: true });
      const againChap = (await volumes.chapCredentials({ volumeId: again.id, initiatorIqn: NODE_A })).chap;
      assert.equal(again.id, first.id, 'the id derives from the name');
      assert.notEqual(again.target.iqn, first.target.iqn);
      assert.notEqual(againChap.password, firstChap.password);
      assert.notEqual(againChap.mutual?.password, firstChap.mutual?.password);
      assert.equal(await exportOf(first.target.iqn), undefined, 'nothing answers at the old IQN');
    });

    test('reconcile removes a target left by an earlier LV of the same id', async () => {
      const vol = await create('pvc-1');
      const staleIqn = buildTargetIqn(PREFIX, `${vol.id}.${lvUuidKey('an-earlier-lv-uuid')}`);
      // The earlier LV's target, linking the backstore named after the id, which the current one uses now.
      const backstore = (await exportOf(vol.target.iqn))!.luns[0]!.backstore!;
      await target.exportVolume({ backstoreName: vol.id, devicePath: backstore.devicePath, serial: backstore.serial, targetIqn: staleIqn, portal: PORTAL, thin: true, acls: [] });
      const report = await volumes.reconcile();
      assert.deepEqual(report.removed, [staleIqn]);
      assert.equal(await exportOf(staleIqn), undefined);
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true, 'the current LV keeps its export');
    });

    test('a volume made before identity tags keeps its target IQN and CHAP secrets (no outage on upgrade)', async () => {
      const id = buildAgentId('old-1', 'volume');
      const aclTag = buildAclTag({ iqn: NODE_A, readOnly: false, mutualChap: false });
      const lv = lvm.seed({ name: id, sizeBytes: 64 * MiB, tags: { kind: 'volume', name: 'old-1', created: '1', provisioning: 'thin', [aclTag.key]: aclTag.value } });
      const legacyIqn = buildTargetIqn(PREFIX, id);
      await volumes.reconcile();
      const acl = (await exportOf(legacyIqn))?.acls[0];
      assert.equal(acl?.chapPassword, deriveChapCredentials(KEY, id, NODE_A, { mutual: false }).password);
      assert.equal((await volumes.getVolume(id)).target.iqn, legacyIqn);
      assert.equal((await volumes.getVolume(id)).target.serial, buildUnitSerial(lv.uuid));
      assert.deepEqual(await volumes.reconcile(), { repaired: [], removed: [], failed: [] }, 'and reconcile leaves it alone');
      await volumes.unexportVolume({ volumeId: id, initiatorIqn: NODE_A });
      assert.deepEqual((await exportOf(legacyIqn))?.acls, [], 'unexport fences at the legacy IQN');
      await volumes.deleteVolume(id);
      assert.equal(await exportOf(legacyIqn), undefined);
      assert.deepEqual(lvm.names(), []);
    });
  });

  describe('a thin pool that does not zero', () => {
    test('reconcile turns the pool\'s zeroing on before anything else', async () => {
      lvm.pool.isZeroing = false;
      await volumes.reconcile();
      assert.equal(lvm.pool.isZeroing, true);
      assert.deepEqual(journal, ['lvm zero pool pool']);
      journal.length = 0;
      await volumes.reconcile();
      assert.deepEqual(journal, [], 'a pool that zeroes is left alone');
    });

    test('reconcile reports the pool with the fix in its message when zeroing cannot be turned on, and still repairs the rest', async () => {
      const id = buildAgentId('pvc-1', 'volume');
      lvm.seed({ name: id, sizeBytes: 64 * MiB, tags: { kind: 'volume', name: 'pvc-1', identity: 'lv-uuid' } });
      lvm.pool.isZeroing = false;
      lvm.failNext('enableThinPoolZeroing', new FailedPreconditionError('lvchange refused'));
      const report = await volumes.reconcile();
      assert.equal(report.failed.length, 1);
      assert.equal(report.failed[0]?.object, 'vg0/pool');
      assert.match(report.failed[0]?.error ?? '', /thin pool vg0\/pool does not zero the blocks it provisions .*run lvchange -Z y vg0\/pool; lvchange -Z y failed: lvchange refused/);
      assert.deepEqual(report.repaired, [id], 'fences and exports still converge');
    });

    test('new thin volumes, clones and thin growth are refused while the pool does not zero; thick ones are not', async () => {
      const vol = await create('pvc-1');
      lvm.pool.isZeroing = false;
      await assert.rejects(create('pvc-2'), /does not zero the blocks it provisions/);
      await assert.rejects(create('clone', 100 * MiB, { contentSource: { kind: 'volume', id: vol.id } }), FailedPreconditionError);
      await assert.rejects(volumes.expandVolume(vol.id, 200 * MiB), FailedPreconditionError);
      await create('thick-1', 8 * MiB, { thick: true });
    });
  });

  describe('deleteVolume', () => {
    test('removes the export first (LIO holds the LV open), then the LV', async () => {
      const vol = await create('pvc-1');
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      journal.length = 0;
      await volumes.deleteVolume(vol.id);
      assert.deepEqual(journal, [`lio unexport ${vol.id}`, `lvm remove ${vol.id}`], 'a thin volume has no growth LV to look for');
      assert.deepEqual(lvm.names(), []);
      assert.deepEqual(await target.listExports(), []);
    });

    test('succeeds for a volume that is already gone, and for an id this agent never gives out', async () => {
      await volumes.deleteVolume(buildAgentId('never-created', 'volume'));
      await volumes.deleteVolume('some-other-driver-id');
      const vol = await create('pvc-1');
      await volumes.deleteVolume(vol.id);
      await volumes.deleteVolume(vol.id);
    });

    test('answers FAILED_PRECONDITION while snapshots of the volume exist', async () => {
      const vol = await create('pvc-1');
      const snap = await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: vol.id });
      await assert.rejects(volumes.deleteVolume(vol.id), (err: unknown) => {
        assert.ok(err instanceof FailedPreconditionError);
        assert.match(err.message, new RegExp(snap.id));
        return true;
      });
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true, 'the export is untouched');
      await volumes.deleteSnapshot(snap.id);
      await volumes.deleteVolume(vol.id);
      assert.deepEqual(lvm.names(), []);
    });

    test('a blocked unexport of one volume does not hold up a create, expand or snapshot of another', { timeout: 10_000 }, async () => {
      const a = await create('pvc-a');
      const other = await create('pvc-other');
      const held = lio.holdUnexport();
      const deleting = volumes.deleteVolume(a.id);
      await held.entered;
      const b = await within(2_000, create('pvc-b'), 'a create waited for the blocked unexport of another volume');
      assert.equal((await exportOf(b.target.iqn))?.enabled, true);
      await within(2_000, volumes.expandVolume(other.id, 200 * MiB), 'an expand waited for it');
      await within(2_000, volumes.createSnapshot({ name: 'snap-o', sourceVolumeId: other.id }), 'a snapshot waited for it');
      held.release();
      await deleting;
      assert.deepEqual(lvm.names(), [b.id, other.id, buildAgentId('snap-o', 'snapshot')].sort());
    });

    test('an unexport past its deadline answers UNAVAILABLE and keeps the volume locked until it ends; the retry finishes the delete', { timeout: 10_000 }, async () => {
      volumes = make({ unexportDeadlineMs: 50 });
      const vol = await create('pvc-1');
      const held = lio.holdUnexport();
      await assert.rejects(volumes.deleteVolume(vol.id), (err: unknown) => {
        assert.ok(err instanceof UnavailableError, String(err));
        assert.match(err.message, new RegExp(`target ${vol.target.iqn.replaceAll('.', '\\.')} of volume ${vol.id} has not finished after 0\\.05 s`));
        return true;
      });
      assert.deepEqual(lvm.names(), [vol.id], 'no lvremove while the target may still hold the LV');
      await assert.rejects(volumes.deleteVolume(vol.id), OperationPendingError, 'one delete at a time: the first unexport is still running');
      await assert.rejects(volumes.expandVolume(vol.id, 200 * MiB), OperationPendingError);
      await within(2_000, create('pvc-2'), 'a create of another volume goes on');
      held.release();
      await retryWhilePending(() => volumes.deleteVolume(vol.id)); // as the CO retries ABORTED
      assert.equal(await target.readExport(vol.target.iqn), undefined);
      assert.deepEqual(lvm.names(), [buildAgentId('pvc-2', 'volume')]);
    });

    test('does not delete an LV that merely has a volume-shaped name', async () => {
      const name = buildAgentId('operator', 'volume');
      lvm.seed({ name, sizeBytes: MiB });
      await assert.rejects(volumes.deleteVolume(name), FailedPreconditionError);
      assert.deepEqual(lvm.names(), [name]);
    });
  });

  describe('snapshots', () => {
    test('createSnapshot parks a thin snapshot: inactive, activation-skipped, never exported, ready, source size', async () => {
      const vol = await create('pvc-1', 100 * MiB);
      await volumes.expandVolume(vol.id, 120 * MiB);
      const snap = await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: vol.id });
      assert.deepEqual(snap, { id: buildAgentId('snap-1', 'snapshot'), name: 'snap-1', sourceVolumeId: vol.id, sizeBytes: 120 * MiB, createdAt: NOW, readyToUse: true });
      const lv = await lvm.findVolume(snap.id);
      assert.equal(lv?.isActive, false);
      assert.equal(lv?.attr.hasActivationSkip, true);
      assert.equal((await target.listExports()).some((e) => e.targetIqn.endsWith(snap.id)), false);
    });

    test('createSnapshot is idempotent by name; another source is ALREADY_EXISTS', async () => {
      const a = await create('pvc-a');
      const b = await create('pvc-b');
      const snap = await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: a.id });
      assert.deepEqual(await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: a.id }), snap);
      await assert.rejects(volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: b.id }), AlreadyExistsError);
      await assert.rejects(volumes.createSnapshot({ name: 'snap-2', sourceVolumeId: buildAgentId('gone', 'volume') }), NotFoundError);
    });

    test('refuses to snapshot a thick volume', async () => {
      const vol = await create('thick', 8 * MiB, { thick: true });
      await assert.rejects(volumes.createSnapshot({ name: 's', sourceVolumeId: vol.id }), FailedPreconditionError);
    });

    test('deleteSnapshot removes it; gone is success; a clone made from it lives on', async () => {
      const vol = await create('pvc-1');
      const snap = await volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: vol.id });
      const clone = await create('restored', 100 * MiB, { contentSource: { kind: 'snapshot', id: snap.id } });
      await volumes.deleteSnapshot(snap.id);
      await volumes.deleteSnapshot(snap.id);
      await volumes.deleteSnapshot('not-ours');
      assert.deepEqual(lvm.names(), [vol.id, clone.id].sort());
    });

    test('listSnapshots and listVolumes each read lvm once and skip LVs that are not ours', async () => {
      const a = await create('pvc-a');
      const b = await create('pvc-b');
      const sa = await volumes.createSnapshot({ name: 'snap-a', sourceVolumeId: a.id });
      const sb = await volumes.createSnapshot({ name: 'snap-b', sourceVolumeId: b.id });
      lvm.seed({ name: 'operator-lv', sizeBytes: MiB });
      lvm.calls.length = 0;
      assert.deepEqual((await volumes.listSnapshots({})).map((s) => s.id).sort(), [sa.id, sb.id].sort());
      assert.deepEqual(lvm.calls, ['listVolumes']);
      assert.deepEqual((await volumes.listSnapshots({ sourceVolumeId: b.id })).map((s) => s.id), [sb.id]);
      lvm.calls.length = 0;
      assert.deepEqual((await volumes.listVolumes()).map((v) => v.id).sort(), [a.id, b.id].sort());
      assert.deepEqual(lvm.calls, ['listVolumes']);
    });
  });

  describe('exportVolume and unexportVolume', () => {
    test('export writes the initiator tag first, then the ACL with derived CHAP, and returns the target only; the credentials are for the node', async () => {
      const vol = await create('pvc-1');
      journal.length = 0;
      const res = await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: 'IQN.1993-08.org.Debian:01:Node-A', readOnly: false, mutualChap: true });
      const tagAt = journal.findIndex((l) => l.startsWith(`lvm addtag ${vol.id} acl.`));
      const aclAt = journal.indexOf(`lio addAcl ${NODE_A}`);
      assert.ok(tagAt >= 0 && aclAt > tagAt, `tag before ACL:\n${journal.join('\n')}`);
      const chap = deriveChapCredentials(KEY, vol.id, NODE_A, { mutual: true, lvUuid: (await lvm.findVolume(vol.id))!.uuid });
      assert.deepEqual(res, { target: vol.target }, 'no secret in what the controller gets');
      assert.deepEqual(await volumes.chapCredentials({ volumeId: vol.id, initiatorIqn: NODE_A }), { target: vol.target, chap });
      const acl = (await exportOf(vol.target.iqn))?.acls[0];
      assert.equal(acl?.initiatorIqn, NODE_A, 'the IQN is lowercased');
      assert.equal(acl?.chapUserid, chap.username);
      assert.equal(acl?.chapPassword, chap.password);
      assert.equal(acl?.mutualUserid, chap.mutual?.username);
      assert.deepEqual(acl?.mappedLuns, [{ lun: 0, readOnly: false }]);
      assert.deepEqual((await volumes.getVolume(vol.id)).initiators, [{ iqn: NODE_A, readOnly: false, mutualChap: true }]);
    });

    test('export honours readOnly and is idempotent', async () => {
      const vol = await create('pvc-1');
      const req = { volumeId: vol.id, initiatorIqn: NODE_B, readOnly: true, mutualChap: false };
      const first = await volumes.exportVolume(req);
      const opsBefore = sim.ops.length;
      journal.length = 0;
      assert.deepEqual(await volumes.exportVolume(req), first);
      assert.equal(sim.ops.length, opsBefore, 'nothing rewritten in configfs');
      assert.equal(journal.some((l) => l.startsWith('lvm')), false, 'no tag rewritten');
      assert.deepEqual((await exportOf(vol.target.iqn))?.acls[0]?.mappedLuns, [{ lun: 0, readOnly: true }]);
    });

    test('export refuses a malformed IQN and a missing volume', async () => {
      const vol = await create('pvc-1');
      await assert.rejects(volumes.exportVolume({ volumeId: vol.id, initiatorIqn: 'iqn.bad name', readOnly: false, mutualChap: false }), InvalidArgumentError);
      await assert.rejects(volumes.exportVolume({ volumeId: buildAgentId('gone', 'volume'), initiatorIqn: NODE_A, readOnly: false, mutualChap: false }), NotFoundError);
    });

    test('unexport removes the tag first, then the ACL (the fence); already removed is success', async () => {
      const vol = await create('pvc-1');
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_B, readOnly: false, mutualChap: false });
      journal.length = 0;
      await volumes.unexportVolume({ volumeId: vol.id, initiatorIqn: NODE_A.toUpperCase() });
      assert.deepEqual(journal, [`lvm deltag ${vol.id} ${buildAclTagKey(NODE_A)}`, `lio removeAcl ${NODE_A}`]);
      assert.deepEqual((await exportOf(vol.target.iqn))?.acls.map((a) => a.initiatorIqn), [NODE_B]);
      assert.deepEqual((await volumes.getVolume(vol.id)).initiators.map((i) => i.iqn), [NODE_B]);
      await volumes.unexportVolume({ volumeId: vol.id, initiatorIqn: NODE_A });
      await volumes.unexportVolume({ volumeId: buildAgentId('gone', 'volume'), initiatorIqn: NODE_A });
    });

    test('chapCredentials: what the ACL holds, mutual when the ACL is, only while the volume is exported to that initiator', async () => {
      const vol = await create('pvc-1');
      await assert.rejects(volumes.chapCredentials({ volumeId: vol.id, initiatorIqn: NODE_A }), FailedPreconditionError, 'not published yet');
      await assert.rejects(volumes.chapCredentials({ volumeId: buildAgentId('gone', 'volume'), initiatorIqn: NODE_A }), NotFoundError);
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: true });
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_B, readOnly: false, mutualChap: false });
      const a = await volumes.chapCredentials({ volumeId: vol.id, initiatorIqn: NODE_A.toUpperCase() });
      const acl = (await exportOf(vol.target.iqn))?.acls.find((x) => x.initiatorIqn === NODE_A);
      assert.deepEqual(a.target, vol.target);
      assert.deepEqual(a.chap, { username: acl?.chapUserid, password: acl?.chapPassword, mutual: { username: acl?.mutualUserid, password: acl?.mutualPassword } });
      const b = await volumes.chapCredentials({ volumeId: vol.id, initiatorIqn: NODE_B });
      assert.equal(b.chap.mutual, undefined, 'an ACL without mutual CHAP stays without');
      assert.equal(b.chap.password, (await exportOf(vol.target.iqn))?.acls.find((x) => x.initiatorIqn === NODE_B)?.chapPassword);
      await volumes.unexportVolume({ volumeId: vol.id, initiatorIqn: NODE_A });
      await assert.rejects(volumes.chapCredentials({ volumeId: vol.id, initiatorIqn: NODE_A }), FailedPreconditionError, 'unpublished: no more secrets');
    });

    test('unexport still removes the ACL when its tag is already gone (a crash between the two)', async () => {
      const vol = await create('pvc-1');
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      await lvm.deleteTags(vol.id, Object.keys((await lvm.findVolume(vol.id))!.tags).filter((k) => k.startsWith('acl.')));
      await volumes.unexportVolume({ volumeId: vol.id, initiatorIqn: NODE_A });
      assert.deepEqual((await exportOf(vol.target.iqn))?.acls, []);
    });
  });

  describe('reconcile', () => {
    test('rebuilds a wiped export with the same IQN, serial and ACLs after a reboot, activating the LV', async () => {
      const vol = await create('pvc-1');
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: true });
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_B, readOnly: true, mutualChap: false });
      const before = await exportOf(vol.target.iqn);
      await target.unexportVolume(vol.target.iqn, vol.id);
      lvm.deactivateAll();

      const report = await volumes.reconcile();
      assert.deepEqual(report, { repaired: [vol.id], removed: [], failed: [] });
      assert.deepEqual(await exportOf(vol.target.iqn), before);
      assert.equal((await lvm.findVolume(vol.id))?.isActive, true);
      assert.deepEqual(await volumes.getVolume(vol.id), { ...vol, initiators: [{ iqn: NODE_A, readOnly: false, mutualChap: true }, { iqn: NODE_B, readOnly: true, mutualChap: false }] });
    });

    test('a rebuilt export enables its TPG only after every allowed ACL and its LUN mapping exist', async () => {
      const vol = await create('pvc-1');
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_B, readOnly: true, mutualChap: false });
      await target.unexportVolume(vol.target.iqn, vol.id);
      const from = sim.ops.length;

      assert.deepEqual(await volumes.reconcile(), { repaired: [vol.id], removed: [], failed: [] });
      const ops = sim.ops.slice(from);
      const enable = ops.findIndex((op) => /tpgt_1\/enable=1$/.test(op));
      assert.ok(enable >= 0, 'the TPG is enabled');
      for (const iqn of [NODE_A, NODE_B]) {
        const mapped = ops.findIndex((op) => op.startsWith('link ') && op.includes(`/acls/${iqn}/lun_0/lun_0 ->`));
        assert.ok(mapped >= 0 && mapped < enable, `${iqn}'s ACL is mapped before the TPG is enabled (ops: ${ops.join(' | ')})`);
      }
    });

    test('touches nothing when LIO already matches the tags, so live sessions never notice', async () => {
      const vol = await create('pvc-1');
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      const opsBefore = sim.ops.length;
      journal.length = 0;
      assert.deepEqual(await volumes.reconcile(), { repaired: [], removed: [], failed: [] });
      assert.equal(sim.ops.length, opsBefore);
      assert.deepEqual(journal, []);
    });

    test('removes an ACL no tag allows and restores a changed CHAP secret', async () => {
      const vol = await create('pvc-1');
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      await target.addAcl(vol.target.iqn, { initiatorIqn: NODE_B, chap: { username: 'stray', password: 'stray-secret-123' } });
      await sim.poke(`iscsi/${vol.target.iqn}/tpgt_1/acls/${NODE_A}/auth/password`, 'tampered\n');
      const report = await volumes.reconcile();
      assert.deepEqual(report.repaired, [vol.id]);
      const acls = (await exportOf(vol.target.iqn))?.acls ?? [];
      assert.deepEqual(acls.map((a) => a.initiatorIqn), [NODE_A]);
      assert.equal(acls[0]?.chapPassword, deriveChapCredentials(KEY, vol.id, NODE_A, { mutual: false, lvUuid: (await lvm.findVolume(vol.id))!.uuid }).password);
    });

    test('removes an orphan target under our prefix with its backstore, and leaves foreign targets alone', async () => {
      const vol = await create('pvc-1');
      const goneId = buildAgentId('deleted-behind-our-back', 'volume');
      const orphanIqn = buildTargetIqn(PREFIX, goneId);
      const spec = { backstoreName: goneId, devicePath: `/dev/vg0/${goneId}`, serial: buildUnitSerial('x'), portal: PORTAL, thin: true, acls: [] };
      await target.exportVolume({ ...spec, targetIqn: orphanIqn });
      const foreignIqn = 'iqn.2003-01.org.linux-iscsi.other:sn.1234';
      await target.exportVolume({ ...spec, backstoreName: 'foreign-bs', devicePath: '/dev/sdz', targetIqn: foreignIqn });
      const oddIqn = `${PREFIX}:made-by-hand`;
      await target.exportVolume({ ...spec, backstoreName: 'hand-bs', devicePath: '/dev/sdy', targetIqn: oddIqn });

      const report = await volumes.reconcile();
      assert.deepEqual(report, { repaired: [], removed: [orphanIqn], failed: [] });
      const left = (await target.listExports()).map((e) => e.targetIqn).sort();
      assert.deepEqual(left, [foreignIqn, oddIqn, vol.target.iqn].sort());
      assert.equal(await sim.exists(`core/iblock_0/${goneId}`), false);
      assert.equal(await sim.exists('core/iblock_0/foreign-bs'), true);
    });

    test('an orphan target whose removal the kernel blocks does not stall reconcile; it stays locked until the removal ends', { timeout: 10_000 }, async () => {
      volumes = make({ unexportDeadlineMs: 50 });
      const vol = await create('pvc-1');
      await target.unexportVolume(vol.target.iqn, vol.id); // needs a repair in the same run
      const goneId = buildAgentId('deleted-behind-our-back', 'volume');
      const orphanIqn = buildTargetIqn(PREFIX, goneId);
      await target.exportVolume({ backstoreName: goneId, devicePath: `/dev/vg0/${goneId}`, serial: buildUnitSerial('x'), portal: PORTAL, thin: true, acls: [], targetIqn: orphanIqn });
      const held = lio.holdUnexport();
      const report = await within(2_000, volumes.reconcile(), 'reconcile waited for the blocked removal');
      assert.deepEqual(report.repaired, [vol.id]);
      assert.deepEqual(report.failed.map((f) => f.object), [goneId]);
      assert.match(report.failed[0]!.error, /has not finished after 0\.05 s/);
      const again = await within(2_000, volumes.reconcile(), 'a second reconcile waited for it');
      assert.deepEqual(again.failed, [], 'the orphan is busy (locked by its removal), left for a later run');
      held.release();
      for (const deadline = Date.now() + 2_000; (await target.readExport(orphanIqn)) !== undefined; ) {
        assert.ok(Date.now() < deadline, 'the released removal never finished');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const after = await volumes.reconcile();
      assert.deepEqual(after.failed, [], 'the lock was released when the removal ended');
    });

    test('skips a volume whose lock is held and collects per-volume failures without stopping', async () => {
      const a = await create('pvc-a');
      const b = await create('pvc-b');
      const c = await create('pvc-c');
      for (const v of [a, b, c]) await target.unexportVolume(v.target.iqn, v.id);
      // b's export fails; c is busy with an expand that waits on lvextend.
      const held = lvm.hold('extendVolume');
      const busy = volumes.expandVolume(c.id, 200 * MiB);
      await held.entered;
      const realExport = lio.exportVolume.bind(lio);
      lio.exportVolume = async (spec) => {
        if (spec.backstoreName === b.id) throw new Error('simulated configfs failure');
        return realExport(spec);
      };
      const report = await volumes.reconcile();
      assert.deepEqual(report.repaired, [a.id]);
      assert.deepEqual(report.failed, [{ object: b.id, error: 'simulated configfs failure' }]);
      held.release();
      await busy;
      lio.exportVolume = realExport;
      assert.deepEqual((await volumes.reconcile()).repaired, [b.id, c.id], 'the next run picks up what was left');
    });

    test('a second reconcile while one runs is ABORTED', async () => {
      await create('pvc-1');
      const held = lvm.hold('listVolumes');
      const first = volumes.reconcile();
      await held.entered;
      await assert.rejects(volumes.reconcile(), OperationPendingError);
      held.release();
      await first;
    });
  });

  describe('concurrency', () => {
    test('a second call on a volume whose create is in flight is ABORTED; a third after it succeeds', async () => {
      const held = lvm.hold('createThinVolume');
      const first = create('pvc-1');
      await held.entered;
      const id = buildAgentId('pvc-1', 'volume');
      await assert.rejects(create('pvc-1'), OperationPendingError);
      await assert.rejects(volumes.deleteVolume(id), OperationPendingError);
      await assert.rejects(volumes.exportVolume({ volumeId: id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false }), OperationPendingError);
      held.release();
      const vol = await first;
      assert.deepEqual(await create('pvc-1'), vol);
    });

    test('getVolume of a volume whose create is in flight is ABORTED, and NOT_FOUND when nothing is in flight', async () => {
      const id = buildAgentId('pvc-1', 'volume');
      await assert.rejects(volumes.getVolume(id), NotFoundError);
      const held = lvm.hold('createThinVolume');
      const first = create('pvc-1');
      await held.entered;
      await assert.rejects(volumes.getVolume(id), OperationPendingError);
      held.release();
      const vol = await first;
      assert.deepEqual(await volumes.getVolume(id), vol);
    });

    test('getSnapshot of a snapshot being taken is ABORTED; afterwards it returns the snapshot', async () => {
      const vol = await create('pvc-1');
      const id = buildAgentId('snap-1', 'snapshot');
      await assert.rejects(volumes.getSnapshot(id), NotFoundError);
      const held = lvm.hold('createThinSnapshot');
      const taking = volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: vol.id });
      await held.entered;
      await assert.rejects(volumes.getSnapshot(id), OperationPendingError);
      held.release();
      const snap = await taking;
      assert.deepEqual(await volumes.getSnapshot(id), snap);
    });

    test('snapshots of one volume may be taken while it is exported to a node', async () => {
      const vol = await create('pvc-1');
      const held = lvm.hold('addTags');
      const exporting = volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      await held.entered;
      const snapshotting = volumes.createSnapshot({ name: 'snap-1', sourceVolumeId: vol.id });
      held.release();
      await Promise.all([exporting, snapshotting]);
    });
  });

  describe('copies of replicated volumes', () => {
    const PAIR = [STORE, OTHER];
    const record2 = (sizeBytes = 100 * MiB): MirrorRecord => initialMirrorRecord(PAIR, sizeBytes);
    const copy = (name: string, sizeBytes: number, mirror: { slot: number; record: MirrorRecord }, extra: Partial<Parameters<AgentVolumes['createVolume']>[0]> = {}) =>
      create(name, sizeBytes, { mirror, ...extra });
    /** A copy published to NODE_A, as the controller leaves it for the node that assembles the mirror. */
    const publishedCopy = async (name = 'pvc-m', record = record2()): Promise<AgentVolume> => {
      const vol = await copy(name, 100 * MiB, { slot: 0, record });
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      return vol;
    };

    test('a copy is one thin LV of header + data in whole extents, its slot and record in the tags of its lvcreate; sizeBytes is the data', async () => {
      const record = record2();
      const vol = await copy('pvc-m', 100 * MiB + 1, { slot: 0, record });
      const lv = await lvm.findVolume(vol.id);
      assert.equal(lv?.sizeBytes, MIRROR_HEADER_BYTES + 104 * MiB, 'header + data, rounded up to whole 4 MiB extents');
      assert.equal(vol.sizeBytes, 104 * MiB, 'the data size: what rounding added goes to the data');
      assert.deepEqual(vol.mirror, { slot: 0, headerBytes: MIRROR_HEADER_BYTES, record });
      assert.deepEqual(lv?.tags, {
        kind: 'volume', name: 'pvc-m', created: String(NOW.getTime()), provisioning: 'thin', identity: 'lv-uuid',
        'mirror.slot': '0', 'mirror.header': String(MIRROR_HEADER_BYTES), 'mirror.generation': '1', 'mirror.region': String(2 * MiB),
        'mirror.copy0': `in-sync.${STORE}`, 'mirror.copy1': `in-sync.${OTHER}`,
      });
      assert.deepEqual(journal.filter((l) => l.startsWith('lvm')), [`lvm create thin ${vol.id} ${MIRROR_HEADER_BYTES + 104 * MiB}`], 'one lvcreate, no tag written after it');
      assert.equal((await exportOf(vol.target.iqn))?.enabled, true, 'exported like any volume: the whole LV, header included, is the LUN');
      assert.deepEqual(await volumes.getVolume(vol.id), vol);
      assert.deepEqual((await volumes.listVolumes()).find((v) => v.id === vol.id), vol);
      const single = await create('pvc-1');
      assert.equal('mirror' in single, false, 'a single-copy volume has no mirror at all');
      assert.equal('mirror' in (await volumes.getVolume(single.id)), false);
    });

    test('a thick copy is zeroed from byte 0 to its end (header included) before its first export', async () => {
      const vol = await copy('pvc-m', 8 * MiB, { slot: 1, record: initialMirrorRecord([OTHER, STORE], 8 * MiB) }, { thick: true });
      const lvBytes = MIRROR_HEADER_BYTES + 8 * MiB;
      const lines = journal.filter((l) => !l.startsWith('lio addAcl'));
      const at = (line: string) => lines.indexOf(line);
      assert.ok(at(`lvm create thick ${vol.id} ${lvBytes}`) >= 0, lines.join('\n'));
      assert.ok(at(`lvm create thick ${vol.id} ${lvBytes}`) < at(`zero /dev/vg0/${vol.id} 0+${lvBytes}`), lines.join('\n'));
      assert.ok(at(`zero /dev/vg0/${vol.id} 0+${lvBytes}`) < at(`lio export ${vol.id}`), lines.join('\n'));
      assert.equal(vol.sizeBytes, 8 * MiB);
      assert.equal(vol.mirror?.slot, 1);
    });

    test('the same name, slot and copies is the same copy, also after its record moved on; another slot, other copies or a single copy is ALREADY_EXISTS', async () => {
      const vol = await publishedCopy();
      const record = record2();
      assert.deepEqual(await copy('pvc-m', 100 * MiB, { slot: 0, record }), { ...vol, initiators: (await volumes.getVolume(vol.id)).initiators });
      await volumes.setMirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A, expectedGeneration: 1, record: markOutOfSync(record, [1]) });
      const retried = await copy('pvc-m', 100 * MiB, { slot: 0, record });
      assert.equal(retried.mirror?.record.generation, 2, 'the create retry finds the copy and reports its current record');
      assert.equal(journal.filter((l) => l.startsWith('lvm create')).length, 1);
      await assert.rejects(copy('pvc-m', 100 * MiB, { slot: 1, record: initialMirrorRecord([OTHER, STORE], 100 * MiB) }), /as copy 0 of a replicated volume, not copy 1/);
      await assert.rejects(copy('pvc-m', 100 * MiB, { slot: 0, record: initialMirrorRecord([STORE, THIRD], 100 * MiB) }), AlreadyExistsError);
      await assert.rejects(copy('pvc-m', 100 * MiB, { slot: 0, record: initialMirrorRecord([STORE, OTHER, THIRD], 100 * MiB) }), AlreadyExistsError);
      await assert.rejects(copy('pvc-m', 100 * MiB, { slot: 0, record: { ...record, regionBytes: 4 * MiB } }), /region size/);
      await assert.rejects(copy('pvc-m', 200 * MiB, { slot: 0, record }), AlreadyExistsError);
      await assert.rejects(create('pvc-m', 100 * MiB), /not a single copy/);
      await create('pvc-1', 100 * MiB);
      await assert.rejects(copy('pvc-1', 100 * MiB, { slot: 0, record }), /a single copy, not as a copy/);
    });

    test('refuses, before any lvcreate, a record or slot that is not valid, a slot of another node, a content source, and more data than the regions allow', async () => {
      const record = record2();
      await assert.rejects(copy('m', 100 * MiB, { slot: 2, record }), (err: unknown) => err instanceof InvalidArgumentError && /slot 2 is not one of the record's 2 slots/.test(err.message));
      await assert.rejects(copy('m', 100 * MiB, { slot: -1, record }), InvalidArgumentError);
      await assert.rejects(copy('m', 100 * MiB, { slot: 1, record }), (err: unknown) => err instanceof InvalidArgumentError && /belongs to storage node "store-b", not to this one \(store-a\)/.test(err.message));
      await assert.rejects(copy('m', 100 * MiB, { slot: 0, record: { ...record, copies: [{ node: STORE, inSync: true }, { node: STORE, inSync: true }] } }), /two copies on one storage node/);
      await assert.rejects(copy('m', 100 * MiB, { slot: 0, record: { ...record, copies: [{ node: STORE, inSync: true }, { node: 'Store_B', inSync: true }] } }), /not a storage node name/);
      await assert.rejects(copy('m', 100 * MiB, { slot: 0, record: { ...record, generation: 0 } }), InvalidArgumentError);
      await assert.rejects(copy('m', 100 * MiB, { slot: 0, record: { ...record, regionBytes: 3 * MiB } }), InvalidArgumentError);
      await assert.rejects(copy('m', 100 * MiB, { slot: 0, record: { ...record, copies: record.copies.map((c) => ({ ...c, inSync: false })) } }), /no copy is in sync/);
      const src = await create('pvc-1');
      await assert.rejects(copy('m', 100 * MiB, { slot: 0, record }, { contentSource: { kind: 'volume', id: src.id } }), /not yet supported/);
      await assert.rejects(copy('m', maxBytesFor(record.regionBytes) + 1, { slot: 0, record }), (err: unknown) => err instanceof OutOfRangeError && /region limit/.test(err.message));
      volumes = make({ storageNode: null });
      await assert.rejects(copy('m', 100 * MiB, { slot: 0, record }), (err: unknown) => err instanceof FailedPreconditionError && /without its storage node name/.test(err.message));
      assert.deepEqual(lvm.names(), [src.id], 'nothing was created');
    });

    test('expand takes the data size: the LV grows to header + size; past what the region size allows is OUT_OF_RANGE', async () => {
      const vol = await copy('pvc-m', 100 * MiB, { slot: 0, record: record2() });
      const grown = await volumes.expandVolume(vol.id, 200 * MiB + 1);
      assert.equal(grown.sizeBytes, 204 * MiB);
      assert.equal((await lvm.findVolume(vol.id))?.sizeBytes, MIRROR_HEADER_BYTES + 204 * MiB);
      assert.deepEqual(grown.mirror, vol.mirror);
      journal.length = 0;
      assert.equal((await volumes.expandVolume(vol.id, 204 * MiB)).sizeBytes, 204 * MiB, 'the data size it has: nothing to do');
      assert.equal((await volumes.expandVolume(vol.id, 100 * MiB)).sizeBytes, 204 * MiB, 'never shrinks');
      assert.deepEqual(journal.filter((l) => l.startsWith('lvm')), []);
      await assert.rejects(volumes.expandVolume(vol.id, maxBytesFor(2 * MiB) + 1), (err: unknown) => err instanceof OutOfRangeError && /2097152-byte regions/.test(err.message));
      assert.equal((await lvm.findVolume(vol.id))?.sizeBytes, MIRROR_HEADER_BYTES + 204 * MiB);
    });

    test('a thick copy grows by zeroed extents only, and keeps its header', async () => {
      const vol = await copy('pvc-m', 8 * MiB, { slot: 0, record: initialMirrorRecord(PAIR, 8 * MiB) }, { thick: true });
      journal.length = 0;
      const grown = await volumes.expandVolume(vol.id, 16 * MiB);
      assert.equal(grown.sizeBytes, 16 * MiB);
      const growth = growthLvNameOf(vol.id);
      assert.deepEqual(journal.filter((l) => l.startsWith('lvm create') || l.startsWith('zero ')), [`lvm create thick ${growth} ${8 * MiB}`, `zero /dev/vg0/${growth} 0+${8 * MiB}`]);
    });

    test('mirrorRecord: only for the initiator the copy is published to, and only of a copy', async () => {
      const vol = await copy('pvc-m', 100 * MiB, { slot: 0, record: record2() });
      await assert.rejects(volumes.mirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A }), (err: unknown) => err instanceof FailedPreconditionError && /not published to/.test(err.message));
      await volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      assert.deepEqual(await volumes.mirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A.toUpperCase() }), vol.mirror);
      await assert.rejects(volumes.mirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_B }), FailedPreconditionError);
      const single = await create('pvc-1');
      await volumes.exportVolume({ volumeId: single.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      await assert.rejects(volumes.mirrorRecord({ volumeId: single.id, initiatorIqn: NODE_A }), (err: unknown) => err instanceof FailedPreconditionError && /not a copy of a replicated volume/.test(err.message));
      await assert.rejects(volumes.mirrorRecord({ volumeId: buildAgentId('gone', 'volume'), initiatorIqn: NODE_A }), NotFoundError);
      await assert.rejects(volumes.mirrorRecord({ volumeId: 'nope', initiatorIqn: NODE_A }), InvalidArgumentError);
    });

    test('setMirrorRecord applies the next generation with one lvchange; an equal record is a retry; anything else is not applied and answers the stored record', async () => {
      const record = record2();
      const vol = await publishedCopy('pvc-m', record);
      const degraded = markOutOfSync(record, [1]);
      journal.length = 0;
      const set = (expectedGeneration: number, next: MirrorRecord) => volumes.setMirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A, expectedGeneration, record: next });
      const freshness: unknown[] = [];
      const find = lvm.findVolume.bind(lvm);
      lvm.findVolume = async (name: string, _signal?: AbortSignal, fresh?: { readonly maxAgeMs?: number }) => {
        freshness.push(fresh);
        return find(name);
      };
      const first = await set(1, degraded);
      assert.deepEqual(freshness[0], { maxAgeMs: 0 }, 'the compare reads lvm afresh, not a remembered report');
      assert.deepEqual(first, { applied: true, current: { slot: 0, headerBytes: MIRROR_HEADER_BYTES, record: degraded } });
      assert.deepEqual(journal, [`lvm addtag ${vol.id} mirror.generation,mirror.region,mirror.copy0,mirror.copy1`], 'the whole record in one lvchange');
      assert.deepEqual((await lvm.findVolume(vol.id))?.tags['mirror.copy1'], `out-of-sync.${OTHER}`);
      assert.deepEqual(await volumes.mirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A }), first.current);

      journal.length = 0;
      assert.deepEqual(await set(1, degraded), first, 'the same call again (its answer was lost): applied, nothing written');
      assert.deepEqual(journal, []);

      const stale = await set(1, { ...degraded, generation: 2, copies: [{ node: STORE, inSync: false }, { node: OTHER, inSync: true }] });
      assert.deepEqual(stale, { applied: false, current: first.current }, 'another writer of generation 2 lost the race');
      assert.deepEqual(await set(2, { ...markAllInSync(degraded), generation: 4 }), { applied: false, current: first.current }, 'a generation skipped');
      assert.deepEqual(await set(2, { ...markAllInSync(degraded), copies: [{ node: STORE, inSync: true }, { node: THIRD, inSync: true }] }), { applied: false, current: first.current }, 'another node in a slot');
      assert.deepEqual(await set(2, { ...markAllInSync(degraded), copies: [{ node: OTHER, inSync: true }, { node: STORE, inSync: true }] }), { applied: false, current: first.current }, 'slots swapped');
      assert.deepEqual(await set(2, { ...markAllInSync(degraded), copies: [{ node: STORE, inSync: true }] }), { applied: false, current: first.current }, 'a copy dropped');
      assert.deepEqual(await set(2, { ...markAllInSync(degraded), regionBytes: 4 * MiB }), { applied: false, current: first.current }, 'another region size');
      assert.deepEqual(journal, [], 'nothing written for any of them');

      const resynced = markAllInSync(degraded);
      assert.deepEqual(await set(2, resynced), { applied: true, current: { slot: 0, headerBytes: MIRROR_HEADER_BYTES, record: resynced } });
      assert.deepEqual((await volumes.getVolume(vol.id)).mirror?.record, resynced);

      // This copy missed generation 4 (written while it was away); the writer, at 4, brings it to 5.
      const caughtUp = markAllInSync(markOutOfSync(resynced, [0]));
      assert.equal(caughtUp.generation, 5);
      assert.deepEqual(await set(4, caughtUp), { applied: true, current: { slot: 0, headerBytes: MIRROR_HEADER_BYTES, record: caughtUp } }, 'a copy behind the writer catches up');
      assert.deepEqual(await set(2, { ...markAllInSync(degraded), generation: 3 }), { applied: false, current: { slot: 0, headerBytes: MIRROR_HEADER_BYTES, record: caughtUp } }, 'never backwards');
    });

    test('setMirrorRecord refuses a malformed request, a caller the copy is not published to (the fence) and a single-copy volume', async () => {
      const record = record2();
      const vol = await publishedCopy('pvc-m', record);
      const next = markOutOfSync(record, [1]);
      const set = (over: Partial<Parameters<AgentVolumes['setMirrorRecord']>[0]>) => volumes.setMirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A, expectedGeneration: 1, record: next, ...over });
      await assert.rejects(set({ expectedGeneration: 0 }), InvalidArgumentError);
      await assert.rejects(set({ expectedGeneration: 1.5 }), InvalidArgumentError);
      await assert.rejects(set({ record: { ...next, copies: next.copies.map((c) => ({ ...c, inSync: false })) } }), /no copy is in sync/);
      await assert.rejects(set({ record: { ...next, copies: [{ node: STORE, inSync: true }, { node: 'bad node', inSync: false }] } }), InvalidArgumentError);
      await assert.rejects(set({ initiatorIqn: NODE_B }), (err: unknown) => err instanceof FailedPreconditionError && /not published to/.test(err.message));
      await volumes.unexportVolume({ volumeId: vol.id, initiatorIqn: NODE_A });
      await assert.rejects(set({}), FailedPreconditionError, 'a fenced node can no longer move the record');
      const single = await create('pvc-1');
      await volumes.exportVolume({ volumeId: single.id, initiatorIqn: NODE_A, readOnly: false, mutualChap: false });
      await assert.rejects(set({ volumeId: single.id }), /not a copy of a replicated volume/);
      await assert.rejects(set({ volumeId: buildAgentId('gone', 'volume') }), NotFoundError);
      assert.equal((await lvm.findVolume(vol.id))?.tags['mirror.generation'], '1', 'nothing was written');
    });

    test('setMirrorRecord takes the volume\'s lock: a second one, or an export, while it writes is ABORTED', async () => {
      const record = record2();
      const vol = await publishedCopy('pvc-m', record);
      const held = lvm.hold('addTags');
      const first = volumes.setMirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A, expectedGeneration: 1, record: markOutOfSync(record, [1]) });
      await held.entered;
      await assert.rejects(volumes.setMirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A, expectedGeneration: 1, record: markOutOfSync(record, [0]) }), OperationPendingError);
      await assert.rejects(volumes.exportVolume({ volumeId: vol.id, initiatorIqn: NODE_B, readOnly: false, mutualChap: false }), OperationPendingError);
      held.release();
      assert.equal((await first).applied, true);
      const loser = await volumes.setMirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A, expectedGeneration: 1, record: markOutOfSync(record, [0]) });
      assert.equal(loser.applied, false, 'the loser, retried, sees the winner');
      assert.deepEqual(loser.current.record.copies.map((c) => c.inSync), [true, false]);
    });

    test('a snapshot of a copy takes header and data at once, keeps the record of that instant, and reports the data size; restoring or cloning a copy is refused for now', async () => {
      const record = record2();
      const vol = await publishedCopy('pvc-m', record);
      await volumes.setMirrorRecord({ volumeId: vol.id, initiatorIqn: NODE_A, expectedGeneration: 1, record: markOutOfSync(record, [1]) });
      const snap = await volumes.createSnapshot({ name: 'snap-m', sourceVolumeId: vol.id });
      assert.equal(snap.sizeBytes, 100 * MiB, 'the data size');
      const lv = await lvm.findVolume(snap.id);
      assert.equal(lv?.sizeBytes, MIRROR_HEADER_BYTES + 100 * MiB);
      assert.equal(lv?.origin, vol.id);
      assert.equal(lv?.tags['mirror.generation'], '2');
      assert.equal(lv?.tags['mirror.copy1'], `out-of-sync.${OTHER}`);
      assert.deepEqual(await volumes.getSnapshot(snap.id), snap);
      assert.deepEqual(await volumes.createSnapshot({ name: 'snap-m', sourceVolumeId: vol.id }), snap, 'idempotent');
      await assert.rejects(create('restored', 100 * MiB, { contentSource: { kind: 'snapshot', id: snap.id } }), (err: unknown) =>
        err instanceof InvalidArgumentError && /is a snapshot of a copy of a replicated volume; restoring or cloning one is not supported yet/.test(err.message));
      await assert.rejects(create('clone', 100 * MiB, { contentSource: { kind: 'volume', id: vol.id } }), /is a copy of a replicated volume/);
      assert.deepEqual(lvm.names(), [snap.id, vol.id].sort());
    });

    test('reconcile rebuilds a copy\'s export from its tags like any volume\'s', async () => {
      const vol = await publishedCopy();
      const before = await exportOf(vol.target.iqn);
      await target.unexportVolume(vol.target.iqn, vol.id);
      lvm.deactivateAll();
      assert.deepEqual(await volumes.reconcile(), { repaired: [vol.id], removed: [], failed: [] });
      assert.deepEqual(await exportOf(vol.target.iqn), before);
    });
  });

  test('refuses a short CHAP key and an invalid policy at construction', () => {
    const base = { lvm, lio, chapKey: KEY, portal: PORTAL, iqnPrefix: PREFIX, overprovisionRatio: 2, zeroer, log: pino({ level: 'silent' }) };
    assert.throws(() => new AgentVolumes({ ...base, chapKey: Buffer.alloc(8) }), InvalidArgumentError);
    assert.throws(() => new AgentVolumes({ ...base, overprovisionRatio: 0 }), InvalidArgumentError);
    assert.throws(() => new AgentVolumes({ ...base, dataLimitPercent: 120 }), InvalidArgumentError);
    assert.throws(() => new AgentVolumes({ ...base, iqnPrefix: 'not an iqn' }), InvalidArgumentError);
    assert.throws(() => new AgentVolumes({ ...base, storageNode: 'Not A Node' }), InvalidArgumentError);
  });
});

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition never held');
}
