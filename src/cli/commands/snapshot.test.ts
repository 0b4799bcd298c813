import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CliTestBed } from '../testing/cliTestBed.ts';

const GiB = 2 ** 30;

describe('vbs-csi snapshot', () => {
  let bed: CliTestBed;
  let volumeId: string;
  before(async () => {
    bed = await CliTestBed.start([{ name: 'store-a', poolSizeBytes: 16 * GiB, vgFreeBytes: 16 * GiB }]);
    volumeId = (JSON.parse((await bed.cli(['volume', 'create', 'src', '--size', '1Gi', '--json'])).out) as { volumeId: string }).volumeId;
  });
  after(() => bed.stop());

  it('create sends the name and source volume and prints the snapshot', async () => {
    const r = await bed.cli(['snapshot', 'create', 'snap-1', '--volume', volumeId]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(bed.requests('CreateSnapshot').map((q) => [q['name'], q['source_volume_id']]), [['snap-1', volumeId]]);
    const [header, row] = r.out.trimEnd().split('\n');
    assert.match(header ?? '', /^ID\s+SOURCE VOLUME\s+SIZE\s+CREATED\s+READY$/);
    assert.match(row ?? '', new RegExp(`^store-a/vbs-snap-\\S+\\s+${volumeId}\\s+1 GiB\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+yes$`));
  });

  it('list filters by volume and --json gives the fields scripts need', async () => {
    const other = (JSON.parse((await bed.cli(['volume', 'create', 'other', '--size', '1Gi', '--json'])).out) as { volumeId: string }).volumeId;
    assert.equal((await bed.cli(['snapshot', 'create', 'snap-other', '--volume', other])).code, 0);
    const all = JSON.parse((await bed.cli(['snapshot', 'list', '--json'])).out) as { snapshotId: string; sourceVolumeId: string; readyToUse: boolean }[];
    assert.equal(all.length, 2);
    const mine = JSON.parse((await bed.cli(['snapshot', 'list', '--volume', volumeId, '--json'])).out) as { sourceVolumeId: string; readyToUse: boolean; sizeBytes: number }[];
    assert.deepEqual(mine.map((s) => [s.sourceVolumeId, s.readyToUse, s.sizeBytes]), [[volumeId, true, GiB]]);
    assert.equal(bed.requests('ListSnapshots').at(-1)?.['source_volume_id'], volumeId);
  });

  it('a volume restored from a snapshot shows its source', async () => {
    const [snap] = JSON.parse((await bed.cli(['snapshot', 'list', '--volume', volumeId, '--json'])).out) as { snapshotId: string }[];
    const r = await bed.cli(['volume', 'create', 'restored', '--size', '2Gi', '--from-snapshot', snap!.snapshotId, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(bed.requests('CreateVolume').at(-1)?.['volume_content_source'], { snapshot: { snapshot_id: snap!.snapshotId }, type: 'snapshot' });
    assert.equal((JSON.parse(r.out) as { source: string }).source, `snapshot ${snap!.snapshotId}`);
  });

  it('create from a volume that does not exist exits 4', async () => {
    const r = await bed.cli(['snapshot', 'create', 'snap-x', '--volume', 'store-a/vbs-vol-0123456789abcdef0123456789ab']);
    assert.equal(r.code, 4, r.err);
  });

  it('deleting a volume that still has snapshots exits 7 (FAILED_PRECONDITION)', async () => {
    const r = await bed.cli(['volume', 'delete', volumeId]);
    assert.equal(r.code, 7, r.err);
    assert.match(r.err, /FAILED_PRECONDITION: .*snapshot/);
  });

  it('delete removes it from the list', async () => {
    const [snap] = JSON.parse((await bed.cli(['snapshot', 'list', '--volume', volumeId, '--json'])).out) as { snapshotId: string }[];
    const r = await bed.cli(['snapshot', 'delete', snap!.snapshotId]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `deleted ${snap!.snapshotId}\n`);
    assert.deepEqual(JSON.parse((await bed.cli(['snapshot', 'list', '--volume', volumeId, '--json'])).out), []);
  });
});
