import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './parseConfig.ts';

describe('parseConfig', () => {
  test('uses the defaults when only a role is given', () => {
    const r = parseConfig(['controller'], {});
    assert.ok(r.ok);
    assert.deepEqual(r.config.endpoint, { kind: 'unix', path: '/csi/csi.sock' });
    assert.equal(r.config.driverName, 'vbs.csi.io');
    assert.equal(r.config.logLevel, 'info');
    assert.equal(r.config.nodeId, undefined);
    assert.equal(r.config.shutdownGraceMs, 30_000);
  });

  test('takes flags over environment variables', () => {
    const r = parseConfig(['node', '--endpoint', 'tcp://127.0.0.1:9000', '--node-id', 'w1'], {
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

  test('accepts a 63-character driver name and refuses 64', () => {
    assert.ok(parseConfig(['controller', '--driver-name', `a${'b'.repeat(61)}c`], {}).ok);
    assert.ok(!parseConfig(['controller', '--driver-name', `a${'b'.repeat(62)}c`], {}).ok);
  });
});
