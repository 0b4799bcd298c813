import type { ChannelCredentials, Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { clientCredentials, createCertificateAuthority, issueCertificate, serverCredentials } from '../../tls/index.ts';
import { serve } from '../serve.ts';
import type { RunningServer } from '../serve.ts';

/**
 * Test helper: serves `server` on 127.0.0.1 (ephemeral port) behind mutual TLS with a fresh CA,
 * as an agent is served, and returns the credentials a controller would connect with.
 */
export async function serveOverMutualTls(server: Server, log: Logger): Promise<{ running: RunningServer; clientCreds: ChannelCredentials }> {
  const ca = await createCertificateAuthority({ commonName: 'test CA', validDays: 2 });
  const agentCert = await issueCertificate(ca, { commonName: 'agent', ipAddresses: ['127.0.0.1'], usages: 'server', identity: { kind: 'agent', storageNode: 'agent' }, validDays: 1 });
  const clientCert = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
  const running = await serve({
    server,
    endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    log,
    credentials: serverCredentials({ caPem: ca.certPem, certPem: agentCert.certPem, keyPem: agentCert.keyPem }),
  });
  return { running, clientCreds: clientCredentials({ caPem: ca.certPem, certPem: clientCert.certPem, keyPem: clientCert.keyPem }) };
}
