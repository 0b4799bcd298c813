import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlacementReservations } from './PlacementReservations.ts';

const GiB = 1024 ** 3;

/** A ledger on a clock the test moves by hand. */
function ledgerAt(startMs: number): { ledger: PlacementReservations; setNow: (ms: number) => void } {
  let nowMs = startMs;
  return { ledger: new PlacementReservations({ now: () => nowMs }), setNow: (ms) => (nowMs = ms) };
}

describe('PlacementReservations', () => {
  it('counts a pending reservation against every status, however new', () => {
    const { ledger } = ledgerAt(1000);
    ledger.reserve('a', 2 * GiB, true);
    ledger.reserve('a', 3 * GiB, true);
    assert.equal(ledger.reservedBytes('a', true, 0), 5 * GiB);
    assert.equal(ledger.reservedBytes('a', true, 10_000), 5 * GiB);
  });

  it('keeps nodes apart, and thin apart from thick', () => {
    const { ledger } = ledgerAt(1000);
    ledger.reserve('a', 1 * GiB, true);
    ledger.reserve('a', 2 * GiB, false);
    ledger.reserve('b', 4 * GiB, true);
    assert.equal(ledger.reservedBytes('a', true, 0), 1 * GiB);
    assert.equal(ledger.reservedBytes('a', false, 0), 2 * GiB);
    assert.equal(ledger.reservedBytes('b', true, 0), 4 * GiB);
    assert.equal(ledger.reservedBytes('b', false, 0), 0);
    assert.equal(ledger.reservedBytes('c', true, 0), 0);
  });

  it('frees released bytes at once', () => {
    const { ledger } = ledgerAt(1000);
    const r = ledger.reserve('a', 2 * GiB, true);
    ledger.reserve('a', 1 * GiB, true);
    ledger.release(r);
    assert.equal(ledger.reservedBytes('a', true, 0), 1 * GiB);
    ledger.release(r);
    assert.equal(ledger.reservedBytes('a', true, 0), 1 * GiB, 'releasing twice changes nothing');
  });

  const settled: Array<{ name: string; statusTakenAtMs: number; counts: boolean }> = [
    { name: 'keeps counting a settled reservation against a status taken before the settle', statusTakenAtMs: 1499, counts: true },
    { name: 'keeps counting it against a status taken in the settle millisecond (it may have been read first)', statusTakenAtMs: 1500, counts: true },
    { name: 'stops counting it against a status taken after the settle', statusTakenAtMs: 1501, counts: false },
  ];
  for (const c of settled) {
    it(c.name, () => {
      const { ledger, setNow } = ledgerAt(1000);
      const r = ledger.reserve('a', 2 * GiB, true);
      setNow(1500);
      ledger.settle(r);
      assert.equal(ledger.reservedBytes('a', true, c.statusTakenAtMs), c.counts ? 2 * GiB : 0);
    });
  }

  it('keeps the first settle time when settled twice', () => {
    const { ledger, setNow } = ledgerAt(1000);
    const r = ledger.reserve('a', 2 * GiB, true);
    setNow(1500);
    ledger.settle(r);
    setNow(3000);
    ledger.settle(r);
    assert.equal(ledger.reservedBytes('a', true, 2000), 0);
  });

  it('ignores a release after a settle: the volume exists until a newer status shows it', () => {
    const { ledger, setNow } = ledgerAt(1000);
    const r = ledger.reserve('a', 2 * GiB, true);
    setNow(1500);
    ledger.settle(r);
    ledger.release(r);
    assert.equal(ledger.reservedBytes('a', true, 1200), 2 * GiB);
  });

  it('ignores a settle after a release', () => {
    const { ledger } = ledgerAt(1000);
    const r = ledger.reserve('a', 2 * GiB, true);
    ledger.release(r);
    ledger.settle(r);
    assert.equal(ledger.reservedBytes('a', true, 0), 0);
    assert.equal(ledger.size, 0);
  });

  it('prunes only settled entries older than the oldest status, and says how many', () => {
    const { ledger, setNow } = ledgerAt(1000);
    const old = ledger.reserve('a', 1 * GiB, true);
    const recent = ledger.reserve('a', 2 * GiB, true);
    ledger.reserve('a', 4 * GiB, true);
    setNow(1100);
    ledger.settle(old);
    setNow(1300);
    ledger.settle(recent);
    assert.equal(ledger.prune(1200), 1);
    assert.equal(ledger.size, 2);
    assert.equal(ledger.reservedBytes('a', true, 0), 6 * GiB, 'the pending and the recently settled entries remain');
    assert.equal(ledger.prune(1300), 0, 'an entry settled at the oldest status time may be missing from it');
  });

  it("measures each node's reservations against that node's own status time", () => {
    const { ledger, setNow } = ledgerAt(1000);
    const a = ledger.reserve('a', 1 * GiB, true);
    const b = ledger.reserve('b', 2 * GiB, true);
    setNow(1500);
    ledger.settle(a);
    ledger.settle(b);
    const reserved = ledger.reservedBytesFor([
      { name: 'a', statusTakenAtMs: 2000 },
      { name: 'b', statusTakenAtMs: 1400 },
    ]);
    assert.equal(reserved('a', true), 0);
    assert.equal(reserved('b', true), 2 * GiB);
    assert.equal(reserved('c', true), 0);
  });

  it('counts every entry, settled or not, for a node without a status', () => {
    const { ledger, setNow } = ledgerAt(1000);
    const r = ledger.reserve('a', 1 * GiB, true);
    setNow(1500);
    ledger.settle(r);
    assert.equal(ledger.reservedBytesFor([])('a', true), 1 * GiB);
  });

  it('stamps each reservation with a distinct id and the clock', () => {
    const { ledger, setNow } = ledgerAt(1000);
    const first = ledger.reserve('a', 1, true);
    setNow(1234);
    const second = ledger.reserve('a', 1, true);
    assert.notEqual(first.id, second.id);
    assert.deepEqual({ ...second, id: 0 }, { id: 0, node: 'a', bytes: 1, thin: true, reservedAtMs: 1234 });
    assert.ok(Object.isFrozen(second));
  });

  it('refuses a size that is not a whole, non-negative, safe number of bytes', () => {
    const { ledger } = ledgerAt(0);
    for (const bytes of [-1, 0.5, Number.NaN, 2 ** 53]) assert.throws(() => ledger.reserve('a', bytes, true), RangeError);
    assert.equal(ledger.size, 0);
  });
  it('hasSettledSince: only a create settled at or after the status time', () => {
    let now = 100;
    const ledger = new PlacementReservations({ now: () => now });
    const r = ledger.reserve('a', 10, true);
    assert.equal(ledger.hasSettledSince('a', 50), false, 'pending is not settled');
    now = 200;
    ledger.settle(r);
    assert.equal(ledger.hasSettledSince('a', 150), true);
    assert.equal(ledger.hasSettledSince('a', 200), true, 'same millisecond: the status may predate it');
    assert.equal(ledger.hasSettledSince('a', 201), false);
    assert.equal(ledger.hasSettledSince('b', 0), false);
  });
});
