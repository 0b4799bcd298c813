import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { ServerCredentials, credentials, experimental } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { TlsMaterial } from './loadTlsFiles.ts';
import type { ReloadingTls } from './ReloadingTls.ts';

/**
 * grpc-js credentials for the agent link, both sides authenticated by the cluster CA.
 *
 * The agent (server) demands a client certificate and accepts only one that chains to the CA
 * in its material: a client with no certificate, one from another CA, or an expired one fails
 * the TLS handshake, and no handler runs. OpenSSL also checks the purpose, so a certificate
 * issued with usages 'server' only (an agent's) cannot be used to call another agent.
 *
 * The controller (client) accepts only an agent certificate that chains to the same CA and
 * names the host it dialled in its subjectAltName: dial an agent at an IP address and its
 * certificate needs that iPAddress (`vbs-csi certs --agent agent-a,ip=10.0.0.5`); dial it by a
 * DNS name, e.g. its headless Service record agent-a.vbs-agent.vbs-system.svc, and it needs that
 * dNSName. The common name is never compared. To dial an address but check another name, pass
 * `expectedServerName` (grpc-js's channel option `grpc.ssl_target_name_override` does the same
 * and also sends that name as SNI).
 */

export function serverCredentials(material: TlsMaterial): ServerCredentials {
  return ServerCredentials.createSsl(
    Buffer.from(material.caPem),
    [{ cert_chain: Buffer.from(material.certPem), private_key: Buffer.from(material.keyPem) }],
    true,
  );
}

export interface ClientTlsOptions {
  /** Check the server certificate against this name instead of the host being dialled. */
  readonly expectedServerName?: string;
  /**
   * Told the server's certificate at each handshake, after the chain and the host name were
   * accepted: the controller reads the agent's identity from it (src/controller/checkAgentIdentity.ts).
   */
  readonly onServerCertificate?: (cert: PeerCertificate) => void;
}

export function clientCredentials(material: TlsMaterial, opts: ClientTlsOptions = {}): ChannelCredentials {
  return credentials.createSsl(Buffer.from(material.caPem), Buffer.from(material.keyPem), Buffer.from(material.certPem), verifyOptions(opts));
}

/**
 * serverCredentials over files that are reloaded when they change (ReloadingTls): each new
 * connection gets the files in use at that moment. The same provider serves as CA and identity
 * provider (grpc-js 1.14 swaps the two arguments of createCertificateProviderServerCredentials
 * internally, which one object for both makes harmless).
 */
export function reloadingServerCredentials(tls: ReloadingTls): ServerCredentials {
  return experimental.createCertificateProviderServerCredentials(tls, tls, true);
}

/** clientCredentials over files that are reloaded when they change. */
export function reloadingClientCredentials(tls: ReloadingTls, opts: ClientTlsOptions = {}): ChannelCredentials {
  return experimental.createCertificateProviderChannelCredentials(tls, tls, verifyOptions(opts));
}

function verifyOptions(opts: ClientTlsOptions): { checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined } {
  const { expectedServerName, onServerCertificate } = opts;
  return expectedServerName === undefined && onServerCertificate === undefined
    ? {}
    : {
        checkServerIdentity: (host: string, cert: PeerCertificate) => {
          const refused = checkServerIdentity(expectedServerName ?? host, cert);
          if (refused === undefined) onServerCertificate?.(cert);
          return refused;
        },
      };
}
