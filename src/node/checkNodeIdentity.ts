import { describeIdentity, identityOfSubjectAltName, identityUri } from '../tls/identity.ts';

/** Fails at start, not at the first stage, when the certificate is not this initiator's node identity. */
export function checkNodeIdentity(subjectAltName: string, certPath: string, initiatorIqn: string): void {
  const id = identityOfSubjectAltName(subjectAltName);
  if (id?.kind !== 'node' || id.initiatorIqn !== initiatorIqn.toLowerCase()) {
    throw new Error(
      `${certPath} is ${describeIdentity(id)}, not this node's identity ${identityUri({ kind: 'node', initiatorIqn })}: the agents would refuse it the CHAP credentials (vbs-csi certs --node NAME,iqn=${initiatorIqn})`,
    );
  }
}
