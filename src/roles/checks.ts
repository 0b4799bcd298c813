import { access, readFile } from 'node:fs/promises';
import type { ReadinessCheck } from '../csi/readiness.ts';

/** Ready when a kernel module is loaded (built-in modules also appear under /sys/module). */
export function kernelModuleCheck(module: string, sysRoot = '/sys'): ReadinessCheck {
  return {
    name: `kernel module ${module}`,
    check: async () => ((await exists(`${sysRoot}/module/${module}`)) ? undefined : `not loaded (modprobe ${module} on the host)`),
  };
}

/** Ready when configfs is mounted and the LIO core has registered its directory in it. */
export function lioConfigfsCheck(targetRoot = '/sys/kernel/config/target'): ReadinessCheck {
  return {
    name: 'LIO configfs',
    check: async () =>
      (await exists(`${targetRoot}/iscsi`)) ? undefined : `${targetRoot}/iscsi is missing: mount configfs and load iscsi_target_mod`,
  };
}

/** Ready when the host has an initiator name; without it no ACL can name this node. */
export function initiatorNameCheck(path = '/etc/iscsi/initiatorname.iscsi'): ReadinessCheck {
  return {
    name: 'iSCSI initiator name',
    check: async () => {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) return `${path} is missing (install open-iscsi on the host)`;
      return /^InitiatorName=iqn\.\S+$/m.test(text) ? undefined : `${path} has no InitiatorName=iqn.… line`;
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
