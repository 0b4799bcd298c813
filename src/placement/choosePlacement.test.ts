import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, ResourceExhaustedError, UnavailableError } from '../errors.ts';
import { choosePlacement } from './choosePlacement.ts';
import { PlacementReservations } from './PlacementReservations.ts';
import { GiB, node, none, request } from './testing/candidates.ts';
import type { PlacementRequest, ReservedBytes, StorageNodeCandidate } from './types.ts';


/** Runs choosePlacement expecting a refusal; returns its message. */
function refusal(
  candidates: readonly StorageNodeCandidate[],
  req: PlacementRequest,
  reserved: ReservedBytes = none,
  expected: typeof ResourceExhaustedError | typeof UnavailableError = ResourceExhaustedError,
): string {
  let message = '';
  assert.throws(
    () => choosePlacement(candidates, req, reserved),
    (err: unknown) => {
      assert.ok(err instanceof expected, `expected ${expected.name}, got ${String(err)}`);
      message = err.message;
      return true;
    },
  );
  return message;
}

function load(utilization: number, averageLatencyMs = 0): StorageNodeCandidate['load'] {
  return { utilization, averageLatencyMs };
}

describe('choosePlacement: capacity', () => {
  const cases: Array<{ name: string; node: Partial<StorageNodeCandidate>; req: Partial<PlacementRequest>; reserved?: number; fits: boolean; reason?: string }> = [
    { name: 'places a thin volume that exactly fits what is allocatable', node: { thinAllocatableBytes: 10 * GiB }, req: {}, fits: true },
    { name: 'refuses a thin volume one byte larger than what is allocatable', node: { thinAllocatableBytes: 10 * GiB - 1 }, req: {}, fits: false, reason: 'a: 10.00 GiB (10737418239 bytes) allocatable' },
    { name: 'places a thick volume that exactly fits the VG free space', node: { thickFreeBytes: 10 * GiB }, req: { thin: false }, fits: true },
    { name: 'refuses a thick volume one byte larger than the VG free space', node: { thickFreeBytes: 10 * GiB - 1 }, req: { thin: false }, fits: false, reason: 'a: 10.00 GiB (10737418239 bytes) VG free' },
    { name: 'judges a thin volume by thin allocatable, not by VG free', node: { thinAllocatableBytes: 1 * GiB, thickFreeBytes: 100 * GiB }, req: {}, fits: false, reason: 'a: 1 GiB allocatable' },
    { name: 'judges a thick volume by VG free, not by thin allocatable', node: { thinAllocatableBytes: 100 * GiB, thickFreeBytes: 1 * GiB }, req: { thin: false }, fits: false, reason: 'a: 1 GiB VG free' },
    { name: 'refuses any thin volume from a pool over its limits (allocatable 0), and says so', node: { thinAllocatableBytes: 0 }, req: { sizeBytes: 1 }, fits: false, reason: 'a: 0 B allocatable (thin pool at its usage limits or fully over-provisioned)' },
    { name: 'still places a thick volume next to a thin pool over its limits', node: { thinAllocatableBytes: 0 }, req: { thin: false }, fits: true },
    { name: 'subtracts reserved bytes: exactly fits what is left', node: { thinAllocatableBytes: 13 * GiB }, req: {}, reserved: 3 * GiB, fits: true },
    { name: 'subtracts reserved bytes: one byte short of what is left, naming the reservation', node: { thinAllocatableBytes: 13 * GiB }, req: {}, reserved: 3 * GiB + 1, fits: false, reason: 'a: 10.00 GiB (10737418239 bytes) left of 13 GiB allocatable (3.00 GiB (3221225473 bytes) reserved for volumes being created)' },
    { name: 'treats reservations beyond the figure as nothing left', node: { thinAllocatableBytes: 2 * GiB }, req: {}, reserved: 5 * GiB, fits: false, reason: 'a: 0 B left of 2 GiB allocatable (5 GiB reserved for volumes being created)' },
    { name: 'places a zero-byte volume on a full node that is otherwise fine', node: { thinAllocatableBytes: 0 }, req: { sizeBytes: 0 }, fits: true },
    { name: 'rejects a node whose figure is not a number instead of trusting it', node: { thinAllocatableBytes: Number.NaN }, req: { sizeBytes: 0 }, fits: false, reason: 'a: NaN bytes allocatable' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const candidates = [node('a', c.node)];
      const req = request(c.req);
      const reserved: ReservedBytes = () => c.reserved ?? 0;
      if (c.fits) assert.equal(choosePlacement(candidates, req, reserved).node, 'a');
      else assert.ok(refusal(candidates, req, reserved).endsWith(`: ${c.reason}`), refusal(candidates, req, reserved));
    });
  }

  it('asks for the reservations of the kind of volume requested', () => {
    const asked: string[] = [];
    choosePlacement([node('a')], request({ thin: false }), (name, thin) => {
      asked.push(`${name}/${thin ? 'thin' : 'thick'}`);
      return 0;
    });
    assert.deepEqual(asked, ['a/thick']);
  });

  it('skips a node without room and places on one with room, whatever their loads', () => {
    const decision = choosePlacement([node('idle', { thinAllocatableBytes: 5 * GiB, load: load(0) }), node('busy', { load: load(0.9) })], request(), none);
    assert.equal(decision.node, 'busy');
  });

  it('rejects a size that is not a whole, non-negative, safe number of bytes as an invalid argument', () => {
    for (const sizeBytes of [-1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => choosePlacement([node('a')], request({ sizeBytes }), none), InvalidArgumentError);
    }
  });
});

