#!/usr/bin/env node
/**
 * vbs-csi: one program, several roles (controller, node, agent, all-in-one), and `vbs-csi certs`
 * to make the development CA and mTLS certificates; `vbs-csi volume|snapshot|attach|detach|nodes|preflight`
 * is the operator CLI (src/cli, docs/cli.md).
 * Flags and environment become a validated config; all problems are printed before anything starts.
 * Each branch imports only what it runs: an operator's CLI command need not load the agent, the
 * node plugin and the controller (under emulation a start that loads everything takes 20 s or more).
 */
import pkg from '../package.json' with { type: 'json' };
import { CLI_COMMANDS } from './cli/commandNames.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'certs') {
  const { runCertsCommand } = await import('./tls/index.ts');
  process.exitCode = await runCertsCommand(argv.slice(1));
} else if ((CLI_COMMANDS as readonly string[]).includes(argv[0] ?? '')) {
  const { runCli } = await import('./cli/index.ts');
  process.exitCode = await runCli(argv, { env: process.env, out: process.stdout, err: process.stderr });
} else if (argv.includes('--version') || argv[0] === 'version') {
  console.log(pkg.version);
} else {
  const { parseConfig, usageText } = await import('./config/parseConfig.ts');
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    console.log(usageText());
  } else {
    const parsed = parseConfig(argv, process.env);
    if (!parsed.ok) {
      console.error(`vbs-csi: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}\n\n${usageText()}`);
      process.exitCode = 2;
    } else {
      const { config } = parsed;
      const { createLogger } = await import('./log/createLogger.ts');
      const { runDriver } = await import('./roles/runDriver.ts');
      const log = createLogger({ level: config.logLevel }).child({ role: config.role, driver: config.driverName });
      log.info({ version: pkg.version, endpoint: config.endpoint, nodeId: config.nodeId }, 'starting');
      try {
        await runDriver(config, log, pkg.version);
      } catch (err: unknown) {
        log.fatal({ err }, 'failed to start');
        process.exitCode = 1;
      }
    }
  }
}
