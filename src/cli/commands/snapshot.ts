import type { Snapshot__Output } from '../../generated/csi/v1/Snapshot.ts';
import type { CommandContext } from '../CommandContext.ts';
import { CliError } from '../CommandContext.ts';
import { formatTable } from '../formatTable.ts';
import type { CliCommand } from '../parseCliArgs.ts';
import { formatSize } from '../parseSize.ts';

type Cmd<N extends CliCommand['name']> = Extract<CliCommand, { name: N }>;

export interface SnapshotView {
  readonly snapshotId: string;
  readonly sourceVolumeId: string;
  readonly sizeBytes: number;
  readonly createdAt: string | null;
  readonly readyToUse: boolean;
}

export function snapshotView(s: Snapshot__Output): SnapshotView {
  const t = s.creation_time;
  return {
    snapshotId: s.snapshot_id,
    sourceVolumeId: s.source_volume_id,
    sizeBytes: s.size_bytes,
    createdAt: t ? new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6)).toISOString() : null,
    readyToUse: s.ready_to_use,
  };
}

function snapshotTable(views: readonly SnapshotView[]): string {
  return formatTable(
    [{ header: 'ID' }, { header: 'SOURCE VOLUME' }, { header: 'SIZE', align: 'right' }, { header: 'CREATED' }, { header: 'READY' }],
    views.map((s) => [s.snapshotId, s.sourceVolumeId, formatSize(s.sizeBytes), s.createdAt ?? '-', s.readyToUse ? 'yes' : 'no']),
  );
}

export async function snapshotCreate(cmd: Cmd<'snapshot create'>, ctx: CommandContext): Promise<number> {
  const res = await ctx.step(`snapshotting ${cmd.volumeId} as ${cmd.snapshotName}`, () =>
    ctx.csi().controller.createSnapshot({ name: cmd.snapshotName, source_volume_id: cmd.volumeId }),
  );
  if (!res.snapshot) throw new CliError('the driver answered CreateSnapshot without a snapshot');
  const view = snapshotView(res.snapshot);
  if (ctx.globals.json) ctx.printJson(view);
  else ctx.print(snapshotTable([view]));
  return 0;
}

export async function snapshotList(cmd: Cmd<'snapshot list'>, ctx: CommandContext): Promise<number> {
  const views: SnapshotView[] = [];
  let token = '';
  do {
    const page = await ctx.csi().controller.listSnapshots({ max_entries: 0, starting_token: token, source_volume_id: cmd.volumeId ?? '' });
    for (const e of page.entries) if (e.snapshot) views.push(snapshotView(e.snapshot));
    token = page.next_token;
  } while (token !== '');
  if (ctx.globals.json) ctx.printJson(views);
  else ctx.print(snapshotTable(views));
  return 0;
}

export async function snapshotDelete(cmd: Cmd<'snapshot delete'>, ctx: CommandContext): Promise<number> {
  await ctx.step(`deleting snapshot ${cmd.snapshotId}`, () => ctx.csi().controller.deleteSnapshot({ snapshot_id: cmd.snapshotId }));
  if (ctx.globals.json) ctx.printJson({ snapshotId: cmd.snapshotId, deleted: true });
  else ctx.print(`deleted ${cmd.snapshotId}`);
  return 0;
}
