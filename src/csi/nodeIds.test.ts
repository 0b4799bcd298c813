import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNodeId } from './nodeIds.ts';

describe('parseNodeId', () => {
  it('reads a lowercase IQN as the node initiator', () => {
    assert.equal(parseNodeId('iqn.1993-08.org.debian:01:worker-1'), 'iqn.1993-08.org.debian:01:worker-1');
  });

  it('refuses anything else: node names, mixed case or padded IQNs, overlong ones', () => {
    for (const bad of ['', 'worker-1', 'IQN.1993-08.org.debian:01:w', 'iqn.1993-08.org.debian:01:W', ' iqn.1993-08.org.debian:01:w', 'iqn.1993-08.org.debian:01:w_1', `iqn.1993-08.org.debian:${'a'.repeat(224)}`, 'eui.02004567a425678d']) {
      assert.equal(parseNodeId(bad), undefined, bad);
    }
  });
});
