import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from '../errors.ts';
import type { AgentCredentialsHandlers } from '../generated/vbs/agent/v1/AgentCredentials.ts';
import type { AgentStatusHandlers } from '../generated/vbs/agent/v1/AgentStatus.ts';
import type { AgentVolumesHandlers } from '../generated/vbs/agent/v1/AgentVolumes.ts';
import { describeIdentity, identityOfPeerCertificate } from '../tls/identity.ts';
import type { CallerIdentity } from '../tls/identity.ts';

/**
 * Who may call which agent RPC (docs/security.md, "authorization by identity"). The identity is
 * the one URI in the caller's client certificate (src/tls/identity.ts); the TLS handshake has
 * already proved the cluster CA issued it.
 *
 * - `controller`: only the controller's identity: it creates, exports and deletes volumes and
 *   reads every storage node's status.
 * - `node`: only a node plugin's identity; the handler must also check that the request is about
 *   that node's own initiator (requireNodeCaller), which the table cannot see.
 *
 * An agent's identity (a server certificate) may call nothing. The table is typed by the
 * generated handler interfaces, so a new RPC in proto/agent.proto does not compile without an
 * entry; a method the table does not name is refused anyway (refuseUnlisted).
 */
export type CallerRule = 'controller' | 'node';

/** The handler interface without grpc-js's index signature: exactly the proto's methods. */
type Methods<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: CallerRule };
type Handlers = AgentStatusHandlers | AgentVolumesHandlers | AgentCredentialsHandlers;
type Check<T extends UntypedServiceImplementation & Handlers> = Methods<T>;

export const AGENT_CALLER_POLICY: {
  readonly 'vbs.agent.v1.AgentStatus': Check<AgentStatusHandlers>;
  readonly 'vbs.agent.v1.AgentVolumes': Check<AgentVolumesHandlers>;
  readonly 'vbs.agent.v1.AgentCredentials': Check<AgentCredentialsHandlers>;
} = {
  'vbs.agent.v1.AgentStatus': { GetNodeStatus: 'controller' },
  'vbs.agent.v1.AgentVolumes': {
    CreateVolume: 'controller',
    ExpandVolume: 'controller',
    DeleteVolume: 'controller',
    GetVolume: 'controller',
    ListVolumes: 'controller',
    CreateSnapshot: 'controller',
    DeleteSnapshot: 'controller',
    GetSnapshot: 'controller',
    ListSnapshots: 'controller',
    Export: 'controller',
    Unexport: 'controller',
  },
  // A replicated volume's record is the node's to read and to move on (docs/replication.md).
  'vbs.agent.v1.AgentCredentials': { GetChapCredentials: 'node', GetMirrorRecord: 'node', SetMirrorRecord: 'node' },
};

export type CallerDecision =
  | { readonly allowed: true; readonly identity: CallerIdentity }
  | { readonly allowed: false; readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED'; readonly reason: string };

/** The rule for a gRPC method path (`/vbs.agent.v1.AgentVolumes/CreateVolume`), or undefined if none. */
export function ruleFor(path: string): CallerRule | undefined {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  const service = (AGENT_CALLER_POLICY as Readonly<Record<string, Readonly<Record<string, CallerRule>>>>)[match[1]!];
  return service !== undefined && Object.hasOwn(service, match[2]!) ? service[match[2]!] : undefined;
}

/** Pure: may this identity call this method? The reason names the identity and the method, never key material. */
export function decideAgentCall(path: string, identity: CallerIdentity | undefined): CallerDecision {
  if (identity === undefined) {
    return {
      allowed: false,
      code: 'UNAUTHENTICATED',
      reason: `${path}: the client certificate carries no vbs-csi identity (a urn:vbs-csi: subjectAltName URI); issue it with vbs-csi certs --controller or --node`,
    };
  }
  const rule = ruleFor(path);
  if (rule === undefined) return { allowed: false, code: 'PERMISSION_DENIED', reason: `${path}: no caller may call a method the agent's policy does not list` };
  if (rule !== identity.kind) {
    return { allowed: false, code: 'PERMISSION_DENIED', reason: `${path}: ${describeIdentity(identity)} may not call it; only the ${rule === 'controller' ? 'controller' : 'node plugins'} may` };
  }
  return { allowed: true, identity };
}

/** Something that has a grpc-js auth context: a server call. */
export interface HasAuthContext {
  getAuthContext(): { readonly sslPeerCertificate?: { readonly subjectaltname?: string } | undefined } | undefined;
}

/** The caller's identity from a grpc-js server call's TLS peer certificate. */
export function callerOf(call: HasAuthContext): CallerIdentity | undefined {
  return identityOfPeerCertificate(call.getAuthContext()?.sslPeerCertificate as { subjectaltname?: string } | undefined);
}

/**
 * For handlers that answer about one initiator (AgentCredentials): the caller must be the node
 * plugin whose certificate names that initiator. IQNs compare in lowercase, as LIO does.
 * Throws UnauthenticatedError or PermissionDeniedError (UNAUTHENTICATED / PERMISSION_DENIED).
 */
export function requireNodeCaller(caller: HasAuthContext | CallerIdentity | undefined, initiatorIqn: string): CallerIdentity & { kind: 'node' } {
  const identity = caller !== undefined && 'getAuthContext' in caller ? callerOf(caller) : caller;
  if (identity === undefined) throw new UnauthenticatedError('the client certificate carries no vbs-csi identity; a node plugin needs one issued with vbs-csi certs --node NAME,iqn=IQN');
  if (identity.kind !== 'node') throw new PermissionDeniedError(`${describeIdentity(identity)} is not a node plugin; only a node plugin may ask about what is published to its initiator`);
  if (identity.initiatorIqn !== initiatorIqn.toLowerCase()) {
    throw new PermissionDeniedError(`${describeIdentity(identity)} may only ask about what is published to its own initiator, not ${JSON.stringify(initiatorIqn)}`);
  }
  return identity as CallerIdentity & { kind: 'node' };
}
