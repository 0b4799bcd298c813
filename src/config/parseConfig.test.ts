import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './parseConfig.ts';

const CONTROLLER_FLAGS = ['--agents', '10.0.0.5:9500', '--tls-ca', '/etc/vbs/ca.crt', '--client-tls-cert', '/etc/vbs/c.crt', '--client-tls-key', '/etc/vbs/c.key'];

/** The node role's certificate (it fetches CHAP credentials from agents with it). */
const NODE_TLS = ['--tls-ca', '/tls/ca.crt', '--tls-cert', '/tls/node.crt', '--tls-key', '/tls/node.key'];

describe('parseConfig', () => {
  test('uses the defaults when only a role is given', () => {
    const r = parseConfig(['controller', ...CONTROLLER_FLAGS], {});
    assert.ok(r.ok);
    assert.deepEqual(r.config.endpoint, { kind: 'unix', path: '/csi/csi.sock' });
    assert.equal(r.config.driverName, 'vbs.csi.io');
    assert.equal(r.config.logLevel, 'info');
    assert.equal(r.config.nodeId, undefined);
    assert.equal(r.config.shutdownGraceMs, 30_000);
  });

  test('takes flags over environment variables', () => {
    const r = parseConfig(['node', '--endpoint', 'tcp://127.0.0.1:9000', '--node-id', 'w1', ...NODE_TLS], {
      CSI_ENDPOINT: 'unix:///other.sock',
      VBS_NODE_ID: 'from-env',
      VBS_LOG_LEVEL: 'debug',
    });
    assert.ok(r.ok);
    assert.deepEqual(r.config.endpoint, { kind: 'tcp', host: '127.0.0.1', port: 9000 });
    assert.equal(r.config.nodeId, 'w1');
    assert.equal(r.config.logLevel, 'debug');
  });

  test('requires a node id for roles that run the node service', () => {
    const r = parseConfig(['all-in-one'], {});
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors.some((e) => e.includes('--node-id')));
  });

  test('reports every problem at once', () => {
    const r = parseConfig(['nodes', '--endpoint', 'http://x', '--driver-name=-bad-', '--log-level', 'loud'], {});
    assert.ok(!r.ok);
    assert.equal(r.errors.length, 4, r.errors.join('\n'));
    assert.match(r.errors.join('\n'), /unknown role "nodes"/);
    assert.match(r.errors.join('\n'), /endpoint "http:\/\/x"/);
    assert.match(r.errors.join('\n'), /driver-name "-bad-"/);
    assert.match(r.errors.join('\n'), /log-level "loud"/);
  });

  test('refuses a missing role, unknown flags and extra arguments', () => {
    assert.ok(!parseConfig([], {}).ok);
    const unknownFlag = parseConfig(['controller', '--nope', 'x'], {});
    assert.ok(!unknownFlag.ok && /nope/.test(unknownFlag.errors[0] ?? ''));
    const extra = parseConfig(['controller', 'node'], {});
    assert.ok(!extra.ok && /unexpected arguments: node/.test(extra.errors.join()));
  });

  const badNodeIds = [['a space', 'has a space'], ['x'.repeat(129), 'is over 128 bytes'], ['ü', 'is not ASCII']] as const;
  for (const [nodeId, why] of badNodeIds) {
    test(`refuses a node id that ${why}`, () => {
      const r = parseConfig(['node', '--node-id', nodeId], {});
      assert.ok(!r.ok && r.errors.some((e) => e.startsWith('--node-id')));
    });
  }

  test('passes the driver name to the registration socket\'s length check', () => {
    const reg = ['--kubelet-registration-dir', `/${'d'.repeat(50)}`, '--kubelet-registration-path', '/var/lib/kubelet/plugins/x/csi.sock'];
    const short = parseConfig(['node', '--node-id', 'w1', ...NODE_TLS, ...reg], {});
    assert.ok(short.ok, JSON.stringify(short));
    assert.deepEqual(short.config.node?.kubeletRegistration, { dir: `/${'d'.repeat(50)}`, csiSocketOnHost: '/var/lib/kubelet/plugins/x/csi.sock' });
    const long = parseConfig(['node', '--node-id', 'w1', ...NODE_TLS, ...reg, '--driver-name', `${'a'.repeat(50)}.example.org`], {});
    assert.ok(!long.ok);
    assert.match(long.errors.join(), /-reg\.sock is longer than 107 bytes/);
  });

  test('accepts a 63-character driver name and refuses 64', () => {
    assert.ok(parseConfig(['controller', ...CONTROLLER_FLAGS, '--driver-name', `a${'b'.repeat(61)}c`], {}).ok);
    assert.ok(!parseConfig(['controller', ...CONTROLLER_FLAGS, '--driver-name', `a${'b'.repeat(62)}c`], {}).ok);
  });
});

