import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NSENTER_HOST_PREFIX, hostExecPrefix, parseHostExec } from './hostExec.ts';
import { parseConfig } from './parseConfig.ts';

const NODE_TLS = ['--tls-ca', '/tls/ca.crt', '--tls-cert', '/tls/node.crt', '--tls-key', '/tls/node.key'];
const AGENT = ['agent', '--vg', 'vbs', '--portal', '10.0.0.5:3260', '--storage-node-name', 's1', '--tls-ca', '/t/ca', '--tls-cert', '/t/c', '--tls-key', '/t/k', '--chap-key-file', '/t/chap'];

describe('--host-exec', () => {
  test('is none by default for the agent and the node plugin', () => {
    const agent = parseConfig(AGENT, {});
    assert.ok(agent.ok);
    assert.equal(agent.config.agent?.hostExec, 'none');
    const node = parseConfig(['node', '--node-id', 'w1', ...NODE_TLS], {});
    assert.ok(node.ok);
    assert.equal(node.config.node?.hostExec, 'none');
  });

  test('takes nsenter from the flag or VBS_HOST_EXEC, for both roles of all-in-one', () => {
    const agent = parseConfig([...AGENT, '--host-exec=nsenter'], {});
    assert.ok(agent.ok);
    assert.equal(agent.config.agent?.hostExec, 'nsenter');
    const node = parseConfig(['node', '--node-id', 'w1', ...NODE_TLS], { VBS_HOST_EXEC: 'nsenter' });
    assert.ok(node.ok);
    assert.equal(node.config.node?.hostExec, 'nsenter');
  });

  test('refuses anything else, naming the choices', () => {
    const r = parseConfig(['node', '--node-id', 'w1', ...NODE_TLS, '--host-exec', 'chroot'], {});
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors.some((e) => e.startsWith('--host-exec "chroot": expected one of none, nsenter')), JSON.stringify(r));
    const errors: string[] = [];
    assert.equal(parseHostExec('NSENTER', errors), 'none');
    assert.equal(errors.length, 1);
  });

  test('nsenter enters PID 1 without --pid, so the tool replaces nsenter and a timeout kills it', () => {
    assert.deepEqual(hostExecPrefix('none'), []);
    assert.deepEqual(hostExecPrefix('nsenter'), ['nsenter', '--target=1', '--mount', '--uts', '--ipc', '--net', '--']);
    assert.ok(!NSENTER_HOST_PREFIX.includes('--pid'));
    assert.ok(Object.isFrozen(NSENTER_HOST_PREFIX));
  });
});
