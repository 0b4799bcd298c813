import { access } from 'node:fs/promises';
import { StageRecordStore } from '../../node/index.ts';
import type { StageRecord } from '../../node/index.ts';
import type { Volume__Output } from '../../generated/csi/v1/Volume.ts';
import type { VolumeCapability } from '../../generated/csi/v1/VolumeCapability.ts';
import type { CommandContext } from '../CommandContext.ts';
import { CliError } from '../CommandContext.ts';
import { volumeCapability } from '../csiRequests.ts';
import { formatTable } from '../formatTable.ts';
import type { CliCommand } from '../parseCliArgs.ts';
import { formatSize } from '../parseSize.ts';
import { formatVolumeCopies } from './mirrorCopies.ts';

type Cmd<N extends CliCommand['name']> = Extract<CliCommand, { name: N }>;

/** A volume as the CLI shows it, in tables and in --json. */
export interface VolumeView {
  readonly volumeId: string;
  readonly capacityBytes: number;
  readonly storageNode: string;
  /** 1, or a replicated volume's copy count. */
  readonly replicas: number;
  /** A replicated volume's copies and their sync state (mirrorCopies.ts); undefined for one copy. */
  readonly copies?: string;
  readonly zone: string;
  readonly source: string;
  readonly volumeContext: Readonly<Record<string, string>>;
  readonly publishedNodeIds?: readonly string[];
}

export function volumeView(v: Volume__Output, publishedNodeIds?: readonly string[]): VolumeView {
  const src = v.content_source;
  const source = src?.snapshot ? `snapshot ${src.snapshot.snapshot_id}` : src?.volume ? `volume ${src.volume.volume_id}` : '';
  const zone = v.accessible_topology.flatMap((t) => Object.values(t.segments)).join(',');
  const copies = formatVolumeCopies(v.volume_context);
  return {
    volumeId: v.volume_id,
    capacityBytes: v.capacity_bytes,
    // A replicated volume's copies are on several nodes: its COPIES say which.
    storageNode: copies !== undefined ? '' : (v.volume_context['storageNode'] ?? v.volume_id.split('/')[0] ?? ''),
    replicas: Number(v.volume_context['replicas'] ?? '1'),
    ...(copies !== undefined ? { copies } : {}),
    zone,
    source,
    volumeContext: v.volume_context,
    ...(publishedNodeIds ? { publishedNodeIds } : {}),
  };
}

export async function volumeCreate(cmd: Cmd<'volume create'>, ctx: CommandContext): Promise<number> {
  const res = await ctx.step(`creating volume ${cmd.volumeName} (${formatSize(cmd.sizeBytes)})`, () =>
    ctx.csi().controller.createVolume({
      name: cmd.volumeName,
      capacity_range: { required_bytes: cmd.sizeBytes },
      volume_capabilities: [volumeCapability(cmd.volume, cmd.access)],
      parameters: { ...cmd.parameters },
      ...(cmd.source?.kind === 'snapshot' ? { volume_content_source: { snapshot: { snapshot_id: cmd.source.id } } } : {}),
      ...(cmd.source?.kind === 'volume' ? { volume_content_source: { volume: { volume_id: cmd.source.id } } } : {}),
    }),
  );
  if (!res.volume) throw new CliError('the driver answered CreateVolume without a volume');
  const view = volumeView(res.volume);
  if (ctx.globals.json) ctx.printJson(view);
  else ctx.print(volumeTable([view], false));
  return 0;
}

export async function volumeList(_cmd: Cmd<'volume list'>, ctx: CommandContext): Promise<number> {
  const views: VolumeView[] = [];
  let token = '';
  do {
    const page = await ctx.csi().controller.listVolumes({ max_entries: 0, starting_token: token });
    for (const e of page.entries) if (e.volume) views.push(volumeView(e.volume, e.status?.published_node_ids ?? []));
    token = page.next_token;
  } while (token !== '');
  if (ctx.globals.json) ctx.printJson(views);
  else ctx.print(volumeTable(views, true));
  return 0;
}

function volumeTable(views: readonly VolumeView[], withPublished: boolean): string {
  return formatTable(
    [{ header: 'ID' }, { header: 'SIZE', align: 'right' }, { header: 'STORAGE NODE' }, { header: 'COPIES' }, { header: 'ZONE' }, { header: 'SOURCE' }, ...(withPublished ? [{ header: 'PUBLISHED TO' }] : [])],
    views.map((v) => [v.volumeId, formatSize(v.capacityBytes), v.storageNode, v.copies ?? String(v.replicas), v.zone, v.source, ...(withPublished ? [(v.publishedNodeIds ?? []).join(',')] : [])]),
  );
}

