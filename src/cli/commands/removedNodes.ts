import { openRemovedStorageNodes } from '../../controller/removedStorageNodes/index.ts';
import type { RemovedStorageNodes } from '../../controller/removedStorageNodes/index.ts';
import type { CommandContext } from '../CommandContext.ts';
import { formatTable } from '../formatTable.ts';
import type { CliCommand } from '../parseCliArgs.ts';

type RecordCommand = Extract<CliCommand, { name: 'nodes remove' | 'nodes restore' | 'nodes removed' }>;

/** The record the command names; a ConfigMap through the kubeconfig of whoever runs the CLI (or the pod's). */
function open(cmd: RecordCommand, env: Readonly<Record<string, string | undefined>>): Promise<RemovedStorageNodes> {
  return openRemovedStorageNodes(cmd.record, { env, allowHomeConfig: true });
}

/**
 * `nodes remove NAME --confirm-node-is-gone`: records the storage node as removed for good. The
 * controller reads the record at every status poll; from then on its volumes' deletes and
 * unpublishes succeed without it and other calls are NOT_FOUND (docs/storage-node-removal.md).
 */
export async function nodesRemove(cmd: Extract<CliCommand, { name: 'nodes remove' }>, ctx: CommandContext, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const record = await open(cmd, env);
  const before = (await record.list()).find((n) => n.name === cmd.node);
  const removal = await ctx.step(`recording ${cmd.node} as removed in ${record.where}`, () => record.add({ name: cmd.node, note: cmd.note }));
  if (ctx.globals.json) ctx.printJson({ ...removal, alreadyRemoved: before !== undefined, record: record.where });
  else ctx.print(before ? `${cmd.node} was already removed at ${removal.removedAt} (${record.where})` : `removed ${cmd.node} (${record.where})`);
  ctx.note(`the controller treats ${cmd.node} as gone from its next status poll; undo with: vbs-csi nodes restore ${cmd.node}`);
  return 0;
}

/** `nodes restore NAME`: undoes a removal; the node's volumes are UNAVAILABLE again until it answers. */
export async function nodesRestore(cmd: Extract<CliCommand, { name: 'nodes restore' }>, ctx: CommandContext, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const record = await open(cmd, env);
  const restored = await ctx.step(`removing ${cmd.node} from ${record.where}`, () => record.restore(cmd.node));
  if (ctx.globals.json) ctx.printJson({ name: cmd.node, restored, record: record.where });
  else ctx.print(restored ? `restored ${cmd.node}` : `${cmd.node} was not removed (${record.where})`);
  return 0;
}

/** `nodes removed`: the record. */
export async function nodesRemoved(cmd: Extract<CliCommand, { name: 'nodes removed' }>, ctx: CommandContext, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const record = await open(cmd, env);
  const nodes = await record.list();
  if (ctx.globals.json) ctx.printJson(nodes);
  else if (nodes.length === 0) ctx.print(`no storage node is removed (${record.where})`);
  else ctx.print(formatTable([{ header: 'NAME' }, { header: 'REMOVED AT' }, { header: 'NOTE' }], nodes.map((n) => [n.name, n.removedAt, n.note])));
  return 0;
}
