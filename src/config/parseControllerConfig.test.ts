import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTROLLER_OPTIONS, parseControllerConfig, parseHostPort } from './parseControllerConfig.ts';
import type { ControllerOptionName } from './parseControllerConfig.ts';

type Name = ControllerOptionName | 'tls-ca' | 'tls-cert' | 'tls-key';
const TLS = { 'tls-ca': '/etc/vbs/ca.crt', 'client-tls-cert': '/etc/vbs/controller.crt', 'client-tls-key': '/etc/vbs/controller.key' };

function parse(given: Partial<Record<Name, string>>, opts: { defaultAgents?: string[]; allInOne?: boolean } = {}) {
  const errors: string[] = [];
  const config = parseControllerConfig(
    (name) => given[name] ?? (name in CONTROLLER_OPTIONS ? CONTROLLER_OPTIONS[name as ControllerOptionName].fallback : undefined),
    { defaultAgents: opts.defaultAgents ?? [], allInOne: opts.allInOne ?? false },
    errors,
  );
  return { config, errors };
}

describe('parseControllerConfig', () => {
  it('takes a fixed list of agents with IPv4, bracketed IPv6 and host names', () => {
    const { config, errors } = parse({ agents: '10.0.0.5:9500, [fd00::5]:9500,agent-b.example:9500', ...TLS });
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.agentAddresses, ['10.0.0.5:9500', '[fd00::5]:9500', 'agent-b.example:9500']);
    assert.equal(config?.agentsDns, undefined);
    assert.deepEqual(config?.tls, { caPath: '/etc/vbs/ca.crt', certPath: '/etc/vbs/controller.crt', keyPath: '/etc/vbs/controller.key' });
    assert.equal(config?.statusIntervalMs, 10_000);
  });

  it('takes a headless Service name instead, not both', () => {
    assert.deepEqual(parse({ 'agents-dns': 'vbs-csi-agent.vbs-system.svc:9500', ...TLS }).config?.agentsDns, { host: 'vbs-csi-agent.vbs-system.svc', port: 9500 });
    assert.match(parse({ agents: 'a:1', 'agents-dns': 'b:2', ...TLS }).errors.join(), /exclusive/);
  });

  it('or the agents\' Service, whose EndpointSlices are watched: port by name or number, exclusive with the others', () => {
    assert.deepEqual(parse({ 'agents-service': 'vbs-system/vbs-csi-agent:agent-api', ...TLS }).config?.agentsService, { namespace: 'vbs-system', name: 'vbs-csi-agent', port: 'agent-api' });
    assert.deepEqual(parse({ 'agents-service': 'ns/agents:9500', ...TLS }).config?.agentsService, { namespace: 'ns', name: 'agents', port: 9500 });
    assert.deepEqual(parse({ 'agents-service': 'ns/agents:9500', ...TLS }).config?.agentAddresses, []);
    assert.match(parse({ 'agents-service': 'agents:9500', ...TLS }).errors.join(), /--agents-service "agents:9500": expected NAMESPACE\/SERVICE:PORT/);
    assert.match(parse({ 'agents-service': 'ns/Agents:9500', ...TLS }).errors.join(), /expected NAMESPACE\/SERVICE:PORT/);
    assert.match(parse({ 'agents-dns': 'b:2', 'agents-service': 'ns/a:p', ...TLS }).errors.join(), /--agents-dns and --agents-service are exclusive/);
  });

  it('needs agents: none given, or an empty list, is an error unless the all-in-one agent is the default', () => {
    assert.match(parse({ ...TLS }).errors.join(), /needs its storage agents/);
    assert.match(parse({ agents: '', ...TLS }).errors.join(), /needs its storage agents/);
    assert.match(parse({ agents: ' , ', ...TLS }).errors.join(), /needs its storage agents/);
    assert.deepEqual(parse({ ...TLS }, { defaultAgents: ['127.0.0.1:9500'] }).config?.agentAddresses, ['127.0.0.1:9500']);
  });

  it('in all-in-one, uses controller.crt and controller.key next to --tls-ca unless told otherwise', () => {
    // The agent's own certificate (urn:vbs-csi:agent:NAME) may call nothing: never the default.
    const { config, errors } = parse({ agents: 'a:9500', 'tls-ca': '/pki/ca.crt', 'tls-cert': '/pki/agent.crt', 'tls-key': '/pki/agent.key' }, { allInOne: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.tls, { caPath: '/pki/ca.crt', certPath: '/pki/controller.crt', keyPath: '/pki/controller.key' });
    assert.equal(config?.clientTlsBesideCa, true);
    const given = parse({ agents: 'a:9500', ...TLS }, { allInOne: true });
    assert.deepEqual(given.config?.tls, { caPath: '/etc/vbs/ca.crt', certPath: '/etc/vbs/controller.crt', keyPath: '/etc/vbs/controller.key' });
    assert.equal(given.config?.clientTlsBesideCa, false);
    assert.match(parse({ agents: 'a:9500', 'tls-ca': '/ca', 'client-tls-cert': '/c.crt' }, { allInOne: true }).errors.join('\n'), /--client-tls-cert and --client-tls-key go together/);
    const controllerRole = parse({ agents: 'a:9500', 'tls-ca': '/ca', 'tls-cert': '/agent.crt', 'tls-key': '/agent.key' }).errors;
    assert.equal(controllerRole.length, 2, 'the controller role has no default');
    assert.match(controllerRole[0]!, /--client-tls-cert is required: .* as urn:vbs-csi:controller \(vbs-csi certs --controller controller\)/);
  });

  it('reports every problem at once', () => {
    const { config, errors } = parse({ agents: 'nohost,a:0,a:70000', 'agent-server-name': 'bad name', 'status-interval-seconds': '0', 'tls-ca': 'ca.crt' });
    assert.equal(config, undefined);
    assert.match(errors.join('\n'), /"nohost".*"a:0".*"a:70000".*--agent-server-name.*--tls-ca.*--client-tls-cert.*--client-tls-key.*--status-interval-seconds/s);
  });
});

