export type { Command, CommandResult, CommandRunner } from './CommandRunner.ts';
export { CommandFailedError } from './CommandFailedError.ts';
export { ExecaRunner } from './ExecaRunner.ts';
export { redactArgs, redactText } from './redactArgs.ts';
