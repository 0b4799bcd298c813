/**
 * The operator CLI (issue 6): `vbs-csi volume|snapshot|attach|detach|nodes`, a client of the CSI
 * socket and the storage agents' API. src/main.ts routes CLI_COMMANDS here. See docs/cli.md.
 */
export { runCli } from './runCli.ts';
export type { CliDeps } from './runCli.ts';
export { CLI_COMMANDS, cliUsageText } from './parseCliArgs.ts';
export { parseSize, formatSize } from './parseSize.ts';
