import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { buildPublishContext, parsePublishContext } from './publishContext.ts';
import type { PublishContext } from './publishContext.ts';

const CTX: PublishContext = { targetPortal: '[fd00::5]:3260', targetIqn: 'iqn.2026-11.io.vbs-csi:vbs-vol-x', lun: 0, serial: 'abc', agentAddress: '10.0.0.5:9500' };

describe('publish context', () => {
  it('round-trips, with the agent at an address, a DNS name or an IPv6 address', () => {
    for (const agentAddress of ['10.0.0.5:9500', 'agent-a.vbs-agent.vbs-system.svc:9500', '[fd00::5]:9500']) {
      assert.deepEqual(parsePublishContext(buildPublishContext({ ...CTX, agentAddress })), { ...CTX, agentAddress });
    }
  });

  it('holds no CHAP secret, and ignores the chap keys of an older controller', () => {
    const built = buildPublishContext(CTX);
    assert.deepEqual(Object.keys(built).filter((k) => /chap|pass|secret/i.test(k)), []);
    const old = { ...built, chapUsername: 'u', chapPassword: 'p4ssw0rd-secret' };
    assert.ok(!JSON.stringify(parsePublishContext(old)).includes('p4ssw0rd-secret'));
  });

  it('refuses a missing key, a bad LUN or a bad agent address, naming the problem', () => {
    const full = buildPublishContext(CTX);
    for (const key of ['targetPortal', 'targetIqn', 'lun', 'serial', 'agentAddress']) {
      const { [key]: _dropped, ...rest } = full;
      assert.throws(() => parsePublishContext(rest), (err: unknown) => err instanceof InvalidArgumentError && err.message.includes(key), key);
    }
    assert.throws(() => parsePublishContext({ ...full, lun: '-1' }), InvalidArgumentError);
    assert.throws(() => parsePublishContext({ ...full, lun: '1e3' }), InvalidArgumentError);
    for (const bad of ['10.0.0.5', '10.0.0.5:0', 'host:99999', '-x:1', 'a b:1', 'dns:///a:1']) {
      assert.throws(() => parsePublishContext({ ...full, agentAddress: bad }), /agentAddress/, bad);
    }
    assert.throws(() => parsePublishContext(undefined), InvalidArgumentError);
  });
});
