import type { Logger } from 'pino';
import { KeyedLocks } from '../locks/index.ts';
import type { RaidStatus } from '../dm/index.ts';
import { isRaidInSync } from '../dm/index.ts';
import { listSessionDisks } from '../iscsi/index.ts';
import { markAllInSync, markOutOfSync, newestRecord } from '../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../replication/mirrorRecord.ts';
import { findVolumeSession } from './findVolumeSession.ts';
import type { NodeDeps } from './NodeDeps.ts';
import { recordTarget, sysfs } from './NodeDeps.ts';
import type { MirrorStageRecord } from './stageRecord.ts';

export type MirrorAction =
  | { readonly kind: 'none' }
  /** Legs dm-raid failed (D) or never had (-) that the record still calls in sync: record them out of sync on the survivors. */
  | { readonly kind: 'markOutOfSync'; readonly slots: readonly number[] }
  /** A failed leg's session is back: suspend + resume makes dm-raid re-add it, and md resyncs it from the bitmap. */
  | { readonly kind: 'restore'; readonly slots: readonly number[] }
  /** Every leg alive and in sync, nothing syncing, yet the record says a copy is out of sync: record all in sync. */
  | { readonly kind: 'markAllInSync' };

/**
 * What the watch does about one replicated volume, from its raid status, the record it last knew
 * and which copies' sessions are up with their disk. One action per look, in this order, so the
 * record says a leg is out of sync before anything brings it back:
 *  1. a dead or missing leg the record calls in sync → markOutOfSync;
 *  2. a dead leg whose session and disk are back → restore (dm-raid 1.5.1 "restore transiently
 *     failed devices on resume", dm-raid.c attempt_restore_of_faulty_devices);
 *  3. whole again (every leg A, sync idle and complete) while the record names a copy out of sync
 *     → markAllInSync.
 * A recovering leg (a) is left to md: it is out of sync in the record already, or it is the initial
 * resync of a new set where every leg is a, which must not mark every copy out of sync.
 */
export function decideMirrorAction(record: MirrorRecord, status: RaidStatus, sessionUp: readonly boolean[]): MirrorAction {
  const down = status.health.flatMap((h, slot) => (h === 'D' || h === '-' ? [slot] : []));
  const toMark = down.filter((slot) => record.copies[slot]?.inSync === true);
  if (toMark.length > 0) return { kind: 'markOutOfSync', slots: toMark };
  const back = status.health.flatMap((h, slot) => (h === 'D' && sessionUp[slot] === true ? [slot] : []));
  if (back.length > 0) return { kind: 'restore', slots: back };
  if (isRaidInSync(status) && status.health.length === record.copies.length && record.copies.some((c) => !c.inSync)) return { kind: 'markAllInSync' };
  return { kind: 'none' };
}

/** How often the watch looks; a failed leg is recorded out of sync within about this. */
export const MIRROR_WATCH_INTERVAL_MS = 2_000;
/** A restore (suspend + resume, a short I/O pause) at most this often per volume. */
export const RESTORE_BACKOFF_MS = 30_000;

interface VolumeState {
  record: MirrorRecord | undefined;
  warned: Set<number>;
  lastRestore: number;
  /** Living copies whose agent holds an older record than `record` (a write to it failed, or it was away): caught up when nothing else is to do. */
  behind: Set<number>;
}

/**
 * The node plugin's watch over the replicated volumes staged here (docs/replication.md): every
 * MIRROR_WATCH_INTERVAL_MS it reads each raid device's status and acts on decideMirrorAction.
 * The record is bumped by compare-and-set on every surviving copy's agent; a lost race is retried
 * from the record the agent answered with. Never throws: a failure is logged and the next look
 * tries again.
 */
