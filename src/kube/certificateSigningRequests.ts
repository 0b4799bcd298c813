import type { V1CertificateSigningRequest, V1CertificateSigningRequestCondition } from '@kubernetes/client-node';
import { describeKubeError, kubeStatusOf, withKubeTimeout } from './kubeClient.ts';
import type { KubeClient } from './kubeClient.ts';

/**
 * certificates.k8s.io/v1 CertificateSigningRequests, as the requester (agents, node plugins) and
 * the signer (the controller) use them (Kubernetes docs, "Certificates and Certificate Signing
 * Requests": https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/).
 * Thin calls only; who may get what is decided in src/issuance.
 */

const TIMEOUT_MS = 15_000;

/** One CSR as the signer and requester read it. */
export interface CsrView {
  readonly name: string;
  readonly signerName: string;
  readonly username: string;
  readonly extra: Readonly<Record<string, readonly string[]>>;
  readonly usages: readonly string[];
  readonly expirationSeconds: number | undefined;
  /** The PEM CSR (spec.request is base64 of it). */
  readonly requestPem: string;
  readonly approved: boolean;
  /** Denied or Failed: the reason and message of that condition. */
  readonly refused: { readonly type: string; readonly reason: string; readonly message: string } | undefined;
  /** status.certificate as PEM, empty until signed. */
  readonly certificatePem: string;
  /** The object as read, for the approval and status updates (they carry its resourceVersion). */
  readonly raw: V1CertificateSigningRequest;
}

export function viewCsr(raw: V1CertificateSigningRequest): CsrView {
  const conditions = raw.status?.conditions ?? [];
  const refused = conditions.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
  return {
    name: raw.metadata?.name ?? '',
    signerName: raw.spec.signerName,
    username: raw.spec.username ?? '',
    extra: raw.spec.extra ?? {},
    usages: raw.spec.usages ?? [],
    expirationSeconds: raw.spec.expirationSeconds,
    requestPem: Buffer.from(raw.spec.request, 'base64').toString('utf8'),
    approved: conditions.some((c) => c.type === 'Approved' && c.status === 'True'),
    refused: refused ? { type: refused.type, reason: refused.reason ?? '', message: refused.message ?? '' } : undefined,
    certificatePem: raw.status?.certificate ? Buffer.from(raw.status.certificate, 'base64').toString('utf8') : '',
    raw,
  };
}

/** A failed call, with the API server's HTTP status when there was one (409: someone else changed the object first). */
export class CsrApiError extends Error {
  override readonly name = 'CsrApiError';
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined) {
    super(message);
    this.status = status;
  }
}

function failure(what: string, kube: KubeClient, hint = ''): (err: unknown) => never {
  return (err: unknown) => {
    const status = kubeStatusOf(err);
    const denied = status === 403 && hint !== '' ? ` (${hint})` : '';
    throw new CsrApiError(`${what}: ${describeKubeError(err)}${denied} (${kube.source})`, status);
  };
}

/** Creates the CSR; one of that name already there is read back instead (a retry after a lost answer). */
export async function createCsr(
  kube: KubeClient,
  spec: { readonly name: string; readonly requestPem: string; readonly signerName: string; readonly usages: readonly string[]; readonly expirationSeconds: number },
): Promise<CsrView> {
  const body: V1CertificateSigningRequest = {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: spec.name, labels: { 'app.kubernetes.io/managed-by': 'vbs-csi' } },
    spec: {
      request: Buffer.from(spec.requestPem, 'utf8').toString('base64'),
      signerName: spec.signerName,
      usages: [...spec.usages],
      expirationSeconds: spec.expirationSeconds,
    },
  };
  try {
    return viewCsr(await withKubeTimeout(kube.certificates.createCertificateSigningRequest({ body }), TIMEOUT_MS, `create CertificateSigningRequest ${spec.name}`));
  } catch (err: unknown) {
    if (kubeStatusOf(err) === 409) return readCsr(kube, spec.name);
    return failure(`create CertificateSigningRequest ${spec.name}`, kube, 'grant create on certificatesigningrequests.certificates.k8s.io; the chart does')(err);
  }
}

