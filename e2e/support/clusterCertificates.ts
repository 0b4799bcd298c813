import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
  /** Node plugin client certificates (urn:vbs-csi:node:<iqn>), by initiator name. */
  readonly nodes: ReadonlyMap<string, CertificateFiles>;
}

/**
 * A development cluster CA in `dir`, a server certificate per agent (its IP, and its identity
 * urn:vbs-csi:agent:<name> that node plugins check), the controller's client certificate, and a
 * client certificate per node plugin initiator (urn:vbs-csi:node:<iqn>).
 */
export async function makeClusterCertificates(
  dir: string,
  agents: readonly { readonly name: string; readonly ip: string }[],
  initiators: readonly string[] = [],
): Promise<ClusterCertificates> {
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
  const nodes = new Map<string, CertificateFiles>();
  for (const [i, iqn] of initiators.entries()) {
    nodes.set(iqn, await write(`node-${i + 1}`, await issueCertificate(ca, { commonName: `node-${i + 1}`, identity: { kind: 'node', initiatorIqn: iqn }, usages: 'client', validDays: 1 })));
  }
  return { caPath, agents: agentFiles, client: await write('controller', client), clientMaterial: { caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem }, nodes };
}

/**
 * For a scenario that serves an in-process agent's AgentCredentials: a CA, that agent's server
 * certificate (127.0.0.1, urn:vbs-csi:agent:<storageNode>) as material, and node certificates as files.
 */
export async function makeNodeCertificates(
  dir: string,
  storageNode: string,
  initiators: readonly string[],
): Promise<{ readonly caPath: string; readonly agent: TlsMaterial; readonly nodes: ReadonlyMap<string, { readonly certPath: string; readonly keyPath: string }> }> {
  const certs = await makeClusterCertificates(dir, [{ name: storageNode, ip: '127.0.0.1' }], initiators);
  const agentFiles = certs.agents.get(storageNode)!;
  const agent = { caPem: await readFile(certs.caPath, 'utf8'), certPem: await readFile(agentFiles.cert, 'utf8'), keyPem: await readFile(agentFiles.key, 'utf8') };
  return { caPath: certs.caPath, agent, nodes: new Map([...certs.nodes].map(([iqn, f]) => [iqn, { certPath: f.cert, keyPath: f.key }])) };
}