describe('choosePlacement: load', () => {
  const cases: Array<{ name: string; nodes: StorageNodeCandidate[]; req?: Partial<PlacementRequest>; winner: string }> = [
    {
      name: 'prefers the node with the lower I/O utilization among those with room',
      nodes: [node('a', { load: load(0.6) }), node('b', { load: load(0.2) })],
      winner: 'b',
    },
    {
      name: 'counts latency as load: a node idle by utilization but slow loses',
      nodes: [node('a', { load: load(0.1, 40) }), node('b', { load: load(0.5, 1) })],
      winner: 'b',
    },
    {
      name: 'caps latency at 50 ms, so one pathological latency does not outweigh a saturated neighbour',
      nodes: [node('a', { load: load(0, 5000) }), node('b', { load: load(0.99, 49) })],
      winner: 'a',
    },
    {
      name: 'counts scores within 0.05 of the lowest as equal and lets free space decide',
      nodes: [node('a', { load: load(0.3), thinAllocatableBytes: 20 * GiB }), node('b', { load: load(0.34), thinAllocatableBytes: 80 * GiB })],
      winner: 'b',
    },
    {
      name: 'counts a score exactly 0.05 above the lowest as equal, despite float rounding (0.2 − 0.15 > 0.05 in doubles)',
      nodes: [node('a', { load: load(0.15), thinAllocatableBytes: 20 * GiB }), node('b', { load: load(0.2), thinAllocatableBytes: 80 * GiB })],
      winner: 'b',
    },
    {
      name: 'lets load decide beyond the band, even against much more free space',
      nodes: [node('a', { load: load(0.3), thinAllocatableBytes: 20 * GiB }), node('b', { load: load(0.36), thinAllocatableBytes: 80 * GiB })],
      winner: 'a',
    },
    {
      name: 'measures the band from the lowest score, not from neighbour to neighbour',
      nodes: [
        node('a', { load: load(0.3), thinAllocatableBytes: 20 * GiB }),
        node('b', { load: load(0.34), thinAllocatableBytes: 30 * GiB }),
        node('c', { load: load(0.38), thinAllocatableBytes: 90 * GiB }),
      ],
      winner: 'b',
    },
    {
      name: 'breaks a load tie by the most free space left after reservations',
      nodes: [node('a', { thinAllocatableBytes: 50 * GiB }), node('b', { thinAllocatableBytes: 60 * GiB })],
      winner: 'b',
    },
    {
      name: 'breaks a tie of load and free space by name, whatever the input order',
      nodes: [node('b'), node('c'), node('a')],
      winner: 'a',
    },
    {
      name: 'orders names by code unit, not by locale',
      nodes: [node('b'), node('B')],
      winner: 'B',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(choosePlacement(c.nodes, request(c.req), none).node, c.winner);
      assert.equal(choosePlacement([...c.nodes].reverse(), request(c.req), none).node, c.winner, 'same answer for reversed input');
    });
  }

  it('breaks a load tie by the space left after reservations, not the reported figure', () => {
    const nodes = [node('a', { thinAllocatableBytes: 50 * GiB }), node('b', { thinAllocatableBytes: 60 * GiB })];
    const reserved: ReservedBytes = (name) => (name === 'b' ? 20 * GiB : 0);
    assert.equal(choosePlacement(nodes, request(), reserved).node, 'a');
  });
});

