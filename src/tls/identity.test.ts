import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeIdentity, identityOfSubjectAltName, identityUri, parseIdentityUri } from './identity.ts';

test('identity URIs round-trip for each role', () => {
  for (const id of [
    { kind: 'controller' as const },
    { kind: 'node' as const, initiatorIqn: 'iqn.2004-10.com.example:worker-1' },
    { kind: 'agent' as const, storageNode: 'storage-a' },
  ]) {
    assert.deepEqual(parseIdentityUri(identityUri(id)), id);
  }
});

test('a node identity is the initiator name in lowercase, as LIO compares it', () => {
  assert.equal(identityUri({ kind: 'node', initiatorIqn: 'iqn.2004-10.com.Example:W1' }), 'urn:vbs-csi:node:iqn.2004-10.com.example:w1');
});

test('malformed names are refused when issuing and ignored when reading', () => {
  assert.throws(() => identityUri({ kind: 'node', initiatorIqn: 'not-an-iqn' }), /initiator name/);
  assert.throws(() => identityUri({ kind: 'agent', storageNode: 'Bad_Name' }), /storage node name/);
  assert.equal(parseIdentityUri('urn:vbs-csi:node:evil,URI:urn:vbs-csi:controller'), undefined);
  assert.equal(parseIdentityUri('urn:vbs-csi:admin'), undefined);
  assert.equal(parseIdentityUri('urn:other:controller'), undefined);
});

test('a subjectAltName must carry exactly one vbs-csi identity', () => {
  assert.deepEqual(identityOfSubjectAltName('DNS:agent-a, IP Address:10.0.0.5, URI:urn:vbs-csi:agent:agent-a'), { kind: 'agent', storageNode: 'agent-a' });
  assert.equal(identityOfSubjectAltName('DNS:agent-a'), undefined);
  assert.equal(identityOfSubjectAltName(undefined), undefined);
  assert.equal(identityOfSubjectAltName('URI:urn:vbs-csi:controller, URI:urn:vbs-csi:agent:a'), undefined);
  assert.deepEqual(identityOfSubjectAltName('URI:urn:vbs-csi:controller, URI:urn:vbs-csi:controller'), { kind: 'controller' });
  assert.equal(describeIdentity(undefined), 'a certificate with no vbs-csi identity');
});