export async function volumeDescribe(cmd: Cmd<'volume describe'>, ctx: CommandContext): Promise<number> {
  const { controller } = ctx.csi();
  const [got, health] = await Promise.all([
    controller.controllerGetVolume({ volume_id: cmd.volumeId }),
    controller.controllerGetVolumeHealth({ volume_id: cmd.volumeId }),
  ]);
  if (!got.volume) throw new CliError('the driver answered ControllerGetVolume without a volume');
  const view = volumeView(got.volume, got.status?.published_node_ids ?? []);
  const statuses = (health.volume_health?.health_statuses ?? []).map((h) => ({ status: h.status, reason: h.reason, message: h.message }));
  if (ctx.globals.json) {
    ctx.printJson({ ...view, health: statuses });
    return 0;
  }
  const rows: [string, string][] = [
    ['ID', view.volumeId],
    ['Size', `${formatSize(view.capacityBytes)} (${view.capacityBytes} bytes)`],
    ...(view.copies !== undefined ? [['Copies', view.copies] as [string, string]] : [['Storage node', view.storageNode] as [string, string]]),
    ['Zone', view.zone || '-'],
    ['Source', view.source || '-'],
    ['Published to', (view.publishedNodeIds ?? []).join(', ') || '-'],
    ...Object.entries(view.volumeContext).map(([k, v]): [string, string] => [`Context ${k}`, v]),
    ['Health', statuses.length === 0 ? 'ok' : statuses.map((s) => `${s.status}${s.reason ? ` (${s.reason})` : ''}${s.message ? `: ${s.message}` : ''}`).join('; ')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  ctx.print(rows.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n'));
  return 0;
}

/**
 * ControllerExpandVolume, then, when the volume is staged on this host, NodeExpandVolume at its
 * staging path (the node rescans the LUN, grows its dm device and the filesystem). Where it is
 * staged comes from --staging-path or the node plugin's stage record (docs/node-plugin.md).
 */
export async function volumeExpand(cmd: Cmd<'volume expand'>, ctx: CommandContext): Promise<number> {
  const staged = await findStaging(cmd);
  const capability = staged?.capability;
  const res = await ctx.step(`expanding ${cmd.volumeId} to ${formatSize(cmd.sizeBytes)} on its storage node`, () =>
    ctx.csi().controller.controllerExpandVolume({
      volume_id: cmd.volumeId,
      capacity_range: { required_bytes: cmd.sizeBytes },
      ...(capability ? { volume_capability: capability } : {}),
    }),
  );
  let nodeCapacity: number | undefined;
  if (staged) {
    const node = await ctx.step(`growing the device${staged.capability?.mount ? ' and filesystem' : ''} staged at ${staged.stagingPath}`, () =>
      ctx.csi().node.nodeExpandVolume({
        volume_id: cmd.volumeId,
        volume_path: staged.stagingPath,
        staging_target_path: staged.stagingPath,
        capacity_range: { required_bytes: cmd.sizeBytes },
        ...(capability ? { volume_capability: capability } : {}),
      }),
    );
    nodeCapacity = node.capacity_bytes;
  } else {
    ctx.note(`${cmd.volumeId} is not staged on this host: the node where it is staged grows it at its next NodeExpandVolume (run this command there, or let kubelet do it)`);
  }
  const result = { volumeId: cmd.volumeId, capacityBytes: res.capacity_bytes, stagingPath: staged?.stagingPath ?? null, nodeCapacityBytes: nodeCapacity ?? null };
  if (ctx.globals.json) ctx.printJson(result);
  else ctx.print(`${cmd.volumeId}: ${formatSize(res.capacity_bytes)}${staged ? `, device at ${staged.stagingPath} grown to ${formatSize(nodeCapacity ?? 0)}` : ''}`);
  return 0;
}

async function findStaging(cmd: Cmd<'volume expand'>): Promise<{ stagingPath: string; capability: VolumeCapability | undefined } | undefined> {
  if (cmd.stagingPath !== undefined) return { stagingPath: cmd.stagingPath, capability: undefined };
  // No state dir: no node plugin has ever staged anything on this host.
  const dirExists = await access(cmd.nodeStateDir).then(() => true, () => false);
  if (!dirExists) return undefined;
  let record: StageRecord | undefined;
  try {
    record = await new StageRecordStore({ dir: cmd.nodeStateDir }).read(cmd.volumeId);
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read the node plugin's stage record in ${cmd.nodeStateDir} (${code ?? (err as Error).message}); run as root, or pass --staging-path`,
    );
  }
  if (!record) return undefined;
  const capability: VolumeCapability =
    record.access.kind === 'block'
      ? { block: {}, access_mode: { mode: record.accessMode } }
      : { mount: { fs_type: record.access.fsType, mount_flags: [...record.access.mountFlags] }, access_mode: { mode: record.accessMode } };
  return { stagingPath: record.stagingPath, capability };
}

export async function volumeDelete(cmd: Cmd<'volume delete'>, ctx: CommandContext): Promise<number> {
  await ctx.step(`deleting volume ${cmd.volumeId}`, () => ctx.csi().controller.deleteVolume({ volume_id: cmd.volumeId }));
  if (ctx.globals.json) ctx.printJson({ volumeId: cmd.volumeId, deleted: true });
  else ctx.print(`deleted ${cmd.volumeId}`);
  return 0;
}
