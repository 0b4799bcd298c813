import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NODE_OPTIONS, parseNodeConfig } from './parseNodeConfig.ts';
import type { NodeOptionName } from './parseNodeConfig.ts';

type Name = NodeOptionName | 'tls-ca' | 'tls-cert' | 'tls-key';
const TLS = { 'tls-ca': '/tls/ca.crt', 'tls-cert': '/tls/node.crt', 'tls-key': '/tls/node.key' };

function parse(given: Partial<Record<Name, string>>, role: 'node' | 'all-in-one' = 'node', withTls = true) {
  const errors: string[] = [];
  const all: Partial<Record<Name, string>> = { ...(withTls ? TLS : {}), ...given };
  const config = parseNodeConfig((name) => all[name] ?? (name in NODE_OPTIONS ? NODE_OPTIONS[name as NodeOptionName].fallback : undefined), errors, { role });
  return { config, errors };
}

describe('parseNodeConfig', () => {
  it('applies the defaults: host initiator name read later, default iface, zone from the Node later, state dir, 60 s device wait', () => {
    assert.deepEqual(parse({}), {
      config: {
        initiatorName: undefined,
        iscsiIface: undefined,
        zone: undefined,
        stateDir: '/var/lib/vbs-csi/node',
        deviceWaitMs: 60_000,
        tls: { caPath: '/tls/ca.crt', certPath: '/tls/node.crt', keyPath: '/tls/node.key' },
        iscsiNodeDir: '/etc/iscsi/nodes',
        hostExec: 'none',
      },
      errors: [],
    });
  });

  it('lowercases the initiator name and accepts an iface that logs in under it', () => {
    const { config, errors } = parse({ 'initiator-name': 'iqn.2026-11.io.Example:Worker-2', 'iscsi-iface': 'vbs-w2' });
    assert.deepEqual(errors, []);
    assert.equal(config?.initiatorName, 'iqn.2026-11.io.example:worker-2');
    assert.equal(config?.iscsiIface, 'vbs-w2');
    assert.ok(Object.isFrozen(config));
  });

  it('reports every problem at once', () => {
    const { config, errors } = parse({ 'initiator-name': 'not an iqn', 'iscsi-iface': 'default', zone: '-a', 'state-dir': 'rel/dir', 'device-wait-seconds': '0' });
    assert.equal(config, undefined);
    assert.equal(errors.length, 5);
    assert.match(errors.join('\n'), /--initiator-name.*--iscsi-iface.*--zone.*--state-dir.*--device-wait-seconds/s);
  });

  it('refuses an iface without an initiator name of its own', () => {
    assert.match(parse({ 'iscsi-iface': 'vbs-w2' }).errors.join(), /--iscsi-iface needs --initiator-name/);
  });

  it('role node needs its certificate (it fetches CHAP credentials from agents); all-in-one may ask its own agent in-process', () => {
    assert.match(parse({}, 'node', false).errors.join('\n'), /--tls-ca is required.*\n.*--tls-cert is required.*\n.*--tls-key is required/);
    assert.deepEqual(parse({ 'tls-ca': '/ca' }, 'all-in-one', false), { config: parse({}, 'all-in-one', false).config, errors: [] });
    assert.equal(parse({ 'tls-ca': '/ca' }, 'all-in-one', false).config?.tls, undefined);
    const aio = parse({ 'tls-ca': '/ca', 'node-tls-cert': '/n.crt', 'node-tls-key': '/n.key' }, 'all-in-one', false);
    assert.deepEqual(aio.config?.tls, { caPath: '/ca', certPath: '/n.crt', keyPath: '/n.key' });
    assert.match(parse({ 'tls-ca': '/ca', 'node-tls-cert': '/n.crt' }, 'all-in-one', false).errors.join(), /--node-tls-key is required/);
  });

  it('takes the node record directory as an absolute path', () => {
    assert.equal(parse({ 'iscsi-node-dir': '/var/lib/iscsi/nodes' }).config?.iscsiNodeDir, '/var/lib/iscsi/nodes');
    for (const bad of ['nodes', '/etc/../x']) assert.match(parse({ 'iscsi-node-dir': bad }).errors.join(), /--iscsi-node-dir/);
  });

  it('registers with kubelet itself only with both the watcher directory and the host path of the CSI socket', () => {
    const both = { 'kubelet-registration-dir': '/registration', 'kubelet-registration-path': '/var/lib/kubelet/plugins/vbs.csi.io/csi.sock' };
    const { config, errors } = parse(both);
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.kubeletRegistration, { dir: '/registration', csiSocketOnHost: '/var/lib/kubelet/plugins/vbs.csi.io/csi.sock' });
    assert.equal(parse({}).config?.kubeletRegistration, undefined);
    assert.equal(parse({ 'kubelet-registration-dir': '', 'kubelet-registration-path': '' }).config?.kubeletRegistration, undefined);
    assert.match(parse({ 'kubelet-registration-dir': '/registration' }).errors.join(), /--kubelet-registration-dir needs --kubelet-registration-path/);
    assert.match(parse({ 'kubelet-registration-path': '/host/csi.sock' }).errors.join(), /--kubelet-registration-path needs --kubelet-registration-dir/);
  });

  it('refuses registration paths that are relative, not normalised, endpoints, or too long for a socket', () => {
    const path = '/var/lib/kubelet/plugins/vbs.csi.io/csi.sock';
    for (const bad of ['registration', '/var/lib/kubelet/../x', '/registry/']) {
      assert.match(parse({ 'kubelet-registration-dir': bad, 'kubelet-registration-path': path }).errors.join(), /--kubelet-registration-dir .*absolute, normalised/);
    }
    for (const bad of ['unix:///csi/csi.sock', 'csi.sock', '/a/./csi.sock', `/${'x'.repeat(107)}`]) {
      assert.match(parse({ 'kubelet-registration-dir': '/registration', 'kubelet-registration-path': bad }).errors.join(), /--kubelet-registration-path/);
    }
    const errors: string[] = [];
    parseNodeConfig(
      (name) => ({ ...TLS, 'kubelet-registration-dir': `/${'d'.repeat(60)}`, 'kubelet-registration-path': path })[name as string] ?? (name in NODE_OPTIONS ? NODE_OPTIONS[name as NodeOptionName].fallback : undefined),
      errors,
      { role: 'node', driverName: `${'a'.repeat(40)}.example.org` },
    );
    assert.match(errors.join(), /-reg\.sock is longer than 107 bytes/);
  });
});
