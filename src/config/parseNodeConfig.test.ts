import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NODE_OPTIONS, parseNodeConfig } from './parseNodeConfig.ts';
import type { NodeOptionName } from './parseNodeConfig.ts';

function parse(given: Partial<Record<NodeOptionName, string>>) {
  const errors: string[] = [];
  const config = parseNodeConfig((name) => given[name] ?? NODE_OPTIONS[name].fallback, errors);
  return { config, errors };
}

describe('parseNodeConfig', () => {
  it('applies the defaults: host initiator name read later, default iface, zone, state dir, 60 s device wait', () => {
    assert.deepEqual(parse({}), {
      config: { initiatorName: undefined, iscsiIface: undefined, zone: 'default', stateDir: '/var/lib/vbs-csi/node', deviceWaitMs: 60_000 },
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
});
