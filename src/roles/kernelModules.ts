import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CommandRunner } from '../exec/index.ts';

/** What each role needs from the kernel (docs/node-plugin.md, charts/vbs-csi/README.md "Before installing"). */
export const NODE_MODULES: readonly string[] = ['iscsi_tcp'];
export const AGENT_MODULES: readonly string[] = ['dm_thin_pool', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod'];

/** modprobe takes a module name, never an option or a path. */
const MODULE_NAME = /^[a-z0-9_]{1,64}$/;

export interface ModuleLoadResult {
  readonly loaded: readonly string[];
  readonly alreadyLoaded: readonly string[];
  /** module → why it could not be loaded. */
  readonly failed: ReadonlyMap<string, string>;
}

/**
 * Loads the modules a role needs and that are not loaded yet (`modprobe <name>` through the
 * CommandRunner). A failure is logged, never thrown: the role starts anyway, Probe stays not ready
 * (src/roles/checks.ts) and the pod's readiness says so, while liveness keeps the process running,
 * so a host that lacks a module does not make the pod crash-loop.
 */
export async function loadKernelModules(
  modules: readonly string[],
  deps: { readonly runner: CommandRunner; readonly log: Logger; readonly sysRoot?: string; readonly timeoutMs?: number },
): Promise<ModuleLoadResult> {
  const sysRoot = deps.sysRoot ?? '/sys';
  const loaded: string[] = [];
  const alreadyLoaded: string[] = [];
  const failed = new Map<string, string>();
  for (const module of modules) {
    if (!MODULE_NAME.test(module)) throw new Error(`kernel module name ${JSON.stringify(module)} is not valid`);
    // Built-in modules appear under /sys/module too: nothing to load.
    if (await exists(`${sysRoot}/module/${module}`)) {
      alreadyLoaded.push(module);
      continue;
    }
    try {
      await deps.runner.run({ file: 'modprobe', args: [module], timeoutMs: deps.timeoutMs ?? 30_000 });
      loaded.push(module);
      deps.log.info({ module }, 'loaded kernel module');
    } catch (err: unknown) {
      const why = err instanceof Error ? err.message : String(err);
      failed.set(module, why);
      deps.log.warn(
        { module, err: why },
        `could not load kernel module ${module}: this role stays not ready until it is loaded on the host (modprobe ${module}; list it in /etc/modules-load.d/ to survive reboots)`,
      );
    }
  }
  return { loaded, alreadyLoaded, failed };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
