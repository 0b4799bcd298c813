import { identityUri, parseIdentityUri } from '../tls/identity.ts';
import type { CallerIdentity } from '../tls/identity.ts';
import type { CsrView } from '../kube/certificateSigningRequests.ts';

/**
 * Who may get which certificate from the in-cluster signer: the one place this is decided
 * (pure; docs/security.md, "Certificates issued in the cluster").
 *
 * Kubernetes vouches for two things in every CertificateSigningRequest, fields the requester
 * cannot set: `spec.username` (the ServiceAccount whose token created it) and `spec.extra`, where
 * a bound pod token (Kubernetes >= 1.32, ServiceAccountTokenPodNodeInfo) carries the node of the
 * pod it was issued to as `authentication.kubernetes.io/node-name`. So:
 * - an agent gets `urn:vbs-csi:agent:<that node>` and the agents' Service name, and nothing else;
 * - a node plugin gets `urn:vbs-csi:node:<iqn>` only when <iqn> is the node id the CSINode of that
 *   node registered for this driver (kubelet writes CSINode, from NodeGetInfo through
 *   node-driver-registrar, with the node's own credentials: the NodeRestriction admission plugin
 *   lets a kubelet write only its own CSINode).
 * Anything else in the request (another identity, other names, other usages) is refused, never
 * trimmed: a request that asks for more than its holder may have is a bug or an attack.
 */

/** The API server's extra key for the node of a bound pod token (Kubernetes docs: "Service account tokens", bound token claims). */
export const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';

export type SignerRole = 'agent' | 'node';

export interface SignerPolicy {
  /** signerName → role, e.g. vbs.csi.io/agent → agent. */
  readonly signers: Readonly<Record<string, SignerRole>>;
  /** The one user each role's requests must come from: system:serviceaccount:<namespace>:<name>. */
  readonly requesters: Readonly<Record<SignerRole, string>>;
  /** The DNS names an agent's certificate may carry (the controller checks agents against one of them). */
  readonly agentDnsNames: readonly string[];
  /** The longest validity issued; a request may ask for less (spec.expirationSeconds). */
  readonly maxValiditySeconds: number;
}

/** What the signer read from one CertificateSigningRequest (as the API holds it) and its CSR (what it asks for). */
export type CsrFacts = Pick<CsrView, 'name' | 'signerName' | 'username' | 'extra' | 'usages' | 'expirationSeconds'> & {
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly otherNames: readonly string[];
};

export type Decision =
  | { readonly kind: 'issue'; readonly identity: CallerIdentity; readonly dnsNames: readonly string[]; readonly usages: 'server' | 'client'; readonly validSeconds: number; readonly message: string }
  | { readonly kind: 'deny'; readonly reason: string; readonly message: string }
  /** Not now: e.g. the node's CSINode does not name this driver yet (node-driver-registrar registers after the plugin starts). */
  | { readonly kind: 'wait'; readonly message: string }
  /** A node plugin's request: decide again with the node id the node's CSINode registered. */
  | { readonly kind: 'lookup-node-id'; readonly node: string };

/** The usages Kubernetes must record for each role (CertificateSigningRequest spec.usages). */
export const ROLE_USAGES: Readonly<Record<SignerRole, readonly string[]>> = {
  agent: ['digital signature', 'server auth'],
  node: ['digital signature', 'client auth'],
};

/**
 * Decides one request. For a node plugin's request it first answers `lookup-node-id`; the caller
 * reads the CSINode and calls again with `registeredNodeId` (null when that CSINode does not
 * register this driver, or does not exist).
 */
export function decideCsr(facts: CsrFacts, policy: SignerPolicy, registeredNodeId?: string | null): Decision {
  const role = policy.signers[facts.signerName];
  if (role === undefined) return deny('UnknownSigner', `signer ${facts.signerName} is not one of this driver's`);
  const expected = policy.requesters[role];
  if (facts.username !== expected) return deny('WrongRequester', `requests for ${facts.signerName} must come from ${expected}, not ${facts.username}`);
  const nodes = facts.extra[NODE_NAME_EXTRA] ?? [];
  if (nodes.length !== 1 || nodes[0] === '') {
    return deny(
      'NoNodeBinding',
      `the request carries no ${NODE_NAME_EXTRA} (it must be made with the pod's bound ServiceAccount token, Kubernetes 1.32 or later); the signer cannot tell which node the requester runs on`,
    );
  }
  const node = nodes[0] as string;
  const wantedUsages = ROLE_USAGES[role];
  if (facts.usages.length !== wantedUsages.length || !wantedUsages.every((u) => facts.usages.includes(u))) {
    return deny('WrongUsages', `a ${role} certificate has usages [${wantedUsages.join(', ')}], not [${facts.usages.join(', ')}]`);
  }
  if (facts.otherNames.length > 0) return deny('ExtraNames', `the request asks for names a ${role} certificate never carries: ${facts.otherNames.join(', ')}`);
  if (facts.uris.length !== 1) return deny('WrongIdentity', `the request must name exactly one identity URI, not ${facts.uris.length}`);
  const asked = parseIdentityUri(facts.uris[0] as string);
  if (asked === undefined || asked.kind !== role) return deny('WrongIdentity', `a ${role} may be issued urn:vbs-csi:${role}:… only, not ${facts.uris[0]}`);
  const validSeconds = Math.min(policy.maxValiditySeconds, facts.expirationSeconds ?? policy.maxValiditySeconds);

  if (asked.kind === 'agent') {
    if (asked.storageNode !== node) return deny('NodeMismatch', `the requester runs on node ${node}, so it may be ${identityUri({ kind: 'agent', storageNode: node })}, not ${facts.uris[0]}`);
    const extra = facts.dnsNames.filter((d) => !policy.agentDnsNames.includes(d));
    if (extra.length > 0) return deny('ExtraNames', `an agent certificate may name ${policy.agentDnsNames.join(', ')} only, not ${extra.join(', ')}`);
    return { kind: 'issue', identity: asked, dnsNames: policy.agentDnsNames, usages: 'server', validSeconds, message: `agent of node ${node} (${facts.username})` };
  }
  if (facts.dnsNames.length > 0) return deny('ExtraNames', `a node plugin's certificate names no host: ${facts.dnsNames.join(', ')}`);
  if (asked.kind !== 'node') return deny('WrongIdentity', `unexpected identity ${facts.uris[0]}`);
  if (registeredNodeId === undefined) return { kind: 'lookup-node-id', node };
  if (registeredNodeId === null) return { kind: 'wait', message: `the CSINode of ${node} does not register this driver yet (node-driver-registrar registers it once the node plugin answers NodeGetInfo)` };
  if (registeredNodeId.toLowerCase() !== asked.initiatorIqn) {
    return deny('NodeIdMismatch', `node ${node} registered node id ${registeredNodeId} for this driver, so its node plugin may be urn:vbs-csi:node:${registeredNodeId.toLowerCase()}, not ${facts.uris[0]}`);
  }
  return { kind: 'issue', identity: asked, dnsNames: [], usages: 'client', validSeconds, message: `node plugin of node ${node}, initiator ${asked.initiatorIqn} (${facts.username})` };
}

function deny(reason: string, message: string): Decision {
  return { kind: 'deny', reason, message };
}
