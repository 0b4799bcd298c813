import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentVolume } from '../../agentApi/types.ts';
import { initialMirrorRecord, markOutOfSync } from '../../replication/mirrorRecord.ts';
import type { MirrorRecord } from '../../replication/mirrorRecord.ts';
import { copiesPerNode, formatNodeCopies, formatVolumeCopies } from './mirrorCopies.ts';

describe('copies in the CLI', () => {
  it("shows a replicated volume's copies with their sync state, and nothing for a single copy", () => {
    assert.equal(formatVolumeCopies({ storageNode: 'store-a', provisioning: 'thin' }), undefined);
    assert.equal(formatVolumeCopies({ replicas: '2', copies: 'store-a,store-b' }), 'store-a store-b', "CreateVolume's answer: no sync state");
    assert.equal(
      formatVolumeCopies({ replicas: '3', copies: 'store-a,store-b,store-c', copiesInSync: 'store-a,store-c', mirrorGeneration: '4', copiesUnavailable: 'store-c' }),
      'store-a✓ store-b✗(gen 4) store-c?✓',
    );
  });

  const copy = (id: string, slot: number, record: MirrorRecord): AgentVolume =>
    ({ id, name: id, sizeBytes: 1, thin: true, contentSource: undefined, createdAt: new Date(0), target: { iqn: 'iqn.2026-12.x:y', portal: { ip: '10.0.0.1', port: 3260 }, lun: 0, serial: 's' }, initiators: [], mirror: { slot, headerBytes: 4 << 20, record } });

  it('counts copies per node, out of sync by the newest record any copy holds (a stale copy still says in sync)', () => {
    const first = initialMirrorRecord(['store-a', 'store-b'], 1);
    const later = markOutOfSync(first, [1]);
    const { mirror: _none, ...single } = copy('vbs-vol-single', 0, first);
    const counts = copiesPerNode([
      { node: 'store-a', volumes: [copy('vbs-vol-x', 0, later), copy('vbs-vol-y', 0, first), single] },
      { node: 'store-b', volumes: [copy('vbs-vol-x', 1, first), copy('vbs-vol-y', 1, first)] },
      { node: 'store-c', volumes: [] },
    ]);
    assert.deepEqual(Object.fromEntries(counts), { 'store-a': { copies: 2, outOfSync: 0 }, 'store-b': { copies: 2, outOfSync: 1 }, 'store-c': { copies: 0, outOfSync: 0 } });
    assert.equal(formatNodeCopies(counts.get('store-b')), '2 (1✗)');
    assert.equal(formatNodeCopies(counts.get('store-a')), '2');
    assert.equal(formatNodeCopies(undefined), '?');
  });
});
