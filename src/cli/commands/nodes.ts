import type { AgentVolume } from '../../agentApi/types.ts';
import type { NodeStatus__Output } from '../../generated/vbs/agent/v1/NodeStatus.ts';
import type { CommandContext } from '../CommandContext.ts';
import { exitCodeForGrpcCode, grpcCodeName, grpcCodeOf } from '../exitCodes.ts';
import { formatTable } from '../formatTable.ts';
import type { CliCommand } from '../parseCliArgs.ts';
import { formatSize } from '../parseSize.ts';
import { copiesPerNode, formatNodeCopies } from './mirrorCopies.ts';
import type { NodeCopies } from './mirrorCopies.ts';

/** The part of an agent's API `nodes` uses (connectAgent's getNodeStatus, and its volumes for the copies column). */
export interface AgentStatusSource {
  getNodeStatus(): Promise<NodeStatus__Output>;
  listVolumes(): Promise<AgentVolume[]>;
  close(): void;
}

export type NodeRow =
  | {
      readonly address: string;
      readonly name: string;
      readonly ready: boolean;
      readonly labels: Readonly<Record<string, string>>;
      readonly poolSizeBytes: number;
      readonly allocatableBytes: number;
      readonly provisionedBytes: number;
      readonly dataPercent: number;
      readonly metadataPercent: number;
      readonly poolHealth: string;
      readonly vgFreeBytes: number;
      readonly utilization: number;
      readonly averageLatencyMs: number;
      readonly volumeCount: number;
      readonly snapshotCount: number;
      /** Copies of replicated volumes here, and how many are out of sync; undefined when the list failed. */
      readonly mirrorCopies?: NodeCopies;
    }
  | { readonly address: string; readonly error: string; readonly code: string };

export function nodeRow(address: string, s: NodeStatus__Output): NodeRow {
  return {
    address,
    name: s.node_name,
    ready: s.ready,
    labels: s.labels,
    poolSizeBytes: s.thin_pool?.size_bytes ?? 0,
    allocatableBytes: s.thin_pool?.allocatable_bytes ?? 0,
    provisionedBytes: s.thin_pool?.provisioned_bytes ?? 0,
    dataPercent: s.thin_pool?.data_percent ?? 0,
    metadataPercent: s.thin_pool?.metadata_percent ?? 0,
    poolHealth: s.thin_pool?.health ?? '',
    vgFreeBytes: s.volume_group?.free_bytes ?? 0,
    utilization: s.io_load?.utilization ?? 0,
    averageLatencyMs: s.io_load?.average_latency_ms ?? 0,
    volumeCount: s.volume_count,
    snapshotCount: s.snapshot_count,
  };
}

/**
 * `nodes`: every storage agent's status, asked in parallel over mutual TLS. An agent that does not
 * answer gets a row saying why; the exit status is then that of its error (75 when unreachable),
 * so a script notices, but the other rows are still printed.
 */
export async function nodes(cmd: Extract<CliCommand, { name: 'nodes' }>, ctx: CommandContext, connect: (address: string) => AgentStatusSource): Promise<number> {
  const results = await ctx.step(`asking ${cmd.agents.length} storage agent${cmd.agents.length === 1 ? '' : 's'}`, () =>
    Promise.all(
      cmd.agents.map(async (address): Promise<{ row: NodeRow; exit: number; volumes?: AgentVolume[] }> => {
        const agent = connect(address);
        try {
          const row = nodeRow(address, await agent.getNodeStatus());
          // The copies column only: a list that fails leaves it '?', not the row.
          const volumes = await agent.listVolumes().catch(() => undefined);
          return { row, exit: 0, ...(volumes ? { volumes } : {}) };
        } catch (err: unknown) {
          const code = grpcCodeOf(err);
          const message = code === undefined ? (err as Error).message : (err as { details: string }).details;
          return { row: { address, error: message, code: code === undefined ? 'ERROR' : grpcCodeName(code) }, exit: code === undefined ? 1 : exitCodeForGrpcCode(code) };
        } finally {
          agent.close();
        }
      }),
    ),
  );
  // Out of sync is judged against the newest record among all nodes' copies.
  const counts = copiesPerNode(results.flatMap((r) => (r.volumes && !('error' in r.row) ? [{ node: r.row.name, volumes: r.volumes }] : [])));
  const rows = results.map((r): NodeRow => {
    const c = 'error' in r.row ? undefined : counts.get(r.row.name);
    return c ? { ...r.row, mirrorCopies: c } : r.row;
  });
  if (ctx.globals.json) ctx.printJson(rows);
  else {
    ctx.print(
      formatTable(
        [
          { header: 'NAME' }, { header: 'ADDRESS' }, { header: 'READY' }, { header: 'POOL', align: 'right' }, { header: 'ALLOCATABLE', align: 'right' },
          { header: 'DATA%', align: 'right' }, { header: 'META%', align: 'right' }, { header: 'HEALTH' }, { header: 'VG FREE', align: 'right' },
          { header: 'UTIL', align: 'right' }, { header: 'LATENCY', align: 'right' }, { header: 'VOLUMES', align: 'right' }, { header: 'COPIES', align: 'right' },
        ],
        rows.map((r) =>
          'error' in r
            ? ['?', r.address, 'no', '', '', '', '', `${r.code}: ${r.error}`, '', '', '', '', '']
            : [
                r.name, r.address, r.ready ? 'yes' : 'no', formatSize(r.poolSizeBytes), formatSize(r.allocatableBytes),
                r.dataPercent.toFixed(1), r.metadataPercent.toFixed(1), r.poolHealth, formatSize(r.vgFreeBytes),
                `${Math.round(r.utilization * 100)}%`, `${r.averageLatencyMs.toFixed(1)} ms`, String(r.volumeCount), formatNodeCopies(r.mirrorCopies),
              ],
        ),
      ),
    );
  }
  return results.find((r) => r.exit !== 0)?.exit ?? 0;
}
