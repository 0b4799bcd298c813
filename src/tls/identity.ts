import type { PeerCertificate } from 'node:tls';

/**
 * Who is calling, as the cluster CA vouched for it: the one place the identity scheme lives.
 *
 * Every certificate `vbs-csi certs` issues carries exactly one subjectAltName URI of the form
 * `urn:vbs-csi:<role>[:<name>]`. The common name is never trusted (it is free text); a URI SAN is
 * what TLS libraries treat as an identity (RFC 5280 4.2.1.6), and it cannot be confused with a
 * host name, so a certificate for a node cannot pass as an agent's server name or the reverse.
 *
 * - `urn:vbs-csi:controller`: the controller; may call every agent RPC.
 * - `urn:vbs-csi:node:<initiator iqn>`: one worker's node plugin; may only ask an agent for the
 *   CHAP credentials of that initiator (docs/security.md).
 * - `urn:vbs-csi:agent:<storage node>`: one storage agent's server certificate; clients check that
 *   the agent they reached is the storage node they meant.
 */
export type CallerIdentity =
  | { readonly kind: 'controller' }
  | { readonly kind: 'node'; readonly initiatorIqn: string }
  | { readonly kind: 'agent'; readonly storageNode: string };

const PREFIX = 'urn:vbs-csi:';
/** IQN as open-iscsi and LIO accept it (RFC 3720 3.2.6.3.1), compared in lowercase like LIO does. */
const IQN = /^iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9.:-]+$/;
/** A storage node name: a DNS-1123 subdomain (its Kubernetes node name). */
const STORAGE_NODE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

export function identityUri(id: CallerIdentity): string {
  switch (id.kind) {
    case 'controller':
      return `${PREFIX}controller`;
    case 'node': {
      const iqn = id.initiatorIqn.toLowerCase();
      if (!IQN.test(iqn) || iqn.length > 223) throw new Error(`node identity ${JSON.stringify(id.initiatorIqn)} is not an iSCSI initiator name (iqn.YYYY-MM.…)`);
      return `${PREFIX}node:${iqn}`;
    }
    case 'agent':
      if (!STORAGE_NODE.test(id.storageNode) || id.storageNode.length > 253) {
        throw new Error(`agent identity ${JSON.stringify(id.storageNode)} is not a storage node name (a DNS-1123 subdomain)`);
      }
      return `${PREFIX}agent:${id.storageNode}`;
  }
}

/** The identity a URI names, or undefined when it is not one of ours or malformed. */
export function parseIdentityUri(uri: string): CallerIdentity | undefined {
  if (!uri.startsWith(PREFIX)) return undefined;
  const rest = uri.slice(PREFIX.length);
  if (rest === 'controller') return { kind: 'controller' };
  if (rest.startsWith('node:')) {
    const iqn = rest.slice('node:'.length);
    return IQN.test(iqn) && iqn.length <= 223 ? { kind: 'node', initiatorIqn: iqn } : undefined;
  }
  if (rest.startsWith('agent:')) {
    const name = rest.slice('agent:'.length);
    return STORAGE_NODE.test(name) && name.length <= 253 ? { kind: 'agent', storageNode: name } : undefined;
  }
  return undefined;
}

/**
 * The identity in a certificate's subjectAltName (Node's `subjectaltname` text, e.g.
 * `DNS:a, URI:urn:vbs-csi:controller`). Exactly one of our URIs must be there: none, or two
 * different ones, is no identity (undefined), never a guess.
 */
export function identityOfSubjectAltName(subjectAltName: string | undefined): CallerIdentity | undefined {
  if (!subjectAltName) return undefined;
  const uris = subjectAltName
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length))
    .filter((uri) => uri.startsWith(PREFIX));
  const distinct = [...new Set(uris)];
  if (distinct.length !== 1) return undefined;
  return parseIdentityUri(distinct[0] as string);
}

/** The identity of a TLS peer as grpc-js or node:tls shows its certificate. */
export function identityOfPeerCertificate(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined | null): CallerIdentity | undefined {
  return identityOfSubjectAltName(cert?.subjectaltname);
}

/** For logs and refusals: the URI, which names the role and the node. */
export function describeIdentity(id: CallerIdentity | undefined): string {
  return id === undefined ? 'a certificate with no vbs-csi identity' : identityUri(id);
}
