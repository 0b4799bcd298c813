import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { buildMirrorPublishContext, buildPublishContext, isMirrorPublishContext, parseMirrorPublishContext, parsePublishContext } from './publishContext.ts';
import type { MirrorPublishContext, PublishContext } from './publishContext.ts';

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

  describe('of a replicated volume', () => {
    const MIRROR: MirrorPublishContext = {
      copies: [
        { ...CTX, targetIqn: 'iqn.2026-11.io.vbs-csi.store-b:vbs-vol-x', agentAddress: '10.0.0.6:9500', node: 'store-b' },
        { ...CTX, targetPortal: '10.0.1.5:3260', node: 'store-a' },
      ],
    };

    it('round-trips in slot order, with copy<slot>. keys and the copy count', () => {
      const built = buildMirrorPublishContext(MIRROR);
      assert.equal(built['copies'], '2');
      assert.equal(built['copy0.node'], 'store-b');
      assert.equal(built['copy1.targetPortal'], '10.0.1.5:3260');
      assert.deepEqual(parseMirrorPublishContext(built), MIRROR);
      assert.deepEqual(Object.keys(built).filter((k) => /chap|pass|secret/i.test(k)), [], 'no secret either');
    });

    it('is told apart from a single copy, which parses as it always did', () => {
      assert.equal(isMirrorPublishContext(buildMirrorPublishContext(MIRROR)), true);
      assert.equal(isMirrorPublishContext(buildPublishContext(CTX)), false);
      assert.equal(isMirrorPublishContext(undefined), false);
      assert.throws(() => parsePublishContext(buildMirrorPublishContext(MIRROR)), InvalidArgumentError, 'a mirror context is no single-copy one');
    });

    it('refuses a bad count, a missing or bad key of a copy naming it, and two copies on one node', () => {
      const full = buildMirrorPublishContext(MIRROR);
      for (const copies of ['0', '4', '', 'two', '1.0']) {
        assert.throws(() => parseMirrorPublishContext({ ...full, copies }), (err: unknown) => err instanceof InvalidArgumentError && /copies/.test(err.message), copies);
      }
      for (const key of ['copy1.targetPortal', 'copy1.targetIqn', 'copy1.lun', 'copy1.serial', 'copy1.agentAddress', 'copy1.node']) {
        const { [key]: _dropped, ...rest } = full;
        assert.throws(() => parseMirrorPublishContext(rest), (err: unknown) => err instanceof InvalidArgumentError && err.message.includes(key), key);
      }
      assert.throws(() => parseMirrorPublishContext({ ...full, 'copy0.lun': 'x' }), /copy0\.lun/);
      assert.throws(() => parseMirrorPublishContext({ ...full, 'copy1.agentAddress': '10.0.0.5' }), /copy1\.agentAddress/);
      assert.throws(() => parseMirrorPublishContext({ ...full, 'copy1.node': 'Store_A' }), /copy1\.node/);
      assert.throws(() => parseMirrorPublishContext({ ...full, 'copy1.node': 'store-b' }), /one storage node for two copies/);
      assert.deepEqual(parseMirrorPublishContext({ ...full, copies: '1' }).copies.map((c) => c.node), ['store-b'], 'copies beyond the count are not read');
      assert.throws(() => parseMirrorPublishContext(undefined), InvalidArgumentError);
    });
  });
});
