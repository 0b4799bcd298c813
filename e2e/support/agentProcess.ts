import type { ScenarioContext } from '../scenarios/Scenario.ts';
import { startDriverProcess } from './driverProcess.ts';
import type { DriverProcess } from './driverProcess.ts';

export type AgentProcess = DriverProcess;

/** Starts `node src/main.ts agent <args>` as its own process, as a DaemonSet pod would run it. */
export function startAgentProcess(opts: {
  readonly ctx: ScenarioContext;
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}): AgentProcess {
  return startDriverProcess({ ...opts, role: 'agent' });
}