describe('parseConfig for the storage agent', () => {
  const agentFlags = [
    '--vg', 'vg1', '--portal', '127.0.0.2', '--tls-ca', '/etc/vbs/ca.crt', '--tls-cert', '/etc/vbs/a.crt', '--tls-key', '/etc/vbs/a.key',
    '--chap-key-file', '/etc/vbs/chap.key', '--node-id', 'storage-1',
  ];

  test('reads the agent section with its defaults', () => {
    const r = parseConfig(['agent', ...agentFlags, '--labels', 'tier=ssd,zone=a'], {});
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    const a = r.config.agent;
    assert.ok(a);
    assert.deepEqual(a.portal, { ip: '127.0.0.2', port: 3260 });
    assert.deepEqual(a.listen, { kind: 'tcp', host: '0.0.0.0', port: 9500 });
    assert.equal(a.nodeName, 'storage-1');
    assert.equal(a.thinPoolName, 'pool');
    assert.deepEqual(a.labels, { tier: 'ssd' });
    assert.equal(a.zone, 'a', 'zone from --labels');
    assert.equal(a.overprovisionRatio, 5);
    assert.equal(a.reconcileIntervalMs, 60_000);
  });

  test('the zone: --zone, or --labels zone=, not two different ones; neither leaves it to the Node label', () => {
    const zoneOf = (...extra: string[]) => {
      const r = parseConfig(['agent', ...agentFlags, ...extra], {});
      return r.ok ? r.config.agent?.zone : r.errors.join('\n');
    };
    assert.equal(zoneOf(), undefined);
    assert.equal(zoneOf('--zone', 'b'), 'b');
    assert.equal(zoneOf('--zone', 'b', '--labels', 'zone=b'), 'b');
    assert.match(String(zoneOf('--zone', 'b', '--labels', 'zone=c')), /--zone b and --labels zone=c disagree/);
    assert.match(String(zoneOf('--zone=-x')), /--zone "-x": expected a Kubernetes label value/);
  });

  test('names every missing required agent option at once', () => {
    const r = parseConfig(['agent', '--node-id', 'n'], {});
    assert.ok(!r.ok);
    for (const flag of ['--vg', '--portal', '--tls-ca', '--tls-cert', '--tls-key', '--chap-key-file']) {
      assert.ok(r.errors.some((e) => e.startsWith(flag)), `${flag} missing from:\n${r.errors.join('\n')}`);
    }
  });

  const bad = [
    ['--portal', 'storage.example:3260', /--portal/],
    ['--portal', '10.0.0.1:99999', /--portal/],
    ['--vg', 'bad/vg', /--vg/],
    ['--iqn-prefix', 'iqn.2026-11.IO.Caps', /--iqn-prefix/],
    ['--labels', 'tier', /--labels/],
    ['--overprovision-ratio', '0.5', /--overprovision-ratio/],
    ['--tls-ca', 'relative/ca.crt', /--tls-ca/],
  ] as const;
  for (const [flag, value, pattern] of bad) {
    test(`refuses ${flag} ${value}`, () => {
      const r = parseConfig(['agent', ...agentFlags, flag, value], {});
      assert.ok(!r.ok && r.errors.some((e) => pattern.test(e)), r.ok ? 'accepted' : r.errors.join('\n'));
    });
  }

  test('leaves the agent section out for roles that do not run it', () => {
    const r = parseConfig(['controller', ...CONTROLLER_FLAGS], {});
    assert.ok(r.ok && r.config.agent === undefined);
  });
});

