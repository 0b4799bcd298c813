import { mkdir, rmdir } from 'node:fs/promises';
import { dmDevicePath } from '../../dm/index.ts';
import { stripSecrets } from '../../log/index.ts';
import { buildDmName } from '../../node/index.ts';
import type { CommandContext } from '../CommandContext.ts';
import { stagingPathFor, volumeCapability } from '../csiRequests.ts';
import type { CliCommand } from '../parseCliArgs.ts';

type Cmd<N extends CliCommand['name']> = Extract<CliCommand, { name: N }>;

/**
 * `attach`: what the CO does to give a pod a volume, on this host: ControllerPublishVolume to this
 * node's id (NodeGetInfo), NodeStageVolume at a staging dir under --work-dir, NodePublishVolume at
 * --target. Each call is idempotent, so after a failure running it again continues, and `detach`
 * undoes whatever was done. publish_context carries no secret (the node fetches CHAP from the agent), and is still printed
 * through stripSecrets.
 */
export async function attach(cmd: Cmd<'attach'>, ctx: CommandContext): Promise<number> {
  const { controller, node } = ctx.csi();
  const capability = volumeCapability(cmd.volume, cmd.access);
  const readonly = cmd.access === 'rox';
  const { node_id: nodeId } = await node.nodeGetInfo({});
  const published = await ctx.step(`publishing ${cmd.volumeId} to node ${nodeId}`, () =>
    controller.controllerPublishVolume({ volume_id: cmd.volumeId, node_id: nodeId, volume_capability: capability, readonly }),
  );
  const stagingPath = stagingPathFor(cmd.workDir, cmd.volumeId);
  await mkdir(stagingPath, { recursive: true, mode: 0o750 });
  await ctx.step(`staging at ${stagingPath} (iSCSI login${cmd.volume.kind === 'mount' ? ', mkfs if blank, mount' : ''})`, () =>
    node.nodeStageVolume({
      volume_id: cmd.volumeId,
      publish_context: published.publish_context,
      staging_target_path: stagingPath,
      volume_capability: capability,
    }),
  );
  await ctx.step(`publishing at ${cmd.targetPath}`, () =>
    node.nodePublishVolume({
      volume_id: cmd.volumeId,
      publish_context: published.publish_context,
      staging_target_path: stagingPath,
      target_path: cmd.targetPath,
      volume_capability: capability,
      readonly,
    }),
  );
  const device = dmDevicePath(buildDmName(nodeId, cmd.volumeId));
  const result = {
    volumeId: cmd.volumeId,
    nodeId,
    device,
    stagingPath,
    targetPath: cmd.targetPath,
    mode: cmd.volume.kind === 'block' ? 'block' : cmd.volume.fsType,
    readOnly: readonly,
    publishContext: stripSecrets(published.publish_context),
  };
  if (ctx.globals.json) ctx.printJson(result);
  else {
    const what = cmd.volume.kind === 'block' ? `block device bound at ${cmd.targetPath}` : `${cmd.volume.fsType} mounted at ${cmd.targetPath}`;
    ctx.print(`${cmd.volumeId}: ${device}, ${what}${readonly ? ' (read-only)' : ''}`);
  }
  return 0;
}

/** `detach`: NodeUnpublishVolume, NodeUnstageVolume, ControllerUnpublishVolume; each is success when already undone. */
export async function detach(cmd: Cmd<'detach'>, ctx: CommandContext): Promise<number> {
  const { controller, node } = ctx.csi();
  const { node_id: nodeId } = await node.nodeGetInfo({});
  const stagingPath = stagingPathFor(cmd.workDir, cmd.volumeId);
  await ctx.step(`unpublishing ${cmd.targetPath}`, () => node.nodeUnpublishVolume({ volume_id: cmd.volumeId, target_path: cmd.targetPath }));
  await ctx.step(`unstaging ${stagingPath} (unmount, iSCSI logout)`, () => node.nodeUnstageVolume({ volume_id: cmd.volumeId, staging_target_path: stagingPath }));
  await ctx.step(`unpublishing ${cmd.volumeId} from node ${nodeId}`, () => controller.controllerUnpublishVolume({ volume_id: cmd.volumeId, node_id: nodeId }));
  await rmdir(stagingPath).catch(() => undefined);
  if (ctx.globals.json) ctx.printJson({ volumeId: cmd.volumeId, nodeId, targetPath: cmd.targetPath, detached: true });
  else ctx.print(`${cmd.volumeId}: detached from ${cmd.targetPath} and node ${nodeId}`);
  return 0;
}
