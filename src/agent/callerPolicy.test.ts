import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionDeniedError, UnauthenticatedError } from '../errors.ts';
import { loadAgentProto } from '../grpc/loadProtos.ts';
import { AGENT_CALLER_POLICY, decideAgentCall, requireNodeCaller, ruleFor } from './callerPolicy.ts';

const CONTROLLER = { kind: 'controller' } as const;
const NODE = { kind: 'node', initiatorIqn: 'iqn.2026-01.io.example:worker-1' } as const;
const AGENT = { kind: 'agent', storageNode: 'agent-a' } as const;

/** Every method path of every service in proto/agent.proto, as grpc-js routes them. */
function agentProtoPaths(): string[] {
  const pkg = loadAgentProto().vbs.agent.v1 as unknown as Record<string, { service?: Record<string, { path: string }> }>;
  return Object.values(pkg)
    .flatMap((ctor) => Object.values(ctor.service ?? {}))
    .map((method) => method.path)
    .sort();
}

describe('the agent caller policy', () => {
  test('names every method of every service in proto/agent.proto, and nothing else', () => {
    const paths = agentProtoPaths();
    assert.ok(paths.includes('/vbs.agent.v1.AgentCredentials/GetChapCredentials'), paths.join(' '));
    for (const path of paths) assert.notEqual(ruleFor(path), undefined, `${path} has no caller rule`);
    const listed = Object.entries(AGENT_CALLER_POLICY)
      .flatMap(([service, methods]) => Object.keys(methods).map((m) => `/${service}/${m}`))
      .sort();
    assert.deepEqual(listed, paths);
  });

  test('lets only the controller call AgentStatus and AgentVolumes', () => {
    for (const path of agentProtoPaths().filter((p) => !p.includes('AgentCredentials'))) {
      assert.deepEqual(decideAgentCall(path, CONTROLLER), { allowed: true, identity: CONTROLLER }, path);
      for (const other of [NODE, AGENT]) {
        const d = decideAgentCall(path, other);
        assert.equal(d.allowed, false);
        assert.equal(!d.allowed && d.code, 'PERMISSION_DENIED', path);
      }
    }
    const refused = decideAgentCall('/vbs.agent.v1.AgentVolumes/DeleteVolume', NODE);
    assert.match(!refused.allowed ? refused.reason : '', /DeleteVolume: urn:vbs-csi:node:iqn\.2026-01\.io\.example:worker-1 may not call it; only the controller may/);
  });

  test('lets only node plugins call AgentCredentials: CHAP credentials and the record of a replicated volume\'s copies', () => {
    const paths = agentProtoPaths().filter((p) => p.includes('AgentCredentials'));
    assert.deepEqual(paths, ['GetChapCredentials', 'GetMirrorRecord', 'SetMirrorRecord'].map((m) => `/vbs.agent.v1.AgentCredentials/${m}`));
    for (const path of paths) {
      assert.equal(decideAgentCall(path, NODE).allowed, true, path);
      for (const other of [CONTROLLER, AGENT]) {
        const d = decideAgentCall(path, other);
        assert.equal(!d.allowed && d.code, 'PERMISSION_DENIED', path);
      }
    }
  });

  test('answers UNAUTHENTICATED without an identity, and refuses methods it does not list', () => {
    const none = decideAgentCall('/vbs.agent.v1.AgentStatus/GetNodeStatus', undefined);
    assert.equal(!none.allowed && none.code, 'UNAUTHENTICATED');
    for (const path of ['/vbs.agent.v1.AgentVolumes/Nope', '/vbs.agent.v1.Other/GetNodeStatus', '/vbs.agent.v1.AgentVolumes/toString', 'garbage']) {
      const d = decideAgentCall(path, CONTROLLER);
      assert.equal(!d.allowed && d.code, 'PERMISSION_DENIED', path);
    }
  });

  test('requireNodeCaller accepts only the node plugin of the initiator asked about', () => {
    assert.deepEqual(requireNodeCaller(NODE, 'iqn.2026-01.io.example:Worker-1'), NODE);
    assert.throws(() => requireNodeCaller(NODE, 'iqn.2026-01.io.example:worker-2'), PermissionDeniedError);
    assert.throws(() => requireNodeCaller(CONTROLLER, NODE.initiatorIqn), PermissionDeniedError);
    assert.throws(() => requireNodeCaller(undefined, NODE.initiatorIqn), UnauthenticatedError);
    const call = { getAuthContext: () => ({ sslPeerCertificate: { subjectaltname: 'URI:urn:vbs-csi:node:iqn.2026-01.io.example:worker-1' } }) };
    assert.deepEqual(requireNodeCaller(call, NODE.initiatorIqn), NODE);
    assert.throws(() => requireNodeCaller({ getAuthContext: () => ({}) }, NODE.initiatorIqn), UnauthenticatedError);
  });
});
