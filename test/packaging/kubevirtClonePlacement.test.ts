import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { CreateVolumeInput } from '../../src/controller/ControllerService.ts';
import { parseVolumeParameters } from '../../src/controller/volumeParameters.ts';
import { ResourceExhaustedError } from '../../src/errors.ts';
import { MiB, TestCluster } from '../cluster/controllerHarness.ts';

/**
 * docs/kubevirt.md "Where clones land", through the controller and two in-process agents in zones a
 * and b: a golden image's clones all land on its storage node, whatever the load elsewhere; a clone
 * asked for in another zone (a VM scheduled there under WaitForFirstConsumer) is RESOURCE_EXHAUSTED
 * with the reason; nodeLabels pick the golden image's storage node.
 */
function input(name: string, extra: Partial<CreateVolumeInput> = {}): CreateVolumeInput {
  return {
    name,
    capacityRange: { requiredBytes: 64 * MiB, limitBytes: 0 },
    capabilities: [{ access: 'block', mode: 'MULTI_NODE_MULTI_WRITER' }],
    parameters: parseVolumeParameters({}),
    source: undefined,
    requisiteZones: undefined,
    preferredZones: undefined,
    ...extra,
  };
}

describe('docs/kubevirt.md: where CDI clones of a golden image land', () => {
  let cluster: TestCluster;
  afterEach(async () => cluster.destroy());

  it("every clone lands on the golden image's storage node, even when the other node is idle", async () => {
    cluster = await TestCluster.create({ agents: [{ name: 'store-a', labels: { zone: 'a' } }, { name: 'store-b', labels: { zone: 'a' } }], statusMaxAgeMs: 0 });
    const golden = await cluster.service.createVolume(input('pvc-golden', { requisiteZones: ['a'] }));
    const other = cluster.agents.find((a) => a.name !== golden.node)!;
    const busy = cluster.agents.find((a) => a.name === golden.node)!;
    busy.load.utilization = 0.95;
    other.load.utilization = 0;
    for (const name of ['pvc-vm1-root', 'pvc-vm2-root', 'pvc-vm3-root']) {
      const clone = await cluster.service.createVolume(input(name, { source: { kind: 'volume', id: golden.volumeId }, requisiteZones: ['a'] }));
      assert.equal(clone.node, golden.node, name);
    }
    const fresh = await cluster.service.createVolume(input('pvc-plain', { requisiteZones: ['a'] }));
    assert.equal(fresh.node, other.name, 'a volume without a source goes to the idle node');
  });

  it("a clone asked for in another zone than its source's node is RESOURCE_EXHAUSTED, saying why", async () => {
    cluster = await TestCluster.create({ agents: [{ name: 'store-a', labels: { zone: 'a' } }, { name: 'store-b', labels: { zone: 'b' } }], statusMaxAgeMs: 0 });
    const golden = await cluster.service.createVolume(input('pvc-golden', { requisiteZones: ['a'] }));
    assert.equal(golden.node, 'store-a');
    await assert.rejects(
      cluster.service.createVolume(input('pvc-vm-root', { source: { kind: 'volume', id: golden.volumeId }, requisiteZones: ['b'] })),
      (err: unknown) => err instanceof ResourceExhaustedError && /store-a: zone a, not in requisite zones b \(must be on its source's node store-a\)/.test(err.message),
    );
  });

  it('the StorageClass nodeLabels choose the storage node of a golden image', async () => {
    cluster = await TestCluster.create({ agents: [{ name: 'store-a', labels: { pool: 'a' } }, { name: 'store-b', labels: { pool: 'b' } }], statusMaxAgeMs: 0 });
    for (const pool of ['a', 'b']) {
      const golden = await cluster.service.createVolume(input(`pvc-golden-${pool}`, { parameters: parseVolumeParameters({ nodeLabels: `pool=${pool}` }) }));
      assert.equal(golden.node, `store-${pool}`);
    }
  });
});
