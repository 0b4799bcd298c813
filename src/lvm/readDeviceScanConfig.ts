import type { CommandRunner } from '../exec/index.ts';
import { parseDeviceScanConfig } from './deviceScanConfig.ts';
import type { DeviceScanConfig } from './deviceScanConfig.ts';

/**
 * The host lvm's effective `devices` settings, defaults included (`lvmconfig --typeconfig full`),
 * so a filter set in lvmlocal.conf or a distribution default counts as lvm sees it.
 */
export async function readDeviceScanConfig(runner: CommandRunner, opts: { readonly lvmPath?: string; readonly signal?: AbortSignal } = {}): Promise<DeviceScanConfig> {
  const result = await runner.run({ file: opts.lvmPath ?? 'lvm', args: ['lvmconfig', '--typeconfig', 'full', 'devices'], timeoutMs: 30_000 }, opts.signal);
  return parseDeviceScanConfig(result.stdout);
}
