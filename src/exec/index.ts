export type { Command, CommandResult, CommandRunner } from './CommandRunner.ts';
export { CommandFailedError } from './CommandFailedError.ts';
export { ExecaRunner } from './ExecaRunner.ts';
export { redactArgs, redactText } from './redactArgs.ts';
export { HOST_STATE_TOOLS, HostToolsRunner, createCommandRunner } from './HostToolsRunner.ts';
export { checkHostNamespaces } from './hostNamespaces.ts';
