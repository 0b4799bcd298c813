import { InvalidArgumentError } from '../errors.ts';
import { describeFigures, describeWinReason, judgeCandidates, rankEligible } from './choosePlacement.ts';
import type { EligibleNode } from './choosePlacement.ts';
import type { PlacementRequest, ReservedBytes, StorageNodeCandidate } from './types.ts';

export interface MirrorPlacementDecision {
  /** One storage node per copy, in slot order (slot 0 is the best placed). */
  readonly nodes: readonly string[];
  /** One line: each copy's node and why, and what was rejected (the controller logs it at debug). */
  readonly explanation: string;
}

/**
 * Picks `copies` distinct storage nodes for the copies of a replicated volume (docs/replication.md).
 * `req.sizeBytes` is what one copy takes on its node (data + the dm-raid header); the filters are
 * choosePlacement's (reachable, ready, labels, requisite zones, room after reservations), and
 * they apply to every copy. The copies are picked one by one, each the best ranked (load band,
 * preferred zone, bytes left, name) among the eligible nodes left, preferring a node in a zone no
 * copy is in yet: copies land in distinct zones when enough zones have an eligible node, and in
 * as many zones as there are otherwise, so the loss of a zone takes as few copies as it can.
 *
 * Fewer eligible nodes than copies: ResourceExhaustedError saying how many were eligible and why
 * each other node was not; UnavailableError instead when the nodes that could not be judged
 * (unreachable, not ready) would make up the count, as choosePlacement does for one copy.
 */
export function chooseMirrorPlacement(
  candidates: readonly StorageNodeCandidate[],
  req: PlacementRequest,
  copies: number,
  reserved: ReservedBytes,
): MirrorPlacementDecision {
  if (!Number.isSafeInteger(copies) || copies < 1) throw new InvalidArgumentError(`a replicated volume has at least one copy, got ${copies}`);
  if (req.onlyNode !== undefined) throw new InvalidArgumentError('the copies of a replicated volume go to distinct storage nodes; onlyNode cannot be honoured');
  const judged = judgeCandidates(candidates, req, reserved, `no ${copies} storage nodes can each hold a copy of`);
  const { eligible, rejections, unjudged } = judged;
  if (eligible.length < copies) {
    const names = eligible.map((e) => e.candidate.name).join(', ');
    const why = `${eligible.length} of ${eligible.length + rejections.length} storage nodes eligible${eligible.length > 0 ? ` (${names})` : ''}, ${copies} needed (one per copy)` +
      (rejections.length > 0 ? `; rejected: ${rejections.join('; ')}` : '');
    throw eligible.length + unjudged >= copies ? judged.unavailable(`${why}; retry once the unreachable or not-ready nodes answer`) : judged.exhausted(why);
  }

  const picked: EligibleNode[] = [];
  const reasons: string[] = [];
  let left = [...eligible];
  for (let slot = 0; slot < copies; slot++) {
    const usedZones = new Set(picked.map((p) => p.candidate.zone));
    const newZone = left.filter((e) => !usedZones.has(e.candidate.zone));
    const pool = newZone.length > 0 ? newZone : left;
    const [winner, runnerUp] = rankEligible(pool);
    picked.push(winner!);
    const zoneNote = newZone.length > 0 ? (slot > 0 ? `, a zone no other copy is in` : '') : `; every eligible zone already has a copy`;
    reasons.push(`copy ${slot} on ${winner!.candidate.name}: ${describeWinReason(winner!, runnerUp)}${zoneNote}; ${describeFigures(winner!, req.thin)}`);
    left = left.filter((e) => e !== winner);
  }
  const parts = [`placed ${copies} copies of ${judged.what}`, ...reasons, `${eligible.length} of ${eligible.length + rejections.length} considered nodes eligible`];
  if (rejections.length > 0) parts.push(`rejected: ${rejections.join('; ')}`);
  return { nodes: picked.map((p) => p.candidate.name), explanation: parts.join('; ') };
}
