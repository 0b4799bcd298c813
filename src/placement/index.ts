export type { PlacementDecision, PlacementRequest, ReservedBytes, StorageNodeCandidate, StorageNodeLoad } from './types.ts';
export { choosePlacement } from './choosePlacement.ts';
export { LATENCY_SATURATION_MS, LOAD_TOLERANCE, computeLoadScore } from './policy.ts';
export { PlacementReservations } from './PlacementReservations.ts';
export type { PlacementReservationsOptions, Reservation } from './PlacementReservations.ts';
export { formatBytes } from './formatBytes.ts';
export { chooseMirrorPlacement } from './chooseMirrorPlacement.ts';
export type { MirrorPlacementDecision } from './chooseMirrorPlacement.ts';
