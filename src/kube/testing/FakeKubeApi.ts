import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeConfigMap {
  metadata: { name: string; namespace: string; resourceVersion: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export interface FakeCsiNode {
  readonly node: string;
  readonly drivers: readonly { readonly name: string; readonly nodeID: string }[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
}

const CONFIGMAP = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/?]+))?$/;
const CSINODES = '/apis/storage.k8s.io/v1/csinodes';
const CSINODE = /^\/apis\/storage\.k8s\.io\/v1\/csinodes\/([^/]+)$/;
const CSRS = /^\/apis\/certificates\.k8s\.io\/v1\/certificatesigningrequests(?:\/([^/]+)(?:\/(approval|status))?)?$/;

/** Who a bearer token is, as the API server would record it in a CSR's spec (username, extra). */
export interface FakeCaller {
  readonly username: string;
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** A CertificateSigningRequest as the fake stores it (the API's JSON). */
export interface FakeCsr {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  spec: { request: string; signerName: string; usages?: string[]; expirationSeconds?: number; username: string; groups: string[]; extra?: Record<string, string[]> };
  status: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; certificate?: string };
}

const NODE = /^\/api\/v1\/nodes\/([^/?]+)$/;
const EVENTS = /^\/api\/v1\/namespaces\/([^/]+)\/events(?:\/([^/?]+))?$/;
const ENDPOINTSLICES = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/;

/** An EndpointSlice as the API serves it (discovery.k8s.io/v1), the fields this project reads. */
export interface FakeEndpointSlice {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; resourceVersion?: string };
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    nodeName?: string;
    targetRef?: { kind: string; name: string; namespace?: string };
  }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

interface Watcher {
  readonly namespace: string;
  readonly selector: Record<string, string>;
  readonly res: ServerResponse;
}

/**
 * A Kubernetes API server for unit tests, over plain HTTP on 127.0.0.1: the REST paths
 * `@kubernetes/client-node` calls for ConfigMaps (get, create, JSON merge patch) and CSINodes
 * (list), with the API server's Status objects for errors. Tests drive the real client against it
 * through a kubeconfig file (`kubeconfigPath`), so requests, paths and content types are the
 * client's own, not a mock's idea of them.
 */
export class FakeKubeApi {
  readonly configMaps = new Map<string, FakeConfigMap>();
  csiNodes: FakeCsiNode[] = [];
  readonly csrs = new Map<string, FakeCsr>();
  /** Bearer tokens besides 'fake-token' (user "tester"), and who each one is. */
  readonly callers = new Map<string, FakeCaller>([['fake-token', { username: 'tester' }]]);
  /** Nodes by name: their labels (GET /api/v1/nodes/NAME). */
  readonly nodes = new Map<string, { readonly labels?: Record<string, string> }>();
  /** EndpointSlices by namespace/name; change them with putEndpointSlice / deleteEndpointSlice so watchers hear. */
  readonly endpointSlices = new Map<string, FakeEndpointSlice>();
  readonly #watchers = new Set<Watcher>();
  /** core/v1 Events by namespace/name, as created and merge-patched. */
  readonly events = new Map<string, Record<string, unknown> & { metadata: { name: string; namespace: string } }>();
  readonly requests: RecordedRequest[] = [];
  /** Answers matching `METHOD path-prefix` with this status until removed (403, 500, ...). */
  readonly failures = new Map<string, { readonly code: number; readonly reason: string; readonly message: string }>();
  /** Delays every answer (a slow API server). */
  delayMs = 0;
  readonly #server: Server;
  readonly #dir: string;
  #version = 1;
  url = '';
  kubeconfigPath = '';

  private constructor(dir: string) {
    this.#dir = dir;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(await mkdtemp(join(tmpdir(), 'vbs-fake-kube-')));
    await new Promise<void>((resolve) => api.#server.listen(0, '127.0.0.1', resolve));
    api.url = `http://127.0.0.1:${(api.#server.address() as AddressInfo).port}`;
    api.kubeconfigPath = join(api.#dir, 'kubeconfig');
    // JSON is YAML: the client reads it as any kubeconfig file.
    await writeFile(
      api.kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // The client refuses plain HTTP unless TLS checks are off; the fake speaks HTTP on loopback.
        clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'tester', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester' } }],
        'current-context': 'fake',
      }),
    );
    return api;
  }

  /** The ConfigMap's data, or undefined when it does not exist. */
  data(namespace: string, name: string): Record<string, string> | undefined {
    const cm = this.configMaps.get(`${namespace}/${name}`);
    return cm ? { ...(cm.data ?? {}) } : undefined;
  }