export class MirrorWatch {
  readonly #deps: NodeDeps;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #locks: KeyedLocks;
  readonly #state = new Map<string, VolumeState>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  /** `locks`: the node service's volume locks, so a restore never runs under a stage, unstage or expand of the volume. */
  constructor(opts: { readonly deps: NodeDeps; readonly log: Logger; readonly intervalMs?: number; readonly now?: () => number; readonly locks?: KeyedLocks }) {
    this.#locks = opts.locks ?? new KeyedLocks();
    this.#deps = opts.deps;
    this.#log = opts.log;
    this.#intervalMs = opts.intervalMs ?? MIRROR_WATCH_INTERVAL_MS;
    this.#now = opts.now ?? (() => performance.now());
  }

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => {
      if (!this.#running) this.#running = this.tick().finally(() => (this.#running = undefined));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One look at every staged replicated volume. */
  async tick(signal: AbortSignal = AbortSignal.timeout(60_000)): Promise<void> {
    let records;
    try {
      ({ records } = await this.#deps.records.list());
    } catch (err: unknown) {
      this.#log.warn({ err }, 'mirror watch: cannot list the stage records');
      return;
    }
    const mirrors = records.filter((r): r is MirrorStageRecord => r.version === 2);
    for (const id of this.#state.keys()) if (!mirrors.some((m) => m.volumeId === id)) this.#state.delete(id);
    for (const m of mirrors) {
      try {
        await this.#watch(m, signal);
      } catch (err: unknown) {
        this.#log.warn({ volumeId: m.volumeId, err: err instanceof Error ? err.message : String(err) }, 'mirror watch: this look failed; trying again at the next');
      }
    }
  }

  async #watch(m: MirrorStageRecord, signal: AbortSignal): Promise<void> {
    const status = await this.#deps.dmsetup.raidStatus(m.dmName, signal);
    if (!status) return; // not assembled (yet): stage or unstage is on it
    const state = this.#state.get(m.volumeId) ?? { record: undefined, warned: new Set<number>(), lastRestore: -Infinity, behind: new Set<number>() };
    this.#state.set(m.volumeId, state);
    const alive = status.health.flatMap((h, slot) => (h === 'A' || h === 'a' ? [slot] : []));
    state.record ??= await this.#readRecord(m, alive, state, signal);
    if (!state.record) return;
    const sessionUp = await Promise.all(m.copies.map((c) => this.#copyAnswers(m, c.slot, signal)));
    const action = decideMirrorAction(state.record, status, sessionUp);
    switch (action.kind) {
      case 'none':
        await this.#catchUp(m, state, alive, signal);
        return;
      case 'markOutOfSync':
        for (const slot of action.slots) {
          if (state.warned.has(slot)) continue;
          state.warned.add(slot);
          const copy = m.copies[slot];
          this.#log.warn({ volumeId: m.volumeId, slot, node: copy?.node }, `replicated volume degraded: copy ${slot} on ${copy?.node} failed; writes continue on the other copies`);
        }
        state.record = await this.#bump(m, state, alive, (r) => markOutOfSync(r, action.slots), signal);
        return;
      case 'restore': {
        if (this.#now() - state.lastRestore < RESTORE_BACKOFF_MS) return;
        // The volume's CSI lock (nodeService.ts): a busy volume is looked at again next time.
        const key = `volume ${m.volumeId}`;
        if (!this.#locks.tryAcquire(key)) return;
        try {
          if (!(await this.#deps.dmsetup.raidStatus(m.dmName, signal))) return; // unstaged meanwhile
          state.lastRestore = this.#now();
          this.#log.info({ volumeId: m.volumeId, slots: action.slots }, 'a failed copy answers again: suspend and resume the raid device to re-add it (bitmap resync)');
          await this.#deps.dmsetup.suspend(m.dmName, signal);
          await this.#deps.dmsetup.resume(m.dmName, signal);
        } finally {
          this.#locks.release(key);
        }
        return;
      }
      case 'markAllInSync':
        state.record = await this.#bump(m, state, alive, markAllInSync, signal);
        state.warned.clear();
        this.#log.info({ volumeId: m.volumeId, generation: state.record.generation }, 'replicated volume whole again: every copy in sync');
    }
  }

  /** The newest record the living copies' agents hold; a living copy holding an older one, or none, is behind. */
  async #readRecord(m: MirrorStageRecord, slots: readonly number[], state: VolumeState, signal: AbortSignal): Promise<MirrorRecord | undefined> {
    const read = await Promise.all(
      slots.map(async (slot) => {
        const c = m.copies[slot]!;
        try {
          return (await this.#deps.mirrorRecords.read({ volumeId: m.lvId, storageNode: c.node, agentAddress: c.agentAddress, initiatorIqn: this.#deps.initiatorName }, signal)).record;
        } catch {
          return undefined;
        }
      }),
    );
    const newest = newestRecord(read.filter((r): r is MirrorRecord => r !== undefined));
    if (!newest || !('record' in newest)) return undefined;
    slots.forEach((slot, i) => {
      if ((read[i]?.generation ?? 0) < newest.record.generation) state.behind.add(slot);
    });
    return newest.record;
  }

  /**
   * Brings living copies that missed the current record up to it (their agent did not answer
   * the bump, or they were away for it): without this a copy back from an outage would keep its
   * old record, and a later assembly from it alone would be refused although it is current. The
   * agent takes a record one generation above what the writer expects over any older one.
   */
  async #catchUp(m: MirrorStageRecord, state: VolumeState, alive: readonly number[], signal: AbortSignal): Promise<void> {
    const record = state.record;
    if (!record || record.generation < 2) return;
    for (const slot of [...state.behind]) {
      if (!alive.includes(slot)) continue;
      const c = m.copies[slot]!;
      try {
        const req = { volumeId: m.lvId, storageNode: c.node, agentAddress: c.agentAddress, initiatorIqn: this.#deps.initiatorName };
        const result = await this.#deps.mirrorRecords.compareAndSet({ ...req, expectedGeneration: record.generation - 1, record }, signal);
        if (result.applied) {
          state.behind.delete(slot);
          this.#log.info({ volumeId: m.volumeId, slot, node: c.node, generation: record.generation }, 'a copy that missed the current record caught up');
        } else if (result.current.record.generation > record.generation) {
          state.record = undefined; // someone wrote a newer one: read the copies again next time
          return;
        }
      } catch (err: unknown) {
        this.#log.warn({ volumeId: m.volumeId, slot, node: c.node, err: err instanceof Error ? err.message : String(err) }, 'cannot bring this copy\'s record up to date; trying again later');
      }
    }
  }

  /**
   * Writes `change(record)` to every living copy by compare-and-set. A copy that answers with a
   * newer record (another writer won) makes the change start again from that record; at most a
   * few rounds. Returns the record now held.
   */
  async #bump(m: MirrorStageRecord, state: VolumeState, slots: readonly number[], change: (r: MirrorRecord) => MirrorRecord, signal: AbortSignal): Promise<MirrorRecord> {
    let current = state.record!;
    for (let round = 0; round < 4; round++) {
      const next = change(current);
      if (next === current) return current;
      let newer: MirrorRecord | undefined;
      let written = 0;
      for (const slot of slots) {
        const c = m.copies[slot]!;
        const req = { volumeId: m.lvId, storageNode: c.node, agentAddress: c.agentAddress, initiatorIqn: this.#deps.initiatorName };
        try {
          const result = await this.#deps.mirrorRecords.compareAndSet({ ...req, expectedGeneration: current.generation, record: next }, signal);
          if (result.applied) {
            written += 1;
            state.behind.delete(slot);
          } else if (result.current.record.generation > (newer?.generation ?? current.generation)) newer = result.current.record;
          else state.behind.add(slot);
        } catch (err: unknown) {
          state.behind.add(slot);
          this.#log.warn({ volumeId: m.volumeId, slot, node: c.node, err: err instanceof Error ? err.message : String(err) }, 'cannot write the copies\' record to this copy');
        }
      }
      if (!newer) {
        if (written === 0) throw new Error(`no copy took record generation ${next.generation}`);
        return next;
      }
      current = newer;
    }
    throw new Error('the copies\' record kept changing under this node');
  }

  /** Whether a copy's session is logged in and its disk is there (a failed leg that may be re-added). */
  async #copyAnswers(m: MirrorStageRecord, slot: number, signal: AbortSignal): Promise<boolean> {
    const c = m.copies[slot];
    if (!c) return false;
    const session = await findVolumeSession(this.#deps, recordTarget(c), signal);
    if (!session || (session.sessionState !== undefined && session.sessionState !== 'LOGGED_IN')) return false;
    return (await listSessionDisks(session.sid, sysfs(this.#deps))).length > 0;
  }
}
