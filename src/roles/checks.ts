import { access, readFile } from 'node:fs/promises';
import type { ReadinessCheck } from '../csi/readiness.ts';

/** Ready when a kernel module is loaded (built-in modules also appear under /sys/module). */
export function kernelModuleCheck(module: string, sysRoot = '/sys'): ReadinessCheck {
  return {
    name: `kernel module ${module}`,
    check: async () => ((await exists(`${sysRoot}/module/${module}`)) ? undefined : `not loaded (modprobe ${module} on the host)`),
  };
}

/**
 * Ready when configfs is mounted with the LIO core in it. target/iscsi itself only appears once
 * something mkdirs it (seen on Debian's 6.1), so the fabric is checked through its module instead.
 */
export function lioConfigfsCheck(targetRoot = '/sys/kernel/config/target', sysRoot = '/sys'): ReadinessCheck {
  return {
    name: 'LIO configfs',
    check: async () => {
      if (!(await exists(targetRoot))) return `${targetRoot} is missing: mount configfs and load target_core_mod`;
      if (!(await exists(`${sysRoot}/module/iscsi_target_mod`))) return 'iscsi_target_mod is not loaded';
      return undefined;
    },
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