  /** Creates or replaces an EndpointSlice and tells the watches (ADDED or MODIFIED). */
  putEndpointSlice(slice: FakeEndpointSlice): void {
    const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
    const type = this.endpointSlices.has(key) ? 'MODIFIED' : 'ADDED';
    const stored: FakeEndpointSlice = { ...slice, metadata: { ...slice.metadata, resourceVersion: String(++this.#version) } };
    this.endpointSlices.set(key, stored);
    this.#notify(type, stored);
  }

  deleteEndpointSlice(namespace: string, name: string): void {
    const slice = this.endpointSlices.get(`${namespace}/${name}`);
    if (!slice) return;
    this.endpointSlices.delete(`${namespace}/${name}`);
    this.#notify('DELETED', { ...slice, metadata: { ...slice.metadata, resourceVersion: String(++this.#version) } });
  }

  /** Open watch connections. */
  get watchCount(): number {
    return this.#watchers.size;
  }

  /** Ends every open watch: `end` as the API server does at the watch's timeout, `reset` as a restart or a load balancer does. */
  dropWatches(how: 'end' | 'reset' = 'reset'): void {
    for (const w of this.#watchers) {
      if (how === 'end') w.res.end();
      else w.res.destroy();
    }
    this.#watchers.clear();
  }

  #notify(type: string, slice: FakeEndpointSlice): void {
    for (const w of this.#watchers) {
      if (w.namespace !== slice.metadata.namespace || !matches(slice.metadata.labels, w.selector)) continue;
      w.res.write(`${JSON.stringify({ type, object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', ...slice } })}\n`);
    }
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    this.requests.push({ method, path, contentType: req.headers['content-type'], authorization: req.headers['authorization'], body });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const send = (code: number, value: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const status = (code: number, reason: string, message: string) => send(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
    for (const [key, f] of this.failures) {
      const [m, prefix = ''] = key.split(' ');
      if (m === method && path.startsWith(prefix)) return status(f.code, f.reason, f.message);
    }
    const caller = this.callers.get((req.headers['authorization'] ?? '').replace(/^Bearer /, ''));
    if (!caller) return status(401, 'Unauthorized', 'Unauthorized');

    const csiNode = CSINODE.exec(path);
    if (method === 'GET' && csiNode) {
      const name = decodeURIComponent(csiNode[1] ?? '');
      const n = this.csiNodes.find((c) => c.node === name);
      if (!n) return status(404, 'NotFound', `csinodes.storage.k8s.io "${name}" not found`);
      return send(200, { kind: 'CSINode', apiVersion: 'storage.k8s.io/v1', metadata: { name }, spec: { drivers: n.drivers.map((d) => ({ name: d.name, nodeID: d.nodeID, topologyKeys: [] })) } });
    }
    const csr = CSRS.exec(path);
    if (csr) return this.#handleCsr(method, csr[1] === undefined ? undefined : decodeURIComponent(csr[1]), csr[2], query, body, caller, send, status);

    if (method === 'GET' && path === CSINODES) {
      return send(200, {
        kind: 'CSINodeList',
        apiVersion: 'storage.k8s.io/v1',
        metadata: { resourceVersion: String(this.#version) },
        items: this.csiNodes.map((n) => ({
          kind: 'CSINode',
          apiVersion: 'storage.k8s.io/v1',
          metadata: { name: n.node },
          spec: { drivers: n.drivers.map((d) => ({ name: d.name, nodeID: d.nodeID, topologyKeys: [] })) },
        })),
      });
    }
    const ev = EVENTS.exec(path);
    if (ev) {
      const namespace = decodeURIComponent(ev[1] ?? '');
      const name = ev[2] === undefined ? undefined : decodeURIComponent(ev[2]);
      if (method === 'POST' && name === undefined) {
        const obj = JSON.parse(body) as Record<string, unknown> & { metadata: { name: string; namespace?: string } };
        const key = `${namespace}/${obj.metadata.name}`;
        if (this.events.has(key)) return status(409, 'AlreadyExists', `events "${obj.metadata.name}" already exists`);
        const stored = { ...obj, metadata: { ...obj.metadata, namespace, resourceVersion: String(++this.#version) } };
        this.events.set(key, stored);
        return send(201, { kind: 'Event', apiVersion: 'v1', ...stored });
      }
      if (method === 'PATCH' && name !== undefined) {
        if (req.headers['content-type'] !== 'application/merge-patch+json') return status(415, 'UnsupportedMediaType', `unsupported patch type ${req.headers['content-type']}`);
        const stored = this.events.get(`${namespace}/${name}`);
        if (!stored) return status(404, 'NotFound', `events "${name}" not found`);
        Object.assign(stored, JSON.parse(body) as Record<string, unknown>);
        return send(200, { kind: 'Event', apiVersion: 'v1', ...stored });
      }
    }
    const slices = ENDPOINTSLICES.exec(path);
    if (method === 'GET' && slices) {
      const namespace = decodeURIComponent(slices[1] ?? '');
      const selector = parseSelector(query.get('labelSelector') ?? '');
      if (query.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        const watcher: Watcher = { namespace, selector, res };
        this.#watchers.add(watcher);
        res.on('close', () => this.#watchers.delete(watcher));
        return;
      }
      const items = [...this.endpointSlices.values()].filter((e) => e.metadata.namespace === namespace && matches(e.metadata.labels, selector));
      return send(200, {
        kind: 'EndpointSliceList',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: { resourceVersion: String(this.#version) },
        items: items.map((e) => ({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', ...e })),
      });
    }
    const nodeMatch = NODE.exec(path);
    if (method === 'GET' && nodeMatch) {
      const name = decodeURIComponent(nodeMatch[1] ?? '');
      const node = this.nodes.get(name);
      if (!node) return status(404, 'NotFound', `nodes "${name}" not found`);
      return send(200, { kind: 'Node', apiVersion: 'v1', metadata: { name, resourceVersion: String(this.#version), ...(node.labels ? { labels: node.labels } : {}) } });
    }
    const m = CONFIGMAP.exec(path);
    if (!m) return status(404, 'NotFound', `the server could not find the requested resource (${method} ${path})`);
    const namespace = decodeURIComponent(m[1] ?? '');
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const key = `${namespace}/${name}`;
    const notFound = () => status(404, 'NotFound', `configmaps "${name}" not found`);
    if (method === 'GET' && name !== undefined) {
      const cm = this.configMaps.get(key);
      return cm ? send(200, { kind: 'ConfigMap', apiVersion: 'v1', ...cm }) : notFound();
    }
    if (method === 'POST' && name === undefined) {
      const obj = JSON.parse(body) as { metadata?: { name?: string; labels?: Record<string, string> }; data?: Record<string, string> };
      const newName = obj.metadata?.name ?? '';
      if (this.configMaps.has(`${namespace}/${newName}`)) return status(409, 'AlreadyExists', `configmaps "${newName}" already exists`);
      const cm: FakeConfigMap = {
        metadata: { name: newName, namespace, resourceVersion: String(++this.#version), ...(obj.metadata?.labels ? { labels: obj.metadata.labels } : {}) },
        ...(obj.data ? { data: obj.data } : {}),
      };
      this.configMaps.set(`${namespace}/${newName}`, cm);
      return send(201, { kind: 'ConfigMap', apiVersion: 'v1', ...cm });
    }
    if (method === 'PATCH' && name !== undefined) {
      if (req.headers['content-type'] !== 'application/merge-patch+json') return status(415, 'UnsupportedMediaType', `unsupported patch type ${req.headers['content-type']}`);
      const cm = this.configMaps.get(key);
      if (!cm) return notFound();
      const patch = JSON.parse(body) as { data?: Record<string, string | null> | null };
      // RFC 7396: null deletes a key.
      if (patch.data === null) delete cm.data;
      else if (patch.data !== undefined) {
        const data = { ...(cm.data ?? {}) };
        for (const [k, v] of Object.entries(patch.data)) {
          if (v === null) delete data[k];
          else data[k] = v;
        }
        cm.data = data;
      }
      cm.metadata.resourceVersion = String(++this.#version);
      return send(200, { kind: 'ConfigMap', apiVersion: 'v1', ...cm });
    }
    return status(405, 'MethodNotAllowed', `${method} ${path} is not served by the fake API`);
  }

  /** Writes a kubeconfig for another token (register it in `callers` first). */
  async kubeconfigFor(token: string): Promise<string> {
    const path = join(this.#dir, `kubeconfig-${this.#version++}`);
    await writeFile(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'u' } }],
        'current-context': 'fake',
      }),
    );
    return path;
  }

  // certificates.k8s.io/v1: the API server records the creator's username and extra in the spec
  // (the requester cannot set them), and approval and status are separate subresources.
  #handleCsr(
    method: string,
    name: string | undefined,
    sub: string | undefined,
    query: URLSearchParams,
    body: string,
    caller: FakeCaller,
    send: (code: number, value: unknown) => void,
    status: (code: number, reason: string, message: string) => void,
  ): void {
    const wire = (c: FakeCsr) => ({ kind: 'CertificateSigningRequest', apiVersion: 'certificates.k8s.io/v1', ...c });
    if (method === 'GET' && name === undefined) {
      const selector = query.get('fieldSelector') ?? '';
      const signer = /^spec\.signerName=(.+)$/.exec(selector)?.[1];
      const items = [...this.csrs.values()].filter((c) => signer === undefined || c.spec.signerName === signer).map(wire);
      return send(200, { kind: 'CertificateSigningRequestList', apiVersion: 'certificates.k8s.io/v1', metadata: { resourceVersion: String(this.#version) }, items });
    }
    if (method === 'POST' && name === undefined) {
      const obj = JSON.parse(body) as { metadata?: { name?: string; labels?: Record<string, string> }; spec?: Partial<FakeCsr['spec']> };
      const newName = obj.metadata?.name ?? '';
      if (this.csrs.has(newName)) return status(409, 'AlreadyExists', `certificatesigningrequests.certificates.k8s.io "${newName}" already exists`);
      const c: FakeCsr = {
        metadata: { name: newName, resourceVersion: String(++this.#version), ...(obj.metadata?.labels ? { labels: obj.metadata.labels } : {}) },
        spec: {
          request: obj.spec?.request ?? '',
          signerName: obj.spec?.signerName ?? '',
          ...(obj.spec?.usages ? { usages: obj.spec.usages } : {}),
          ...(obj.spec?.expirationSeconds !== undefined ? { expirationSeconds: obj.spec.expirationSeconds } : {}),
          username: caller.username,
          groups: ['system:authenticated'],
          ...(caller.extra ? { extra: Object.fromEntries(Object.entries(caller.extra).map(([k, v]) => [k, [...v]])) } : {}),
        },
        status: {},
      };
      this.csrs.set(newName, c);
      return send(201, wire(c));
    }
    const c = name === undefined ? undefined : this.csrs.get(name);
    if (!c) return status(404, 'NotFound', `certificatesigningrequests.certificates.k8s.io "${name}" not found`);
    if (method === 'GET' && sub === undefined) return send(200, wire(c));
    if (method === 'PUT' && sub !== undefined) {
      const obj = JSON.parse(body) as { metadata?: { resourceVersion?: string }; status?: FakeCsr['status'] };
      if (obj.metadata?.resourceVersion !== c.metadata.resourceVersion) return status(409, 'Conflict', `Operation cannot be fulfilled on certificatesigningrequests.certificates.k8s.io "${name}": the object has been modified`);
      // Each subresource changes only its own part of the status.
      if (sub === 'approval') c.status = { ...c.status, conditions: (obj.status?.conditions ?? []).map((k) => ({ type: k.type, status: k.status, ...(k.reason !== undefined ? { reason: k.reason } : {}), ...(k.message !== undefined ? { message: k.message } : {}) })) };
      else if (obj.status?.certificate !== undefined && !(c.status.conditions ?? []).some((k) => k.type === 'Approved' && k.status === 'True')) {
        return status(422, 'Invalid', `CertificateSigningRequest.certificates.k8s.io "${name}" is invalid: status.certificate: Forbidden: certificate issuance requires an Approved condition`);
      } else if (obj.status?.certificate !== undefined && countPemCertificateBlocks(Buffer.from(obj.status.certificate, 'base64').toString('utf8')) === 0) {
        return status(422, 'Invalid', `CertificateSigningRequest.certificates.k8s.io "${name}" is invalid: status.certificate: Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block`);
      } else if (obj.status?.certificate !== undefined) c.status = { ...c.status, certificate: obj.status.certificate };
      else c.status = { ...c.status, conditions: (obj.status?.conditions ?? []).map((k) => ({ type: k.type, status: k.status, ...(k.reason !== undefined ? { reason: k.reason } : {}), ...(k.message !== undefined ? { message: k.message } : {}) })) };
      c.metadata.resourceVersion = String(++this.#version);
      return send(200, wire(c));
    }
    return status(405, 'MethodNotAllowed', `${method} CSR ${name}/${sub ?? ''} is not served by the fake API`);
  }
}

/** `k=v,k=v` (equality only, what this project sends). */
function parseSelector(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .filter((p) => p !== '')
      .map((p) => {
        const eq = p.indexOf('=');
        return [p.slice(0, eq), p.slice(eq + 1).replace(/^=/, '')];
      }),
  );
}

function matches(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * CERTIFICATE blocks as the API server's validation finds them (Go's encoding/pem, used by
 * k8s.io/kubernetes pkg/apis/certificates/validation): the BEGIN and END lines must be lines of their own,
 * so two PEMs glued without a newline ("...-----END CERTIFICATE----------BEGIN...") count as none.
 */
export function countPemCertificateBlocks(text: string): number {
  let blocks = 0;
  let open = false;
  for (const line of text.split('\n').map((l) => l.replace(/\r$/, ''))) {
    if (line === '-----BEGIN CERTIFICATE-----') open = true;
    else if (open && line === '-----END CERTIFICATE-----') {
      blocks++;
      open = false;
    } else if (open && !/^[A-Za-z0-9+/=]*$/.test(line)) open = false;
  }
  return blocks;
}