describe('--removed-storage-nodes', () => {
  it('is off by default and when empty; takes a ConfigMap or a file', () => {
    assert.equal(parse({ agents: 'a:1', ...TLS }).config?.removedStorageNodes, undefined);
    assert.equal(parse({ agents: 'a:1', 'removed-storage-nodes': '', ...TLS }).config?.removedStorageNodes, undefined);
    assert.deepEqual(parse({ agents: 'a:1', 'removed-storage-nodes': 'configmap:vbs-csi/vbs-csi-removed-storage-nodes', ...TLS }).config?.removedStorageNodes, {
      kind: 'configmap',
      namespace: 'vbs-csi',
      name: 'vbs-csi-removed-storage-nodes',
    });
    assert.deepEqual(parse({ agents: 'a:1', 'removed-storage-nodes': 'file:/var/lib/vbs-csi/removed.json', ...TLS }).config?.removedStorageNodes, { kind: 'file', path: '/var/lib/vbs-csi/removed.json' });
  });

  it('refuses anything else, saying what it takes', () => {
    for (const bad of ['configmap:vbs-csi', 'configmap:Vbs/x', 'configmap:ns/a/b', 'configmap:ns/', 'file:relative.json', 'file:/a/../b', 'file:/dir/', 'secret:ns/x', '/var/lib/x.json']) {
      const { config, errors } = parse({ agents: 'a:1', 'removed-storage-nodes': bad, ...TLS });
      assert.equal(config, undefined, bad);
      assert.match(errors.join(), /--removed-storage-nodes .*expected/, bad);
    }
  });
});

describe('parseHostPort', () => {
  it('accepts host:port forms and refuses the rest', () => {
    assert.deepEqual(parseHostPort('[::1]:9500'), { host: '::1', port: 9500 });
    assert.deepEqual(parseHostPort('10.0.0.1:1'), { host: '10.0.0.1', port: 1 });
    for (const bad of ['::1:9500', '[10.0.0.1]:9500', 'host', 'host:', 'host:65536', 'ho st:1', '-host:1', '[zz::1]:1']) assert.equal(parseHostPort(bad), undefined, bad);
  });
});

describe('parseControllerConfig: in-cluster issuance', () => {
  const SIGNER = { 'agents-dns': 'a.ns.svc:9500', 'agent-server-name': 'a.ns.svc', 'signer-ca-dir': '/etc/vbs/ca', 'agent-service-account': 'ns/vbs-csi-agent', 'node-service-account': 'ns/vbs-csi-node', ...TLS };
  it('signs for the two ServiceAccounts given, and issues its own certificate when asked', () => {
    const { config, errors } = parse({ ...SIGNER, 'issue-own-certificate': 'true' });
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.signer, { caDir: '/etc/vbs/ca', agentRequester: 'system:serviceaccount:ns:vbs-csi-agent', nodeRequester: 'system:serviceaccount:ns:vbs-csi-node', issueOwnCertificate: true });
    assert.equal(parse({ ...TLS, agents: 'a:1' }).config?.signer, undefined, 'off by default');
  });
  it('refuses a signer without requesters or without the agents\' server name, and an own certificate without a CA', () => {
    assert.match(parse({ ...SIGNER, 'node-service-account': 'vbs-csi-node' }).errors.join(), /--node-service-account "vbs-csi-node": expected NAMESPACE\/NAME/);
    assert.match(parse(Object.fromEntries(Object.entries(SIGNER).filter(([k]) => k !== 'agent-server-name'))).errors.join(), /needs --agent-server-name/);
    assert.match(parse({ ...TLS, agents: 'a:1', 'issue-own-certificate': 'true' }).errors.join(), /needs --signer-ca-dir/);
    assert.match(parse({ ...SIGNER, 'issue-own-certificate': 'yes' }).errors.join(), /expected true or false/);
  });
});
