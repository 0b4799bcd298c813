import { UnavailableError } from '../errors.ts';
import { connectAgentWire } from '../agentApi/client.ts';
import { volumeFromWire } from '../agentApi/wire.ts';
import { connectCsi } from '../grpc/csiServiceClients.ts';
import type { CsiApi } from '../grpc/csiServiceClients.ts';
import { clientCredentials, loadTlsFiles } from '../tls/index.ts';
import { attach, detach } from './commands/attach.ts';
import type { AgentStatusSource } from './commands/nodes.ts';
import { nodes } from './commands/nodes.ts';
import { nodesRemove, nodesRemoved, nodesRestore } from './commands/removedNodes.ts';
import { preflight } from './commands/preflight.ts';
import type { PreflightCommand } from './commands/preflight.ts';
import { gatherHostFacts } from './preflight/gatherHostFacts.ts';
import type { PreflightFacts } from './preflight/facts.ts';
import { snapshotCreate, snapshotDelete, snapshotList } from './commands/snapshot.ts';
import { volumeCreate, volumeDelete, volumeDescribe, volumeExpand, volumeList } from './commands/volume.ts';
import type { CommandContext, TextSink } from './CommandContext.ts';
import { CliError } from './CommandContext.ts';
import { EXIT, exitCodeForGrpcCode, grpcCodeName, grpcCodeOf } from './exitCodes.ts';
import { parseCliArgs } from './parseCliArgs.ts';
import type { CliCommand, CliGlobals } from './parseCliArgs.ts';

export interface CliDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: TextSink;
  readonly err: TextSink;
  /** Defaults to connectCsi; tests may wrap it. */
  readonly connectCsi?: (address: string, deadlineMs: number) => CsiApi;
  /** Defaults to connectAgent over mutual TLS from the --tls-* files. */
  readonly connectAgent?: (address: string) => AgentStatusSource;
  /** Defaults to reading this host (src/cli/preflight/gatherHostFacts.ts); tests give facts. */
  readonly gatherPreflightFacts?: (cmd: PreflightCommand) => Promise<PreflightFacts>;
  /** Milliseconds, for the progress timings. */
  readonly now?: () => number;
}

/**
 * The operator CLI: `vbs-csi volume|snapshot|attach|detach|nodes ...` (argv from the command word
 * on). Returns the exit status (src/cli/exitCodes.ts): nothing is sent on a usage error (2); a
 * gRPC error prints its code and message and maps to its status.
 */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const parsed = parseCliArgs(argv, deps.env);
  if (parsed.kind === 'help') {
    deps.out.write(`${parsed.text}\n`);
    return EXIT.ok;
  }
  if (parsed.kind === 'usage-error') {
    deps.err.write(`vbs-csi: ${parsed.errors.join('\n  ')}\n\n${parsed.usage}\n`);
    return EXIT.usage;
  }
  const { globals, command } = parsed;
  let csi: CsiApi | undefined;
  const ctx = makeContext(globals, deps, () => (csi ??= (deps.connectCsi ?? connectCsi)(globals.address, globals.timeoutMs)));
  try {
    return await dispatch(command, ctx, deps);
  } catch (err: unknown) {
    const code = grpcCodeOf(err);
    if (code !== undefined) {
      const details = (err as { details: string }).details;
      deps.err.write(`vbs-csi ${command.name}: ${grpcCodeName(code)}: ${details}${hint(code, globals)}\n`);
      return exitCodeForGrpcCode(code);
    }
    deps.err.write(`vbs-csi ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    // The removed-nodes record could not be read or written (API server, permissions): try again.
    return err instanceof CliError ? err.exitCode : err instanceof UnavailableError ? EXIT.retry : EXIT.failed;
  } finally {
    csi?.close();
  }
}

function hint(code: number, globals: CliGlobals): string {
  if (code === 14) return ` (is the driver serving ${globals.address}? --endpoint or CSI_ENDPOINT)`;
  if (code === 10) return ' (another call on this object is in flight; try again)';
  return '';
}

async function dispatch(command: CliCommand, ctx: CommandContext, deps: CliDeps): Promise<number> {
  switch (command.name) {
    case 'volume create':
      return volumeCreate(command, ctx);
    case 'volume list':
      return volumeList(command, ctx);
    case 'volume describe':
      return volumeDescribe(command, ctx);
    case 'volume expand':
      return volumeExpand(command, ctx);
    case 'volume delete':
      return volumeDelete(command, ctx);
    case 'snapshot create':
      return snapshotCreate(command, ctx);
    case 'snapshot list':
      return snapshotList(command, ctx);
    case 'snapshot delete':
      return snapshotDelete(command, ctx);
    case 'attach':
      return attach(command, ctx);
    case 'detach':
      return detach(command, ctx);
    case 'nodes remove':
      return nodesRemove(command, ctx, deps.env);
    case 'nodes restore':
      return nodesRestore(command, ctx, deps.env);
    case 'nodes removed':
      return nodesRemoved(command, ctx, deps.env);
    case 'preflight':
      return preflight(command, ctx, deps.gatherPreflightFacts ?? ((cmd) => gatherHostFacts(cmd, deps.env)));
    case 'nodes': {
      if (deps.connectAgent) return nodes(command, ctx, deps.connectAgent);
      const material = await loadTlsFiles(command.tls);
      const creds = clientCredentials(material, command.agentServerName === undefined ? {} : { expectedServerName: command.agentServerName });
      return nodes(command, ctx, (address) => {
        const api = connectAgentWire(address, creds, ctx.globals.timeoutMs);
        return { getNodeStatus: () => api.getNodeStatus(), listVolumes: async () => (await api.listVolumes()).volumes.map((v) => volumeFromWire(v)), close: () => api.close() };
      });
    }
  }
}

function makeContext(globals: CliGlobals, deps: CliDeps, csi: () => CsiApi): CommandContext {
  const now = deps.now ?? (() => performance.now());
  return {
    globals,
    csi,
    print: (text) => deps.out.write(`${text}\n`),
    printJson: (value) => deps.out.write(`${JSON.stringify(value, null, 2)}\n`),
    note: (text) => deps.err.write(`${text}\n`),
    step: async (label, run) => {
      deps.err.write(`${label} ...\n`);
      const start = now();
      const result = await run();
      deps.err.write(`${label}: done in ${((now() - start) / 1000).toFixed(1)} s\n`);
      return result;
    },
  };
}
