import type { Timestamp, Timestamp__Output } from '../generated/google/protobuf/Timestamp.ts';

/** google.protobuf.Timestamp from a Date (millisecond precision), for CSI and agent messages alike. */
export function timestampOf(date: Date): Timestamp {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** A Date from a google.protobuf.Timestamp; an absent one reads as the epoch. */
export function dateOf(ts: Timestamp__Output | null): Date {
  return ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000)) : new Date(0);
}