describe('choosePlacement: zones', () => {
  it('prefers the first preferred zone among equally loaded nodes, before free space', () => {
    const nodes = [node('a', { zone: 'za', thinAllocatableBytes: 90 * GiB }), node('b', { zone: 'zb', thinAllocatableBytes: 20 * GiB })];
    assert.equal(choosePlacement(nodes, request({ preferredZones: ['zb', 'za'] }), none).node, 'b');
    assert.equal(choosePlacement(nodes, request({ preferredZones: ['za', 'zb'] }), none).node, 'a');
  });

  it('puts zones missing from the preferred list after every listed zone', () => {
    const nodes = [node('a', { zone: 'zx', thinAllocatableBytes: 90 * GiB }), node('b', { zone: 'zb', thinAllocatableBytes: 20 * GiB })];
    assert.equal(choosePlacement(nodes, request({ preferredZones: ['zb'] }), none).node, 'b');
  });

  it('does not let a preferred zone beat a clearly lower load', () => {
    const nodes = [node('a', { zone: 'za', load: load(0.1) }), node('b', { zone: 'zb', load: load(0.5) })];
    assert.equal(choosePlacement(nodes, request({ preferredZones: ['zb'] }), none).node, 'a');
  });

  it('places only in requisite zones, even on a busier node', () => {
    const nodes = [node('a', { zone: 'za', load: load(0) }), node('b', { zone: 'zb', load: load(0.9) })];
    assert.equal(choosePlacement(nodes, request({ requisiteZones: ['zb', 'zc'] }), none).node, 'b');
  });

  it('names the zone and the requisite zones when no node is in one', () => {
    const message = refusal([node('a', { zone: 'za' })], request({ requisiteZones: ['zb', 'zc'] }));
    assert.equal(message, 'no storage node can hold 10 GiB thin: a: zone za, not in requisite zones zb, zc');
  });

  it('reads an absent or empty requisite list as any zone', () => {
    assert.equal(choosePlacement([node('a', { zone: 'za' })], request(), none).node, 'a');
    assert.equal(choosePlacement([node('a', { zone: 'za' })], request({ requisiteZones: [] }), none).node, 'a');
  });
});

describe('choosePlacement: labels and source node', () => {
  it('keeps only nodes carrying every required label with its value; other labels do not matter', () => {
    const nodes = [
      node('a', { labels: { tier: 'ssd', rack: 'r1' }, load: load(0.9) }),
      node('b', { labels: { tier: 'hdd' }, load: load(0) }),
      node('c', { labels: { rack: 'r1' }, load: load(0) }),
    ];
    assert.equal(choosePlacement(nodes, request({ requiredLabels: { tier: 'ssd' } }), none).node, 'a');
  });

  it('says which labels differ or are missing, all of them', () => {
    const nodes = [node('b', { labels: { tier: 'hdd' } }), node('c', { labels: {} })];
    const message = refusal(nodes, request({ requiredLabels: { tier: 'ssd', disk: 'nvme' } }));
    assert.equal(message, 'no storage node can hold 10 GiB thin: b: tier=hdd, wanted ssd and no disk label, wanted nvme; c: no tier label, wanted ssd and no disk label, wanted nvme');
  });

  it('does not mistake an inherited property for a label', () => {
    const message = refusal([node('a', { labels: {} })], request({ requiredLabels: { toString: 'x' } }));
    assert.equal(message, 'no storage node can hold 10 GiB thin: a: no toString label, wanted x');
  });

  it("places a clone on its source's node even when another node is idler and emptier", () => {
    const nodes = [node('src', { load: load(0.8), thinAllocatableBytes: 20 * GiB }), node('idle', { load: load(0) })];
    const decision = choosePlacement(nodes, request({ onlyNode: 'src' }), none);
    assert.equal(decision.node, 'src');
    assert.match(decision.explanation, /the only eligible node/);
  });

  it("refuses a clone whose source's node has no room, naming only that node", () => {
    const nodes = [node('src', { thinAllocatableBytes: 1 * GiB }), node('idle')];
    assert.equal(refusal(nodes, request({ onlyNode: 'src' })), "no storage node can hold 10 GiB thin: src: 1 GiB allocatable (must be on its source's node src)");
  });

  it("refuses a clone whose source's node is not known, listing the known nodes", () => {
    assert.equal(
      refusal([node('a'), node('b')], request({ onlyNode: 'gone' })),
      "no storage node can hold 10 GiB thin: it must be on its source's node gone, which is not among the known storage nodes (a, b)",
    );
  });
});

