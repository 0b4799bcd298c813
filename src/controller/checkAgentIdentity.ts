import type { PeerCertificate } from 'node:tls';
import { UnavailableError } from '../errors.ts';
import { describeIdentity, identityOfPeerCertificate } from '../tls/identity.ts';
import type { CallerIdentity } from '../tls/identity.ts';
import type { StorageAgent } from '../agentApi/types.ts';

/**
 * Why an agent that reports storage node `reportedName` may not be believed, or undefined when its
 * certificate (urn:vbs-csi:agent:<name>) names that node. Pure. Volume ids name their storage node
 * and the controller routes by the name agents report: without this, any agent with a certificate
 * from the cluster CA could claim another node's name and be sent that node's deletes and exports.
 */
export function agentIdentityMismatch(address: string, reportedName: string, identity: CallerIdentity | undefined): string | undefined {
  if (identity?.kind === 'agent' && identity.storageNode === reportedName) return undefined;
  return (
    `the agent at ${address} reports storage node ${JSON.stringify(reportedName)} but its certificate is for ${describeIdentity(identity)}; ` +
    `it is not used until its certificate names urn:vbs-csi:agent:${reportedName} (vbs-csi certs --agent ${reportedName},...) or it reports the node its certificate names`
  );
}

/** Remembers the identity in the last server certificate a channel's handshake accepted. */
export class ServerIdentityRecorder {
  #identity: CallerIdentity | undefined;
  readonly record = (cert: PeerCertificate): void => {
    this.#identity = identityOfPeerCertificate(cert);
  };
  current(): CallerIdentity | undefined {
    return this.#identity;
  }
}

/**
 * The agent, whose status is only believed when the name it reports is the one its server
 * certificate names: a mismatch is UnavailableError, so StorageNodes leaves it out of placement
 * and routing (docs/security.md).
 */
export function withCheckedIdentity(address: string, agent: StorageAgent, serverIdentity: () => CallerIdentity | undefined): StorageAgent {
  return {
    ...agent,
    async getNodeStatus(signal?: AbortSignal) {
      const status = await agent.getNodeStatus(signal);
      const mismatch = agentIdentityMismatch(address, status.name, serverIdentity());
      if (mismatch !== undefined) throw new UnavailableError(mismatch);
      return status;
    },
  };
}
