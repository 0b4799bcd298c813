import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDmName } from '../../node/index.ts';
import { stagingPathFor } from '../csiRequests.ts';
import { CliTestBed, NODE_ID } from '../testing/cliTestBed.ts';

const GiB = 2 ** 30;

describe('vbs-csi attach / detach', () => {
  let bed: CliTestBed;
  let volumeId: string;
  let workDir: string;
  before(async () => {
    bed = await CliTestBed.start([{ name: 'store-a', poolSizeBytes: 16 * GiB, vgFreeBytes: 16 * GiB }]);
    volumeId = (JSON.parse((await bed.cli(['volume', 'create', 'att', '--size', '1Gi', '--json'])).out) as { volumeId: string }).volumeId;
    workDir = join(bed.dir, 'work');
  });
  after(() => bed.stop());

  it('attach publishes to this node, stages under the work dir, publishes at the target, and prints the device', async () => {
    const since = bed.calls.length;
    const r = await bed.cli(['attach', volumeId, '--target', '/mnt/att', '--work-dir', workDir]);
    assert.equal(r.code, 0, r.err);
    const calls = bed.calls.slice(since);
    assert.deepEqual(calls.map((c) => c.method), ['NodeGetInfo', 'ControllerPublishVolume', 'NodeStageVolume', 'NodePublishVolume']);
    const [, publish, stage, pub] = calls.map((c) => c.request);
    assert.equal(publish?.['node_id'], NODE_ID);
    assert.equal(publish?.['readonly'], false);
    const staging = stagingPathFor(workDir, volumeId);
    assert.equal(stage?.['staging_target_path'], staging);
    await access(staging);
    assert.equal((stage?.['volume_capability'] as { mount: { fs_type: string } }).mount.fs_type, 'ext4');
    assert.equal(pub?.['target_path'], '/mnt/att');
    assert.equal(pub?.['staging_target_path'], staging);
    // The node got the controller's publish_context: where the agent is, never a CHAP secret (docs/security.md).
    const pc = stage?.['publish_context'] as Record<string, string>;
    assert.ok((pc['agentAddress'] ?? '').length > 0);
    assert.deepEqual(Object.keys(pc).filter((k) => /chap/i.test(k)), []);
    assert.equal(r.out, `${volumeId}: /dev/mapper/${buildDmName(NODE_ID, volumeId)}, ext4 mounted at /mnt/att\n`);
    assert.match(r.err, /publishing .* to node iqn\.2026-11\.io\.vbs-test:worker-1: done in/);
  });

  it('prints the publish_context in --json: it holds no CHAP secret', async () => {
    const r = await bed.cli(['attach', volumeId, '--target', '/mnt/att', '--work-dir', workDir, '--json']);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out) as { publishContext: Record<string, string>; device: string; nodeId: string };
    assert.deepEqual(Object.keys(json.publishContext).filter((k) => /chap/i.test(k)), []);
    assert.match(json.publishContext['targetIqn'] ?? '', /^iqn\./);
    assert.equal(json.nodeId, NODE_ID);
  });

  it('the volume shows as published to this node', async () => {
    const [v] = JSON.parse((await bed.cli(['volume', 'list', '--json'])).out) as { publishedNodeIds: string[] }[];
    assert.deepEqual(v?.publishedNodeIds, [NODE_ID]);
  });

  it('detach unpublishes, unstages the same staging path, then unpublishes from the controller', async () => {
    const since = bed.calls.length;
    const r = await bed.cli(['detach', volumeId, '--target', '/mnt/att', '--work-dir', workDir]);
    assert.equal(r.code, 0, r.err);
    const calls = bed.calls.slice(since);
    assert.deepEqual(calls.map((c) => c.method), ['NodeGetInfo', 'NodeUnpublishVolume', 'NodeUnstageVolume', 'ControllerUnpublishVolume']);
    assert.equal(calls[1]?.request['target_path'], '/mnt/att');
    assert.equal(calls[2]?.request['staging_target_path'], stagingPathFor(workDir, volumeId));
    assert.equal(calls[3]?.request['node_id'], NODE_ID);
    await assert.rejects(access(stagingPathFor(workDir, volumeId)), { code: 'ENOENT' });
    const [v] = JSON.parse((await bed.cli(['volume', 'list', '--json'])).out) as { publishedNodeIds: string[] }[];
    assert.deepEqual(v?.publishedNodeIds, []);
  });

  it('attach --block --access rwx-block asks for a multi-writer raw block volume', async () => {
    const r = await bed.cli(['attach', volumeId, '--block', '--access', 'rwx-block', '--target', '/dev/vbs-att', '--work-dir', workDir]);
    assert.equal(r.code, 0, r.err);
    const cap = bed.requests('NodePublishVolume').at(-1)?.['volume_capability'] as { block: object | null; access_mode: { mode: string } };
    assert.ok(cap.block);
    assert.equal(cap.access_mode.mode, 'MULTI_NODE_MULTI_WRITER');
    assert.match(r.out, /block device bound at \/dev\/vbs-att$/m);
  });

  it('attach of a volume that does not exist exits 4 before staging anything', async () => {
    const before = bed.requests('NodeStageVolume').length;
    const r = await bed.cli(['attach', 'store-a/vbs-vol-0123456789abcdef0123456789ab', '--target', '/mnt/x', '--work-dir', workDir]);
    assert.equal(r.code, 4, r.err);
    assert.equal(bed.requests('NodeStageVolume').length, before);
  });
});