describe('parseConfig for the controller', () => {
  test('reads a fixed agent list and the client certificate', () => {
    const r = parseConfig(['controller', ...CONTROLLER_FLAGS, '--agents', '10.0.0.5:9500,[fd00::7]:9500,agent-b.example:9500'], {});
    assert.ok(r.ok);
    assert.deepEqual(r.config.controller?.agentAddresses, ['10.0.0.5:9500', '[fd00::7]:9500', 'agent-b.example:9500']);
    assert.equal(r.config.controller?.tls.certPath, '/etc/vbs/c.crt');
    assert.equal(r.config.controller?.statusIntervalMs, 10_000);
  });

  test('reads DNS discovery from the environment', () => {
    const r = parseConfig(['controller', '--tls-ca', '/ca', '--client-tls-cert', '/c', '--client-tls-key', '/k'], { VBS_AGENTS_DNS: 'vbs-csi-agent.vbs-system.svc:9500' });
    assert.ok(r.ok);
    assert.deepEqual(r.config.controller?.agentsDns, { host: 'vbs-csi-agent.vbs-system.svc', port: 9500 });
    assert.deepEqual(r.config.controller?.agentAddresses, []);
  });

  test('reports a missing agent source, bad addresses and missing certificates at once', () => {
    const r = parseConfig(['controller'], {});
    assert.ok(!r.ok);
    assert.ok(r.errors.some((e) => e.includes('--agents host:port')));
    assert.ok(r.errors.some((e) => e.startsWith('--tls-ca is required')));
    assert.ok(r.errors.some((e) => e.startsWith('--client-tls-cert is required')));
    const bad = parseConfig(['controller', ...CONTROLLER_FLAGS, '--agents', 'nohost,1.2.3.4:99999'], {});
    assert.ok(!bad.ok && bad.errors.filter((e) => e.startsWith('--agents:')).length === 2);
  });

  test('refuses --agents together with --agents-dns', () => {
    const r = parseConfig(['controller', ...CONTROLLER_FLAGS, '--agents-dns', 'a.svc:9500'], {});
    assert.ok(!r.ok && r.errors.some((e) => e.includes('exclusive')));
  });

  test('all-in-one calls its own agent with the controller certificate next to --tls-ca unless told otherwise', () => {
    const r = parseConfig(
      ['all-in-one', '--node-id', 'n1', '--initiator-name', 'iqn.2026-11.io.test:n1', '--vg', 'vg1', '--portal', '127.0.0.2', '--agent-listen', 'tcp://0.0.0.0:9600',
        '--tls-ca', '/pki/ca.crt', '--tls-cert', '/pki/a.crt', '--tls-key', '/pki/a.key', '--chap-key-file', '/chap'],
      {},
    );
    assert.ok(r.ok, !r.ok ? r.errors.join('; ') : '');
    assert.deepEqual(r.config.controller?.agentAddresses, ['127.0.0.1:9600']);
    assert.deepEqual(r.config.controller?.tls, { caPath: '/pki/ca.crt', certPath: '/pki/controller.crt', keyPath: '/pki/controller.key' });
  });

  test('serves no metrics unless --metrics-address is given, and then on that host and port', () => {
    const off = parseConfig(['node', '--node-id', 'w1', ...NODE_TLS], {});
    assert.ok(off.ok);
    assert.equal(off.config.metrics, undefined);
    const on = parseConfig(['node', '--node-id', 'w1', ...NODE_TLS, '--metrics-address', '0.0.0.0:9809'], {});
    assert.ok(on.ok);
    assert.deepEqual(on.config.metrics, { host: '0.0.0.0', port: 9809 });
  });

  test('takes the metrics address from VBS_METRICS_ADDRESS, IPv6 in brackets, and an empty flag as off', () => {
    const fromEnv = parseConfig(['controller', ...CONTROLLER_FLAGS], { VBS_METRICS_ADDRESS: '[::]:9808' });
    assert.ok(fromEnv.ok);
    assert.deepEqual(fromEnv.config.metrics, { host: '::', port: 9808 });
    const emptyFlag = parseConfig(['controller', ...CONTROLLER_FLAGS, '--metrics-address', ''], { VBS_METRICS_ADDRESS: '0.0.0.0:9808' });
    assert.ok(emptyFlag.ok);
    assert.equal(emptyFlag.config.metrics, undefined);
  });

  for (const bad of ['9808', '0.0.0.0:0', '0.0.0.0:70000', 'http://0.0.0.0:9808/metrics', 'a b:9808']) {
    test(`refuses the metrics address ${JSON.stringify(bad)}, with the other problems`, () => {
      const r = parseConfig(['node', '--metrics-address', bad], {});
      assert.ok(!r.ok);
      assert.ok(r.errors.some((e) => e.startsWith(`--metrics-address ${JSON.stringify(bad)}`)), r.errors.join('\n'));
      assert.ok(r.errors.some((e) => e.includes('--node-id')), 'the missing node id is reported in the same run');
    });
  }
});

describe('parseConfig: in-cluster issuance flags of agent and node', () => {
  const agentFlags = [
    '--vg', 'vg1', '--portal', '127.0.0.2', '--tls-ca', '/run/vbs/tls/ca.crt', '--tls-cert', '/run/vbs/tls/tls.crt', '--tls-key', '/run/vbs/tls/tls.key',
    '--chap-key-file', '/etc/vbs/chap.key', '--node-id', 'storage-1',
  ];
  test('an agent asks its signer for the agents\' Service name; without a name it is refused', () => {
    const r = parseConfig(['agent', ...agentFlags, '--certificate-signer', 'vbs.csi.io/agent', '--certificate-dns-names', 'vbs-csi-agent.vbs.svc'], {});
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.deepEqual(r.config.agent?.certificateRequest, { signerName: 'vbs.csi.io/agent', dnsNames: ['vbs-csi-agent.vbs.svc'] });
    const bad = parseConfig(['agent', ...agentFlags, '--certificate-signer', 'vbs.csi.io/agent'], {});
    assert.ok(!bad.ok && /--certificate-dns-names is required/.test(bad.errors.join()));
    const badSigner = parseConfig(['agent', ...agentFlags, '--certificate-signer', 'agent', '--certificate-dns-names', 'a.b'], {});
    assert.ok(!badSigner.ok && /expected a signer name DOMAIN\/NAME/.test(badSigner.errors.join()));
    assert.equal(parseConfig(['agent', ...agentFlags], {}).ok && (parseConfig(['agent', ...agentFlags], {}) as { config: { agent: { certificateRequest: unknown } } }).config.agent.certificateRequest, undefined);
  });
  test('a node plugin asks its signer', () => {
    const r = parseConfig(['node', '--node-id', 'worker-1', '--tls-ca', '/t/ca.crt', '--tls-cert', '/t/tls.crt', '--tls-key', '/t/tls.key', '--certificate-signer', 'vbs.csi.io/node'], {});
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.deepEqual(r.config.node?.certificateRequest, { signerName: 'vbs.csi.io/node', dnsNames: [] });
  });
});
