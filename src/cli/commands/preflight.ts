import { hostname } from 'node:os';
import type { CommandContext } from '../CommandContext.ts';
import { EXIT } from '../exitCodes.ts';
import { formatTable } from '../formatTable.ts';
import type { CliCommand } from '../parseCliArgs.ts';
import { preflightChecks } from '../preflight/checks.ts';
import type { CheckResult } from '../preflight/checks.ts';
import type { PreflightFacts } from '../preflight/facts.ts';

export type PreflightCommand = Extract<CliCommand, { name: 'preflight' }>;

/**
 * `preflight`: checks this host for what the node plugin (and with --role agent, the storage
 * agent) needs, prints every finding with what to do, and exits 0 when nothing failed (warnings
 * included), 7 when a check failed (the host is not in a state the driver can work in) and 1 when
 * a check could not be made. It changes nothing on the host.
 */
export async function preflight(cmd: PreflightCommand, ctx: CommandContext, gather: (cmd: PreflightCommand) => Promise<PreflightFacts>): Promise<number> {
  const facts = await ctx.step('gathering facts', () => gather(cmd));
  const nodeName = cmd.nodeName ?? hostname();
  const results = preflightChecks(facts, { roles: new Set(cmd.roles), nodeName, driverName: cmd.driverName });
  const exitCode = preflightExitCode(results);
  if (ctx.globals.json) ctx.printJson({ node: nodeName, roles: cmd.roles, ok: exitCode === EXIT.ok, checks: results });
  else {
    ctx.print(formatTable([{ header: 'CHECK' }, { header: 'STATUS' }, { header: 'DETAIL' }], results.map((r) => [r.check, r.status.toUpperCase(), r.detail])));
    const todo = results.filter((x) => x.fix !== undefined && x.status !== 'ok');
    if (todo.length > 0) ctx.print(['', 'What to do:', ...todo.map((r) => `  ${r.check}: ${r.fix}`)].join('\n'));
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  const unknown = results.filter((r) => r.status === 'unknown').length;
  ctx.note(failed > 0 ? `${failed} check(s) failed on ${nodeName}` : unknown > 0 ? `${unknown} check(s) could not be made on ${nodeName}` : `${nodeName} is ready for vbs-csi (${cmd.roles.join(', ')})`);
  return exitCode;
}

export function preflightExitCode(results: readonly CheckResult[]): number {
  if (results.some((r) => r.status === 'fail')) return EXIT.failedPrecondition;
  if (results.some((r) => r.status === 'unknown')) return EXIT.failed;
  return EXIT.ok;
}
