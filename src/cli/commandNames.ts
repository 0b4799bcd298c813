/** The first words that make `vbs-csi` the operator CLI rather than a driver role (src/main.ts routes on them). */
export const CLI_COMMANDS = ['volume', 'snapshot', 'attach', 'detach', 'nodes', 'preflight'] as const;
