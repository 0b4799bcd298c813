import { FailedPreconditionError } from '../errors.ts';

/**
 * The target refused the login with an authorization failure (iscsiadm exit 24): the CHAP
 * credentials are wrong, or the target has no ACL for this initiator name. LIO answers both
 * with the same status, so the initiator cannot tell them apart.
 */
export class IscsiLoginRefusedError extends FailedPreconditionError {
  readonly targetIqn: string;
  readonly portal: string;
  readonly iface: string;

  constructor(opts: { targetIqn: string; portal: string; iface: string }) {
    super(
      `CHAP authentication failed: ${opts.targetIqn} at ${opts.portal} refused the login from iface ${opts.iface} ` +
        '(wrong CHAP credentials, or no ACL for this initiator name on the target; iscsiadm exit 24)',
    );
    this.targetIqn = opts.targetIqn;
    this.portal = opts.portal;
    this.iface = opts.iface;
  }
}
