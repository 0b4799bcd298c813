import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../src/tls/index.ts';
import type { TlsMaterial } from '../../src/tls/index.ts';
import { recordSecret } from './secretLedger.ts';

export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

export interface ClusterCertificates {
  readonly caPath: string;
  /** Server certificate of each agent, by agent name (its listen IP in the SAN). */
  readonly agents: ReadonlyMap<string, CertificateFiles>;
  /** The controller's client certificate, as files and as material for in-scenario clients. */
  readonly client: CertificateFiles;
  readonly clientMaterial: TlsMaterial;
}

/** A development cluster CA in `dir`, a server certificate per agent (urn:vbs-csi:agent:NAME) and the controller's (urn:vbs-csi:controller). */
export async function makeClusterCertificates(dir: string, agents: readonly { readonly name: string; readonly ip: string }[]): Promise<ClusterCertificates> {
  await mkdir(dir, { recursive: true });
  const ca = await createCertificateAuthority({ commonName: 'vbs-e2e cluster CA', validDays: 2 });
  recordSecret('tls-private-key', 'cluster CA key', ca.keyPem);
  const write = async (name: string, pair: { readonly certPem: string; readonly keyPem: string }): Promise<CertificateFiles> => {
    const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    await writeFile(files.cert, pair.certPem);
    await writeFile(files.key, recordSecret('tls-private-key', `${name} key`, pair.keyPem), { mode: 0o600 });
    return files;
  };
  const agentFiles = new Map<string, CertificateFiles>();
  for (const a of agents) {
    agentFiles.set(a.name, await write(a.name, await issueCertificate(ca, { commonName: a.name, ipAddresses: [a.ip], usages: 'server', identity: { kind: 'agent', storageNode: a.name }, validDays: 1 })));
  }
  const client = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
  const caPath = join(dir, 'ca.crt');
  await writeFile(caPath, ca.certPem);
  return { caPath, agents: agentFiles, client: await write('controller', client), clientMaterial: { caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem } };
}
