import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StageRecordStore } from '../../node/index.ts';
import { CliTestBed } from '../testing/cliTestBed.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

describe('vbs-csi volume', () => {
  let bed: CliTestBed;
  before(async () => {
    bed = await CliTestBed.start([{ name: 'store-a', poolSizeBytes: 64 * GiB, vgFreeBytes: 64 * GiB }]);
  });
  after(() => bed.stop());

  it('create sends the name, size, capability and parameters, prints a table and exits 0', async () => {
    const r = await bed.cli(['volume', 'create', 'pvc-one', '--size', '1Gi', '--fs', 'xfs', '--param', 'provisioning=thin']);
    assert.equal(r.code, 0, r.err);
    const [req] = bed.requests('CreateVolume');
    assert.deepEqual(req?.['capacity_range'], { required_bytes: GiB, limit_bytes: 0 });
    assert.deepEqual(req?.['parameters'], { provisioning: 'thin' });
    const cap = (req?.['volume_capabilities'] as { mount: { fs_type: string }; access_mode: { mode: string } }[])[0];
    assert.equal(cap?.mount.fs_type, 'xfs');
    assert.equal(cap?.access_mode.mode, 'SINGLE_NODE_WRITER');
    const [header, row] = r.out.trimEnd().split('\n');
    assert.match(header ?? '', /^ID\s+SIZE\s+STORAGE NODE\s+COPIES\s+ZONE\s+SOURCE$/);
    assert.match(row ?? '', /^store-a\/vbs-vol-\S+\s+1 GiB\s+store-a\s+1\s/);
    assert.match(r.err, /creating volume pvc-one \(1 GiB\) \.\.\.\ncreating volume pvc-one \(1 GiB\): done in \d+\.\d s/);
  });

  it('create --json prints the volume for scripts; a retry with the same name returns the same volume', async () => {
    const first = await bed.cli(['volume', 'create', 'pvc-two', '--size', '512Mi', '--json']);
    const again = await bed.cli(['volume', 'create', 'pvc-two', '--size', '512Mi', '--json']);
    assert.equal(first.code, 0, first.err);
    const v = JSON.parse(first.out) as { volumeId: string; capacityBytes: number; storageNode: string };
    assert.equal(v.capacityBytes, 512 * MiB);
    assert.equal(v.storageNode, 'store-a');
    assert.equal((JSON.parse(again.out) as { volumeId: string }).volumeId, v.volumeId);
  });

  it('create of an existing name with another size exits 5 (ALREADY_EXISTS) and says so', async () => {
    const r = await bed.cli(['volume', 'create', 'pvc-two', '--size', '2Gi']);
    assert.equal(r.code, 5);
    assert.match(r.err, /^vbs-csi volume create: ALREADY_EXISTS: /m);
    assert.equal(r.out, '');
  });

  it('create beyond every pool exits 6 (RESOURCE_EXHAUSTED)', async () => {
    const r = await bed.cli(['volume', 'create', 'too-big', '--size', '1Ti']);
    assert.equal(r.code, 6, r.err);
  });

  it('list shows every volume with sizes in human units, across pages', async () => {
    const r = await bed.cli(['volume', 'list']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /PUBLISHED TO$/);
    assert.equal(lines.length, 3);
    assert.ok(lines.some((l) => / 1 GiB /.test(l)) && lines.some((l) => / 512 MiB /.test(l)));
    const json = JSON.parse((await bed.cli(['volume', 'list', '--json'])).out) as { volumeId: string; publishedNodeIds: string[] }[];
    assert.equal(json.length, 2);
    assert.deepEqual(json[0]?.publishedNodeIds, []);
  });

  it('describe shows the volume and its health; --json has both', async () => {
    const [v] = JSON.parse((await bed.cli(['volume', 'list', '--json'])).out) as { volumeId: string }[];
    const r = await bed.cli(['volume', 'describe', v!.volumeId]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^ID:\\s+${v!.volumeId}$`, 'm'));
    assert.match(r.out, /^Storage node:\s+store-a$/m);
    assert.match(r.out, /^Health:\s+\S/m);
    const json = JSON.parse((await bed.cli(['volume', 'describe', v!.volumeId, '--json'])).out) as { health: unknown[] };
    assert.ok(Array.isArray(json.health));
    assert.equal(bed.requests('ControllerGetVolumeHealth').length, 2);
  });

  it('describe of a volume that does not exist exits 4 (NOT_FOUND)', async () => {
    const r = await bed.cli(['volume', 'describe', 'store-a/vbs-vol-0123456789abcdef0123456789ab']);
    assert.equal(r.code, 4, r.err);
    assert.match(r.err, /NOT_FOUND/);
  });

  it('expand of a volume not staged here calls only ControllerExpandVolume and says where the rest happens', async () => {
    const id = (JSON.parse((await bed.cli(['volume', 'create', 'grow-me', '--size', '1Gi', '--json'])).out) as { volumeId: string }).volumeId;
    const before = bed.requests('NodeExpandVolume').length;
    const r = await bed.cli(['volume', 'expand', id, '--size', '2Gi', '--node-state-dir', join(bed.dir, 'no-such-dir')]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(bed.requests('ControllerExpandVolume').at(-1)?.['capacity_range'], { required_bytes: 2 * GiB, limit_bytes: 0 });
    assert.equal(bed.requests('NodeExpandVolume').length, before);
    assert.match(r.err, /is not staged on this host/);
    assert.match(r.out, /: 2 GiB$/m);
  });

  it('expand of a volume staged here (per the node plugin stage record) also sends NodeExpandVolume at its staging path', async () => {
    const id = (JSON.parse((await bed.cli(['volume', 'create', 'grow-staged', '--size', '1Gi', '--json'])).out) as { volumeId: string }).volumeId;
    const stateDir = join(bed.dir, 'node-state');
    await new StageRecordStore({ dir: stateDir }).write({
      version: 1, volumeId: id, stagingPath: '/var/lib/kubelet/staging/x', dmName: 'vbs-0123',
      target: { targetIqn: 'iqn.x:y', portal: { ip: '10.0.0.1', port: 3260 }, lun: 0, iface: undefined },
      serial: 'abc', access: { kind: 'mount', fsType: 'ext4', mountFlags: [] }, accessMode: 'SINGLE_NODE_WRITER', readOnly: false, publishedPaths: [],
    });
    const r = await bed.cli(['volume', 'expand', id, '--size', '3Gi', '--node-state-dir', stateDir, '--json']);
    assert.equal(r.code, 0, r.err);
    const node = bed.requests('NodeExpandVolume').at(-1);
    assert.equal(node?.['volume_id'], id);
    assert.equal(node?.['volume_path'], '/var/lib/kubelet/staging/x');
    assert.equal((node?.['volume_capability'] as { mount: { fs_type: string } }).mount.fs_type, 'ext4');
    assert.deepEqual(JSON.parse(r.out), { volumeId: id, capacityBytes: 3 * GiB, stagingPath: '/var/lib/kubelet/staging/x', nodeCapacityBytes: 3 * GiB });
    // ControllerExpandVolume went first, with the staged capability.
    const order = bed.calls.filter((c) => c.method.endsWith('ExpandVolume')).slice(-2).map((c) => c.method);
    assert.deepEqual(order, ['ControllerExpandVolume', 'NodeExpandVolume']);
  });

  it('expand --staging-path sends NodeExpandVolume there without reading stage records', async () => {
    const id = (JSON.parse((await bed.cli(['volume', 'create', 'grow-path', '--size', '1Gi', '--json'])).out) as { volumeId: string }).volumeId;
    const r = await bed.cli(['volume', 'expand', id, '--size', '1536Mi', '--staging-path', '/mnt/staged']);
    assert.equal(r.code, 0, r.err);
    assert.equal(bed.requests('NodeExpandVolume').at(-1)?.['volume_path'], '/mnt/staged');
    assert.match(r.out, /1\.5 GiB, device at \/mnt\/staged grown to 1\.5 GiB/);
  });

  it('delete removes the volume from its storage node; deleting again still exits 0', async () => {
    const id = (JSON.parse((await bed.cli(['volume', 'create', 'doomed', '--size', '64Mi', '--json'])).out) as { volumeId: string }).volumeId;
    const r = await bed.cli(['volume', 'delete', id]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `deleted ${id}\n`);
    assert.equal((await bed.cli(['volume', 'delete', id])).code, 0);
    assert.equal((await bed.cli(['volume', 'describe', id])).code, 4);
  });

  it('a storage node that is down gives exit 75 so scripts retry', async () => {
    const id = (JSON.parse((await bed.cli(['volume', 'create', 'on-a', '--size', '64Mi', '--json'])).out) as { volumeId: string }).volumeId;
    bed.cluster.agent('store-a').down = 'connection refused';
    try {
      const r = await bed.cli(['volume', 'describe', id]);
      assert.equal(r.code, 75, r.err);
      assert.match(r.err, /UNAVAILABLE/);
    } finally {
      bed.cluster.agent('store-a').down = undefined;
    }
  });

  it('a usage error exits 2 and sends nothing', async () => {
    const before = bed.calls.length;
    const r = await bed.cli(['volume', 'create', 'x', '--size', 'big']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--size "big" is not a size/);
    assert.equal(bed.calls.length, before);
  });

  it('an endpoint nobody serves exits 75 with a hint', async () => {
    const r = await bed.cli(['volume', 'list', '--endpoint', `unix://${join(bed.dir, 'nobody.sock')}`, '--timeout-seconds', '5']);
    assert.equal(r.code, 75);
    assert.match(r.err, /UNAVAILABLE: .*is the driver serving/);
  });
});
