import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAgentId } from '../agentApi/ids.ts';
import { validateDmNameLength, validateLvName } from '../lvm/index.ts';

describe('agent ids as LV names', () => {
  it('are valid LV names whose device-mapper name fits under a long VG name', () => {
    for (const kind of ['volume', 'snapshot'] as const) {
      const id = buildAgentId('😀'.repeat(32), kind);
      assert.doesNotThrow(() => validateLvName(id));
      assert.doesNotThrow(() => validateDmNameLength('v'.repeat(64), id));
    }
  });
});
