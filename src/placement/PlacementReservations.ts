import type { ReservedBytes } from './types.ts';

/** Bytes promised on one node to a volume being created. Pass it back to release() or settle(). */
export interface Reservation {
  /** For logs: unique within one ledger. */
  readonly id: number;
  readonly node: string;
  readonly bytes: number;
  readonly thin: boolean;
  readonly reservedAtMs: number;
}

interface LedgerEntry {
  readonly reservation: Reservation;
  /** Set by settle(): from then on only statuses taken before this time lack the volume. */
  settledAtMs: number | undefined;
}

export interface PlacementReservationsOptions {
  /** The controller's clock, the same one that stamps StorageNodeCandidate.statusTakenAtMs. */
  readonly now: () => number;
}

/**
 * The controller's ledger of bytes promised to volumes whose CreateVolume is in flight, so that a
 * burst of requests does not place them all on the node whose last status looked emptiest.
 *
 * Life of a reservation:
 *   1. reserve() before calling the agent's CreateVolume: the bytes count against the node;
 *   2a. release() if the create failed: the bytes are free again at once;
 *   2b. settle() if it succeeded: the agent's provisioned figure will include the volume, but only in
 *       a status taken after the settle time, so the entry keeps counting against older statuses;
 *   3. prune() drops settled entries that every status in hand already includes.
 *
 * Thin and thick reservations are counted apart: thin ones against thinAllocatableBytes, thick ones
 * against thickFreeBytes. A thick volume also takes VG space the thin pool could have grown into,
 * and a thin reservation does not lower VG free; both cross effects are ignored on purpose (the
 * agent's own admission check is the last word, and the next status shows the truth).
 *
 * Pure and in memory: losing it on restart only means a burst right after a restart may be placed
 * on slightly stale figures, which the agent's admission check then refuses and the CO retries.
 */
export class PlacementReservations {
  readonly #now: () => number;
  readonly #entries = new Map<Reservation, LedgerEntry>();
  #nextId = 1;

  constructor(options: PlacementReservationsOptions) {
    this.#now = options.now;
  }

  /** Promises `bytes` on `node`; call before the agent's CreateVolume. */
  reserve(node: string, bytes: number, thin: boolean): Reservation {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`reservation must be a whole, non-negative number of bytes, got ${bytes}`);
    const reservation: Reservation = Object.freeze({ id: this.#nextId++, node, bytes, thin, reservedAtMs: this.#now() });
    this.#entries.set(reservation, { reservation, settledAtMs: undefined });
    return reservation;
  }

  /**
   * The create failed: the bytes stop counting at once. Releasing twice is harmless; releasing a
   * settled reservation does nothing, because its volume exists and only a newer status (prune)
   * may stop counting it.
   */
  release(reservation: Reservation): void {
    if (this.#entries.get(reservation)?.settledAtMs === undefined) this.#entries.delete(reservation);
  }

  /**
   * The create succeeded: the entry counts only against statuses taken at or before now. Settling
   * twice keeps the first time; settling a released reservation does nothing (it no longer counts).
   */
  settle(reservation: Reservation): void {
    const entry = this.#entries.get(reservation);
    if (entry !== undefined && entry.settledAtMs === undefined) entry.settledAtMs = this.#now();
  }

  /**
   * Bytes the node's status taken at statusTakenAtMs does not include yet: every pending
   * reservation, plus settled ones whose settle time is >= statusTakenAtMs (a status taken in the
   * same millisecond may have been read before the volume existed, so it counts: err on the safe side).
   */
  reservedBytes(node: string, thin: boolean, statusTakenAtMs: number): number {
    let total = 0;
    for (const { reservation, settledAtMs } of this.#entries.values()) {
      if (reservation.node !== node || reservation.thin !== thin) continue;
      if (settledAtMs === undefined || settledAtMs >= statusTakenAtMs) total += reservation.bytes;
    }
    return total;
  }

  /** Whether a create settled on this node at or after statusTakenAtMs: a newer status would count it exactly. */
  hasSettledSince(node: string, statusTakenAtMs: number): boolean {
    for (const { reservation, settledAtMs } of this.#entries.values()) {
      if (reservation.node === node && settledAtMs !== undefined && settledAtMs >= statusTakenAtMs) return true;
    }
    return false;
  }

  /**
   * The `reserved` argument of choosePlacement for these candidates: each node's reservations
   * measured against the time of its own status. A node not among them counts every entry.
   */
  reservedBytesFor(candidates: readonly { readonly name: string; readonly statusTakenAtMs: number }[]): ReservedBytes {
    const takenAt = new Map(candidates.map((c) => [c.name, c.statusTakenAtMs]));
    return (node, thin) => this.reservedBytes(node, thin, takenAt.get(node) ?? Number.NEGATIVE_INFINITY);
  }

  /** Drops settled entries older than every status in hand (settle time < oldestStatusTakenAtMs); returns how many. */
  prune(oldestStatusTakenAtMs: number): number {
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.settledAtMs !== undefined && entry.settledAtMs < oldestStatusTakenAtMs) {
        this.#entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Entries still held, pending and settled: for metrics and tests. */
  get size(): number {
    return this.#entries.size;
  }
}
