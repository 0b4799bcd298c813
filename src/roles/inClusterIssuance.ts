import type { Logger } from 'pino';
import type { AgentConfig } from '../config/parseAgentConfig.ts';
import type { ControllerConfig } from '../config/parseControllerConfig.ts';
import type { NodeConfig } from '../config/parseNodeConfig.ts';
import { CertificateRequester } from '../issuance/CertificateRequester.ts';
import { CsrSigner } from '../issuance/CsrSigner.ts';
import { OwnCertificate, readCaDir } from '../issuance/ownCertificate.ts';
import { ROLE_USAGES } from '../issuance/signerPolicy.ts';
import { findKubeConfig, loadKubeClient } from '../kube/kubeClient.ts';
import type { KubeClient } from '../kube/kubeClient.ts';

/**
 * Wiring of in-cluster issuance (src/issuance; docs/security.md, "Certificates issued in the
 * cluster") into the roles. Certificates live 30 days and are renewed after 20: a controller that
 * is down for days costs nothing.
 */
export const ISSUED_VALIDITY_SECONDS = 30 * 86_400;

type Env = Readonly<Record<string, string | undefined>>;

/** The pod's own Kubernetes API access: issuance needs its bound ServiceAccount token. */
export async function kubeForIssuance(env: Env, who: string): Promise<KubeClient> {
  const source = findKubeConfig({ env, allowHomeConfig: false });
  if (!source) throw new Error(`${who} asks for its certificate through the Kubernetes API (--certificate-signer), but runs with no API access: run it in a pod with its ServiceAccount token mounted, or give KUBECONFIG`);
  return loadKubeClient(source);
}

/** The agent's certificate, requested and written before the agent loads it; renewed in the background. */
export async function requestAgentCertificate(config: AgentConfig, driverName: string, log: Logger, env: Env = process.env): Promise<CertificateRequester | undefined> {
  const request = config.certificateRequest;
  if (!request) return undefined;
  const requester = new CertificateRequester({
    kube: await kubeForIssuance(env, 'the agent'),
    signerName: request.signerName,
    identity: { kind: 'agent', storageNode: config.nodeName },
    dnsNames: request.dnsNames,
    usages: ROLE_USAGES.agent,
    paths: config.tls,
    namePrefix: `${driverName}-agent-${config.nodeName}`,
    validSeconds: ISSUED_VALIDITY_SECONDS,
    log: log.child({ component: 'certificate' }),
  });
  await requester.ensure();
  requester.start();
  return requester;
}

/**
 * The node plugin's certificate, requested in the background: the signer issues it only once this
 * node's CSINode registers the plugin, which needs the plugin serving first.
 */
export async function requestNodeCertificate(config: NodeConfig, nodeName: string, initiatorIqn: string, log: Logger, env: Env = process.env): Promise<CertificateRequester | undefined> {
  const request = config.certificateRequest;
  if (!request || !config.tls) return undefined;
  const requester = new CertificateRequester({
    kube: await kubeForIssuance(env, 'the node plugin'),
    signerName: request.signerName,
    identity: { kind: 'node', initiatorIqn },
    usages: ROLE_USAGES.node,
    paths: config.tls,
    namePrefix: `${request.signerName.split('/')[0]}-node-${nodeName}`,
    validSeconds: ISSUED_VALIDITY_SECONDS,
    log: log.child({ component: 'certificate' }),
  });
  requester.start();
  return requester;
}

export interface RunningIssuance {
  stop(): void;
}

/** The controller's own certificate (before its TLS is loaded) when it issues it itself. */
export async function issueOwnCertificate(config: ControllerConfig, log: Logger): Promise<OwnCertificate | undefined> {
  if (!config.signer?.issueOwnCertificate) return undefined;
  const own = new OwnCertificate({ caDir: config.signer.caDir, paths: config.tls, validSeconds: ISSUED_VALIDITY_SECONDS, log: log.child({ component: 'certificate' }) });
  await own.start();
  return own;
}

/** The controller's signer of the agents' and node plugins' requests. */
export function startSigner(config: ControllerConfig, driverName: string, kube: KubeClient | undefined, log: Logger): CsrSigner | undefined {
  const signer = config.signer;
  if (!signer) return undefined;
  if (!kube) throw new Error('--signer-ca-dir signs CertificateSigningRequests through the Kubernetes API, but the controller has none (not in a pod, no KUBECONFIG)');
  const csrSigner = new CsrSigner({
    kube,
    driverName,
    ca: () => readCaDir(signer.caDir),
    log: log.child({ component: 'signer' }),
    policy: {
      signers: { [`${driverName}/agent`]: 'agent', [`${driverName}/node`]: 'node' },
      requesters: { agent: signer.agentRequester, node: signer.nodeRequester },
      agentDnsNames: config.agentServerName ? [config.agentServerName] : [],
      maxValiditySeconds: ISSUED_VALIDITY_SECONDS,
    },
  });
  csrSigner.start();
  return csrSigner;
}
