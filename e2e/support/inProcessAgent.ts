import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { AgentVolumes } from '../../src/agent/AgentVolumes.ts';
import { BlkdiscardZeroer } from '../../src/agent/zeroing/BlkdiscardZeroer.ts';
import { ExecaRunner } from '../../src/exec/index.ts';
import { Iscsiadm } from '../../src/iscsi/index.ts';
import { FsConfigFs, LioTarget } from '../../src/lio/index.ts';
import { Lvm } from '../../src/lvm/index.ts';
import type { ScenarioContext } from '../scenarios/Scenario.ts';
import { recordSecret } from './secretLedger.ts';

/**
 * The storage agent's domain class in this process over the guest's real lvm, configfs and
 * open-iscsi (the initiator side of the same host), its log in the scenario's, and a fresh CHAP
 * key recorded for the secrets scan.
 */
export function inProcessAgent(
  ctx: ScenarioContext,
  opts: { readonly vg: string; readonly pool?: string; readonly portal: { readonly ip: string; readonly port: number }; readonly iqnPrefix: string; readonly unexportDeadlineMs?: number },
) {
  const log = pino({ level: 'info', base: null, timestamp: false }, { write: (line: string) => ctx.log(`agent ${line.trim()}`) });
  const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
  const sh = (file: string, args: readonly string[], timeoutMs = 60_000) => runner.run({ file, args, timeoutMs }, ctx.signal);
  const lvm = new Lvm({ runner, vgName: opts.vg, thinPoolName: opts.pool ?? 'pool' });
  const lio = new LioTarget({ configFs: new FsConfigFs() });
  const iscsiadm = new Iscsiadm({ runner, timeoutsMs: { login: 60_000 } });
  const chapKey = recordSecret('chap-key', `in-process agent key (${opts.vg})`, randomBytes(32));
  const agent = new AgentVolumes({
    lvm, lio, chapKey, portal: opts.portal, iqnPrefix: opts.iqnPrefix, overprovisionRatio: 4, zeroer: new BlkdiscardZeroer({ runner }), log,
    ...(opts.unexportDeadlineMs !== undefined ? { unexportDeadlineMs: opts.unexportDeadlineMs } : {}),
  });
  return { runner, sh, lvm, lio, iscsiadm, agent };
}
