import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkNodeIdentity } from './createNodeService.ts';

const IQN = 'iqn.2026-12.io.example:worker-a';

describe('checkNodeIdentity', () => {
  test("accepts a certificate naming this node's initiator, in any case", () => {
    checkNodeIdentity(`URI:urn:vbs-csi:node:${IQN}`, '/tls/n.crt', IQN.toUpperCase().replace('IQN', 'iqn'));
  });

  test("refuses another node's, an agent's or no identity, naming the file and what is needed", () => {
    for (const san of [`URI:urn:vbs-csi:node:${IQN}x`, 'DNS:a, URI:urn:vbs-csi:agent:store-a', 'IP Address:127.0.0.1', '']) {
      assert.throws(() => checkNodeIdentity(san, '/tls/n.crt', IQN), (err: Error) => err.message.includes('/tls/n.crt') && err.message.includes(`urn:vbs-csi:node:${IQN}`));
    }
  });
});
