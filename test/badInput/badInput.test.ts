import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadAgentProto, loadCsiProto } from '../../src/grpc/loadProtos.ts';
import { BadInputBed, isReadOnlyCommand } from './BadInputBed.ts';
import type { ServiceName } from './BadInputBed.ts';
import { BAD_INPUT_CORPUS } from './corpus.ts';

/**
 * Issue 7's bad-input suite: every RPC of the CSI Identity, Controller and Node services and of
 * the agent API, fed the corpus in corpus.ts through real gRPC servers. Each case must get its
 * exact code with a message, leave every LV, LIO object and node-side file as it was (and make the
 * node run no command that changes the host), and leave both servers answering.
 */
describe('bad input', () => {
  let bed: BadInputBed;
  before(async () => {
    bed = await BadInputBed.start();
  });
  after(async () => {
    await bed?.close();
  });

  for (const c of BAD_INPUT_CORPUS) {
    it(`${c.service} ${c.rpc}: ${c.name} → ${c.code}`, c.knownIssue === undefined ? {} : { todo: c.knownIssue }, async () => {
      const request = typeof c.request === 'function' ? c.request(bed.fixtures) : c.request;
      const before = await bed.fingerprint();
      const outcome = await bed.call(c.service, c.rpc, request);
      assert.equal(outcome.code, c.code, `answered ${outcome.code}: ${outcome.details}`);
      if (c.code !== 'OK') assert.notEqual(outcome.details.trim(), '', 'an error carries a message');
      assert.deepEqual(await bed.fingerprint(), before, 'no side effect');
      assert.equal((await bed.call('identity', 'GetPluginInfo', {})).code, 'OK', 'the CSI server still answers');
      assert.equal((await bed.call('agentVolumes', 'ListVolumes', {})).code, 'OK', 'the agent still answers');
    });
  }
});

describe('the bad-input corpus', () => {
  it('has cases for every RPC of every service', () => {
    const csi = loadCsiProto().csi.v1;
    const agent = loadAgentProto().vbs.agent.v1;
    const services: Record<ServiceName, object> = {
      identity: csi.Identity.service,
      controller: csi.Controller.service,
      node: csi.Node.service,
      agentStatus: agent.AgentStatus.service,
      agentVolumes: agent.AgentVolumes.service,
    };
    for (const [service, definition] of Object.entries(services)) {
      const covered = new Set(BAD_INPUT_CORPUS.filter((c) => c.service === service).map((c) => c.rpc));
      assert.deepEqual([...covered].sort(), Object.keys(definition).sort(), service);
    }
  });

  it('names each case once', () => {
    const names = BAD_INPUT_CORPUS.map((c) => `${c.service} ${c.rpc}: ${c.name}`);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
  });
});

describe('the side-effect check', () => {
  it('sees a volume created, an initiator exported and a command that changes the host, and not a read', async () => {
    const bed = await BadInputBed.start();
    try {
      const start = await bed.fingerprint();
      const ext4 = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
      const created = await bed.call('controller', 'CreateVolume', { name: 'pvc-probe', capacity_range: { required_bytes: 64 * 1024 * 1024 }, volume_capabilities: [ext4] });
      assert.equal(created.code, 'OK', created.details);
      const afterCreate = await bed.fingerprint();
      assert.notDeepEqual(afterCreate.agents, start.agents, 'a new LV');

      const exported = await bed.call('agentVolumes', 'Export', { volume_id: bed.fixtures.agentVolumeId, initiator_iqn: 'iqn.2026-11.io.test:worker-7' });
      assert.equal(exported.code, 'OK', exported.details);
      assert.notDeepEqual((await bed.fingerprint()).agents['store-a']?.lio, afterCreate.agents['store-a']?.lio, 'a new ACL');

      await bed.runner.run({ file: 'findmnt', args: ['--mountpoint', '/x'], timeoutMs: 1_000, okExitCodes: [0, 1] });
      await bed.runner.run({ file: 'umount', args: ['/x'], timeoutMs: 1_000 }).catch(() => undefined);
      assert.deepEqual((await bed.fingerprint()).nodeMutatingCommands, ['umount /x']);
    } finally {
      await bed.close();
    }
  });

  it('counts only looking commands as reads', () => {
    assert.ok(isReadOnlyCommand(['iscsiadm', '-m', 'session', '-P', '3']));
    assert.ok(isReadOnlyCommand(['dmsetup', 'info', 'vbs-1']));
    assert.ok(!isReadOnlyCommand(['iscsiadm', '-m', 'node', '-T', 'iqn.x', '--login']));
    assert.ok(!isReadOnlyCommand(['dmsetup', 'remove', 'vbs-1']));
    assert.ok(!isReadOnlyCommand(['mkfs.ext4', '/dev/sdb']));
  });
});
