/**
 * An lvm report (lvs/vgs JSON) did not have the shape we asked for: a missing field, a size
 * that is not a safe integer, an lv_attr letter we do not know. Never retried or mapped to a
 * domain error: it means our assumptions about lvm are wrong, so it surfaces as INTERNAL.
 */
export class LvmReportError extends Error {
  override readonly name = 'LvmReportError';
}
