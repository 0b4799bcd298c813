import { InvalidArgumentError, ResourceExhaustedError, UnavailableError } from '../errors.ts';
import { formatBytes } from './formatBytes.ts';
import { LOAD_TOLERANCE, computeLoadScore, isWithinLoadTolerance } from './policy.ts';
import type { PlacementDecision, PlacementRequest, ReservedBytes, StorageNodeCandidate } from './types.ts';

/** A node that passed every filter, with the figures the ranking and the explanation use. */
export interface EligibleNode {
  readonly candidate: StorageNodeCandidate;
  readonly capacityBytes: number;
  readonly reservedBytes: number;
  /** capacityBytes − reservedBytes: what a new volume may still take. */
  readonly leftBytes: number;
  readonly loadScore: number;
  /** Position of the node's zone in preferredZones; unlisted zones come after all listed ones. */
  readonly zoneRank: number;
}

/**
 * Picks the storage node for a new volume (the design's placement policy):
 *   1. keep the nodes that are reachable, ready, carry every required label, sit in a requisite
 *      zone (when given), are onlyNode (when given), and have room: thin allocatable (thin) or VG
 *      free (thick) minus `reserved` bytes >= sizeBytes;
 *   2. among them, the lowest load score (policy.ts) wins, with every score within LOAD_TOLERANCE
 *      of the lowest counting as equal;
 *   3. among equals: the zone first in preferredZones, then the most bytes left after
 *      reservations, then the name (code-unit order, so the result never depends on a locale).
 * Throws ResourceExhaustedError naming each node and why it was rejected, and InvalidArgumentError
 * for a size that is not a whole, non-negative, safe number of bytes. When no node fits but some
 * node could not be judged (no status yet, unreachable or not ready), the refusal is
 * UnavailableError instead: that node may well have room, so the CO should retry rather than
 * report the pool as full.
 */
export function choosePlacement(
  candidates: readonly StorageNodeCandidate[],
  req: PlacementRequest,
  reserved: ReservedBytes,
): PlacementDecision {
  const judged = judgeCandidates(candidates, req, reserved);
  const { eligible, rejections, unjudged, onlyNote } = judged;
  if (eligible.length === 0) {
    const why = `${rejections.join('; ')}${onlyNote}`;
    throw unjudged > 0 ? judged.unavailable(`${why}; retry once the unreachable or not-ready node answers`) : judged.exhausted(why);
  }

  const ranked = rankEligible(eligible);
  const winner = ranked[0]!;
  return { node: winner.candidate.name, explanation: explainDecision(judged.what, ranked, rejections, req.thin) };
}

/** The filters' verdict on every candidate, and the refusals in the words of this request. */
export interface JudgedCandidates {
  readonly what: string;
  readonly eligible: readonly EligibleNode[];
  /** "<node>: why not", one per rejected candidate. */
  readonly rejections: readonly string[];
  /** Rejected candidates that could not be judged (unreachable, not ready): they may have room. */
  readonly unjudged: number;
  readonly onlyNote: string;
  exhausted(why: string): ResourceExhaustedError;
  unavailable(why: string): UnavailableError;
}

/** Step 1 of choosePlacement, shared with chooseMirrorPlacement. */
export function judgeCandidates(candidates: readonly StorageNodeCandidate[], req: PlacementRequest, reserved: ReservedBytes, subject = 'no storage node can hold'): JudgedCandidates {
  if (!Number.isSafeInteger(req.sizeBytes) || req.sizeBytes < 0) {
    throw new InvalidArgumentError(`volume size must be a whole number of bytes from 0 to ${Number.MAX_SAFE_INTEGER}, got ${req.sizeBytes}`);
  }
  const what = `${formatBytes(req.sizeBytes)} ${req.thin ? 'thin' : 'thick'}`;
  const exhausted = (why: string): ResourceExhaustedError => new ResourceExhaustedError(`${subject} ${what}: ${why}`);
  const unavailable = (why: string): UnavailableError => new UnavailableError(`${subject} ${what} for now: ${why}`);

  if (candidates.length === 0) throw unavailable('no storage node is known (none has reported a status yet)');
  let considered = candidates;
  let onlyNote = '';
  if (req.onlyNode !== undefined) {
    const only = req.onlyNode;
    considered = candidates.filter((c) => c.name === only);
    if (considered.length === 0) {
      throw exhausted(`it must be on its source's node ${only}, which is not among the known storage nodes (${candidates.map((c) => c.name).join(', ')})`);
    }
    onlyNote = ` (must be on its source's node ${only})`;
  }

  const eligible: EligibleNode[] = [];
  const rejections: string[] = [];
  let unjudged = 0;
  for (const candidate of considered) {
    const verdict = evaluateCandidate(candidate, req, reserved);
    if (typeof verdict === 'string') {
      rejections.push(`${candidate.name}: ${verdict}`);
      if (!candidate.reachable || !candidate.ready) unjudged += 1;
    } else eligible.push(verdict);
  }
  return { what, eligible, rejections, unjudged, onlyNote, exhausted, unavailable };
}

