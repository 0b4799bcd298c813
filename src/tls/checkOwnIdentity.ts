import { describeIdentity, identityOfSubjectAltName, identityUri } from './identity.ts';
import type { CallerIdentity } from './identity.ts';
import { TlsFileError } from './loadTlsFiles.ts';

/**
 * Checked at start, before any socket: this process's own certificate names the identity its
 * role needs. Without this an agent with another node's certificate, or a controller with an
 * agent's, would start and then fail every call (refused, or unreachable) with no clear reason.
 * `howToIssue` is the `vbs-csi certs` flag that makes the right one.
 */
export function checkOwnIdentity(loaded: { readonly subjectAltName: string; readonly paths: { readonly certPath: string } }, expected: CallerIdentity, howToIssue: string): void {
  const actual = identityOfSubjectAltName(loaded.subjectAltName);
  if (actual !== undefined && identityUri(actual) === identityUri(expected)) return;
  throw new TlsFileError(
    loaded.paths.certPath,
    `the certificate is for ${describeIdentity(actual)}, but this role needs ${identityUri(expected)}; issue one with ${howToIssue}`,
  );
}