describe('choosePlacement: refusals', () => {
  it('excludes unreachable and not-ready nodes however good their figures, with the reason', () => {
    const nodes = [
      node('a', { reachable: false, unreachableReason: 'timeout', load: load(0) }),
      node('b', { ready: false, load: load(0) }),
      node('c', { load: load(0.9) }),
    ];
    assert.equal(choosePlacement(nodes, request(), none).node, 'c');
  });

  it('lists why each node was rejected, in input order', () => {
    const nodes = [
      node('a', { labels: { tier: 'ssd' }, thinAllocatableBytes: 3 * GiB }),
      node('b', { reachable: false, unreachableReason: 'timeout' }),
      node('c', { labels: { tier: 'hdd' } }),
      node('d', { ready: false, labels: { tier: 'ssd' } }),
      node('e', { reachable: false }),
    ];
    const reserved: ReservedBytes = (name) => (name === 'a' ? 1 * GiB : 0);
    assert.equal(
      refusal(nodes, request({ requiredLabels: { tier: 'ssd' } }), reserved, UnavailableError),
      'no storage node can hold 10 GiB thin for now: a: 2 GiB left of 3 GiB allocatable (1 GiB reserved for volumes being created); ' +
        'b: unreachable (timeout); c: tier=hdd, wanted ssd; d: not ready (agent not reconciled or not serving yet); e: unreachable (status poll failed); ' +
        'retry once the unreachable or not-ready node answers',
    );
  });

  it('reports an unreachable node as unreachable, not by its stale labels or figures', () => {
    const message = refusal(
      [node('a', { reachable: false, unreachableReason: 'connection refused', labels: { tier: 'hdd' }, thinAllocatableBytes: 0 })],
      request({ requiredLabels: { tier: 'ssd' } }),
      none,
      UnavailableError,
    );
    assert.equal(message, 'no storage node can hold 10 GiB thin for now: a: unreachable (connection refused); retry once the unreachable or not-ready node answers');
  });

  it('is RESOURCE_EXHAUSTED only when every node was judged and none has room', () => {
    const nodes = [node('a', { thinAllocatableBytes: 1 * GiB }), node('b', { labels: { tier: 'hdd' } })];
    assert.equal(
      refusal(nodes, request({ requiredLabels: { tier: 'ssd' } })),
      'no storage node can hold 10 GiB thin: a: no tier label, wanted ssd; b: tier=hdd, wanted ssd',
    );
  });

  it('is UNAVAILABLE, not RESOURCE_EXHAUSTED, while a not-ready node might have room', () => {
    const nodes = [node('a', { thinAllocatableBytes: 1 * GiB }), node('b', { ready: false })];
    assert.match(refusal(nodes, request(), none, UnavailableError), /^no storage node can hold 10 GiB thin for now: a: 1 GiB allocatable; b: not ready/);
  });

  it('says plainly that no storage node is known when the list is empty, and asks for a retry', () => {
    assert.equal(
      refusal([], request({ thin: false, sizeBytes: 512 * 1024 ** 2 }), none, UnavailableError),
      'no storage node can hold 512 MiB thick for now: no storage node is known (none has reported a status yet)',
    );
  });
});

describe('choosePlacement: explanation', () => {
  it('names the winner, why it won, its figures, the runner-up figures and the rejected nodes, on one line', () => {
    const nodes = [
      node('a', { zone: 'za', load: load(0.25, 5), thinAllocatableBytes: 40 * GiB }),
      node('b', { zone: 'zb', load: load(0.5, 10), thinAllocatableBytes: 80 * GiB }),
      node('c', { reachable: false, unreachableReason: 'timeout' }),
    ];
    const decision = choosePlacement(nodes, request(), (name) => (name === 'a' ? 2 * GiB : 0));
    assert.equal(
      decision.explanation,
      'placed 10 GiB thin on a: lowest I/O load; load 0.35 (utilization 25%, latency 5.0 ms), 38 GiB left of 40 GiB allocatable, 2 GiB reserved, zone za; ' +
        'runner-up b: load 0.70 (utilization 50%, latency 10.0 ms), 80 GiB left of 80 GiB allocatable, zone zb; 2 of 3 considered nodes eligible; rejected: c: unreachable (timeout)',
    );
    assert.doesNotMatch(decision.explanation, /\n/);
  });

  const reasons: Array<{ name: string; nodes: StorageNodeCandidate[]; req?: Partial<PlacementRequest>; reason: string }> = [
    { name: 'the preferred zone', nodes: [node('a', { zone: 'za' }), node('b', { zone: 'zb' })], req: { preferredZones: ['zb'] }, reason: 'b: loads within 0.05, preferred zone zb' },
    { name: 'free space', nodes: [node('a'), node('b', { thinAllocatableBytes: 200 * GiB })], reason: 'b: loads within 0.05, most free space' },
    { name: 'the name', nodes: [node('b'), node('a')], reason: 'a: loads within 0.05 and equal free space, first by name' },
    { name: 'being alone', nodes: [node('a')], reason: 'a: the only eligible node' },
  ];
  for (const c of reasons) {
    it(`says when ${c.name} decided`, () => {
      const decision = choosePlacement(c.nodes, request(c.req), none);
      assert.ok(decision.explanation.startsWith(`placed 10 GiB thin on ${c.reason}; `), decision.explanation);
    });
  }
});