export async function readCsr(kube: KubeClient, name: string): Promise<CsrView> {
  return viewCsr(await withKubeTimeout(kube.certificates.readCertificateSigningRequest({ name }), TIMEOUT_MS, `read CertificateSigningRequest ${name}`).catch(failure(`read CertificateSigningRequest ${name}`, kube)));
}

/** Every CSR for one signer (the API's field selector spec.signerName). */
export async function listCsrs(kube: KubeClient, signerName: string): Promise<CsrView[]> {
  const list = await withKubeTimeout(kube.certificates.listCertificateSigningRequest({ fieldSelector: `spec.signerName=${signerName}` }), TIMEOUT_MS, 'list CertificateSigningRequests').catch(
    failure(`list CertificateSigningRequests of ${signerName}`, kube, 'grant list on certificatesigningrequests.certificates.k8s.io; the chart does'),
  );
  return list.items.map(viewCsr);
}

/** Adds the Approved or Denied condition (the approval subresource; RBAC: approve on the signer). */
export async function setCsrApproval(kube: KubeClient, csr: CsrView, type: 'Approved' | 'Denied', reason: string, message: string): Promise<CsrView> {
  const condition: V1CertificateSigningRequestCondition = { type, status: 'True', reason, message, lastUpdateTime: new Date(), lastTransitionTime: new Date() };
  const body: V1CertificateSigningRequest = { ...csr.raw, status: { ...(csr.raw.status ?? {}), conditions: [...(csr.raw.status?.conditions ?? []), condition] } };
  return viewCsr(
    await withKubeTimeout(kube.certificates.replaceCertificateSigningRequestApproval({ name: csr.name, body }), TIMEOUT_MS, `update the approval of ${csr.name}`).catch(
      failure(`${type === 'Approved' ? 'approve' : 'deny'} CertificateSigningRequest ${csr.name}`, kube, 'grant update on certificatesigningrequests/approval and approve on the signer'),
    ),
  );
}

/** Writes the issued certificate (the status subresource; RBAC: sign on the signer). */
export async function setCsrCertificate(kube: KubeClient, csr: CsrView, certificatePem: string): Promise<CsrView> {
  const body: V1CertificateSigningRequest = { ...csr.raw, status: { ...(csr.raw.status ?? {}), certificate: Buffer.from(certificatePem, 'utf8').toString('base64') } };
  return viewCsr(
    await withKubeTimeout(kube.certificates.replaceCertificateSigningRequestStatus({ name: csr.name, body }), TIMEOUT_MS, `update the status of ${csr.name}`).catch(
      failure(`sign CertificateSigningRequest ${csr.name}`, kube, 'grant update on certificatesigningrequests/status and sign on the signer'),
    ),
  );
}

/** Marks an approved request Failed (the status subresource): the signer will not issue it. */
export async function setCsrFailed(kube: KubeClient, csr: CsrView, reason: string, message: string): Promise<CsrView> {
  const condition: V1CertificateSigningRequestCondition = { type: 'Failed', status: 'True', reason, message, lastUpdateTime: new Date(), lastTransitionTime: new Date() };
  const body: V1CertificateSigningRequest = { ...csr.raw, status: { ...(csr.raw.status ?? {}), conditions: [...(csr.raw.status?.conditions ?? []), condition] } };
  return viewCsr(
    await withKubeTimeout(kube.certificates.replaceCertificateSigningRequestStatus({ name: csr.name, body }), TIMEOUT_MS, `update the status of ${csr.name}`).catch(
      failure(`mark CertificateSigningRequest ${csr.name} failed`, kube, 'grant update on certificatesigningrequests/status and sign on the signer'),
    ),
  );
}

/** The node id `node`'s CSINode registers for `driverName`: null when it has none (or no CSINode exists yet). */
export async function readCsiNodeId(kube: KubeClient, node: string, driverName: string): Promise<string | null> {
  try {
    const csiNode = await withKubeTimeout(kube.storage.readCSINode({ name: node }), TIMEOUT_MS, `read CSINode ${node}`);
    return csiNode.spec?.drivers?.find((d) => d.name === driverName)?.nodeID ?? null;
  } catch (err: unknown) {
    if (kubeStatusOf(err) === 404) return null;
    return failure(`read CSINode ${node}`, kube, 'grant get on csinodes.storage.k8s.io; the chart does')(err);
  }
}