/** The node's figures if it may take the volume, or why not. The filters run in a fixed order and the first failure is reported. */
function evaluateCandidate(candidate: StorageNodeCandidate, req: PlacementRequest, reserved: ReservedBytes): EligibleNode | string {
  if (!candidate.reachable) return `unreachable (${candidate.unreachableReason ?? 'status poll failed'})`;
  if (!candidate.ready) return 'not ready (agent not reconciled or not serving yet)';

  const labelMismatches = Object.entries(req.requiredLabels).flatMap(([key, wanted]) => {
    const actual = Object.hasOwn(candidate.labels, key) ? candidate.labels[key] : undefined;
    if (actual === wanted) return [];
    return [actual === undefined ? `no ${key} label, wanted ${wanted}` : `${key}=${actual}, wanted ${wanted}`];
  });
  if (labelMismatches.length > 0) return labelMismatches.join(' and ');

  // An empty requisite list cannot come from a valid CSI request; read it as "any zone" rather than "no zone".
  const requisite = req.requisiteZones;
  if (requisite !== undefined && requisite.length > 0 && !requisite.includes(candidate.zone)) {
    return `zone ${candidate.zone}, not in requisite zones ${requisite.join(', ')}`;
  }

  const capacityBytes = req.thin ? candidate.thinAllocatableBytes : candidate.thickFreeBytes;
  const reservedBytes = reserved(candidate.name, req.thin);
  const leftBytes = capacityBytes - reservedBytes;
  // Written as !(>=) so that a NaN figure rejects the node instead of admitting it.
  if (!(leftBytes >= req.sizeBytes)) return describeCapacity(capacityBytes, reservedBytes, req.thin);

  const preferred = req.preferredZones ?? [];
  const zoneIndex = preferred.indexOf(candidate.zone);
  return {
    candidate,
    capacityBytes,
    reservedBytes,
    leftBytes,
    loadScore: computeLoadScore(candidate.load),
    zoneRank: zoneIndex === -1 ? preferred.length : zoneIndex,
  };
}

/** The agent figure a volume of this kind is measured against. */
function capacityFigureName(thin: boolean): string {
  return thin ? 'allocatable' : 'VG free';
}

function describeCapacity(capacityBytes: number, reservedBytes: number, thin: boolean): string {
  const figure = capacityFigureName(thin);
  if (reservedBytes === 0) {
    const hint = thin && capacityBytes <= 0 ? ' (thin pool at its usage limits or fully over-provisioned)' : '';
    return `${formatBytes(capacityBytes)} ${figure}${hint}`;
  }
  const left = Math.max(0, capacityBytes - reservedBytes);
  return `${formatBytes(left)} left of ${formatBytes(capacityBytes)} ${figure} (${formatBytes(reservedBytes)} reserved for volumes being created)`;
}

/** Best first: the load band, then preferred zone, bytes left and name; nodes outside the band follow by score. */
export function rankEligible(eligible: readonly EligibleNode[]): EligibleNode[] {
  const bestScore = Math.min(...eligible.map((e) => e.loadScore));
  const inBand = (e: EligibleNode): boolean => isWithinLoadTolerance(e.loadScore, bestScore);
  return [...eligible].sort((a, b) => {
    const aIn = inBand(a);
    const bIn = inBand(b);
    if (aIn !== bIn) return aIn ? -1 : 1;
    if (!aIn && a.loadScore !== b.loadScore) return a.loadScore - b.loadScore;
    return a.zoneRank - b.zoneRank || b.leftBytes - a.leftBytes || compareNames(a.candidate.name, b.candidate.name);
  });
}

function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Why the winner beat the runner-up, naming the first criterion that separated them. */
export function describeWinReason(winner: EligibleNode, runnerUp: EligibleNode | undefined): string {
  if (runnerUp === undefined) return 'the only eligible node';
  if (!isWithinLoadTolerance(runnerUp.loadScore, winner.loadScore)) return 'lowest I/O load';
  const band = `loads within ${LOAD_TOLERANCE}`;
  if (winner.zoneRank !== runnerUp.zoneRank) return `${band}, preferred zone ${winner.candidate.zone}`;
  if (winner.leftBytes !== runnerUp.leftBytes) return `${band}, most free space`;
  return `${band} and equal free space, first by name`;
}

export function describeFigures(e: EligibleNode, thin: boolean): string {
  const { utilization, averageLatencyMs } = e.candidate.load;
  const figure = capacityFigureName(thin);
  const reservedNote = e.reservedBytes === 0 ? '' : `, ${formatBytes(e.reservedBytes)} reserved`;
  return (
    `load ${e.loadScore.toFixed(2)} (utilization ${(utilization * 100).toFixed(0)}%, latency ${averageLatencyMs.toFixed(1)} ms), ` +
    `${formatBytes(e.leftBytes)} left of ${formatBytes(e.capacityBytes)} ${figure}${reservedNote}, zone ${e.candidate.zone}`
  );
}

function explainDecision(what: string, ranked: readonly EligibleNode[], rejections: readonly string[], thin: boolean): string {
  const [winner, runnerUp] = ranked;
  const parts = [`placed ${what} on ${winner!.candidate.name}: ${describeWinReason(winner!, runnerUp)}; ${describeFigures(winner!, thin)}`];
  if (runnerUp !== undefined) parts.push(`runner-up ${runnerUp.candidate.name}: ${describeFigures(runnerUp, thin)}`);
  parts.push(`${ranked.length} of ${ranked.length + rejections.length} considered nodes eligible`);
  if (rejections.length > 0) parts.push(`rejected: ${rejections.join('; ')}`);
  return parts.join('; ');
}