describe('choosePlacement with PlacementReservations', () => {
  it('spreads a burst of 20 unsettled creates over both nodes, never past either one\'s allocatable', () => {
    let nowMs = 2000;
    const ledger = new PlacementReservations({ now: () => nowMs });
    const nodes = [node('a', { thinAllocatableBytes: 11 * GiB }), node('b', { thinAllocatableBytes: 9 * GiB })];
    const placed = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      nowMs += 10;
      const { node: chosen } = choosePlacement(nodes, request({ sizeBytes: 1 * GiB }), ledger.reservedBytesFor(nodes));
      ledger.reserve(chosen, 1 * GiB, true);
      placed.set(chosen, (placed.get(chosen) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(placed), { a: 11, b: 9 });
    assert.equal(ledger.reservedBytes('a', true, 1000), 11 * GiB);
    assert.equal(ledger.reservedBytes('b', true, 1000), 9 * GiB);
    assert.match(
      refusal(nodes, request({ sizeBytes: 1 * GiB }), ledger.reservedBytesFor(nodes)),
      /^no storage node can hold 1 GiB thin: a: 0 B left of 11 GiB allocatable \(11 GiB reserved.*; b: 0 B left of 9 GiB allocatable \(9 GiB reserved/,
    );
  });

  it('counts thick reservations against VG free only, leaving thin room alone', () => {
    const ledger = new PlacementReservations({ now: () => 0 });
    const nodes = [node('a', { thinAllocatableBytes: 10 * GiB, thickFreeBytes: 10 * GiB })];
    ledger.reserve('a', 10 * GiB, false);
    assert.equal(choosePlacement(nodes, request(), ledger.reservedBytesFor(nodes)).node, 'a');
    refusal(nodes, request({ thin: false }), ledger.reservedBytesFor(nodes));
  });

  it('stops counting a settled create once a status taken after the settle arrives', () => {
    let nowMs = 1000;
    const ledger = new PlacementReservations({ now: () => nowMs });
    const before = [node('a', { thinAllocatableBytes: 10 * GiB, statusTakenAtMs: 900 })];
    const r = ledger.reserve('a', 6 * GiB, true);
    nowMs = 1100;
    ledger.settle(r);
    // The status from 900 does not include the new volume yet: 4 GiB left.
    refusal(before, request({ sizeBytes: 5 * GiB }), ledger.reservedBytesFor(before));
    assert.equal(choosePlacement(before, request({ sizeBytes: 4 * GiB }), ledger.reservedBytesFor(before)).node, 'a');
    // The agent's status from 1200 includes it in provisioned; counting it again would leave nothing.
    const after = [node('a', { thinAllocatableBytes: 4 * GiB, statusTakenAtMs: 1200 })];
    assert.equal(choosePlacement(after, request({ sizeBytes: 4 * GiB }), ledger.reservedBytesFor(after)).node, 'a');
  });

  it('frees released bytes for the very next placement', () => {
    const ledger = new PlacementReservations({ now: () => 0 });
    const nodes = [node('a', { thinAllocatableBytes: 10 * GiB })];
    const r = ledger.reserve('a', 10 * GiB, true);
    refusal(nodes, request(), ledger.reservedBytesFor(nodes));
    ledger.release(r);
    assert.equal(choosePlacement(nodes, request(), ledger.reservedBytesFor(nodes)).node, 'a');
  });
});
