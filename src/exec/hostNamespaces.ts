import { readlink } from 'node:fs/promises';

/**
 * Before any tool runs through `nsenter --target=1`: PID 1 must be the host's init, in another
 * mount namespace than ours. In a pod without hostPID, PID 1 is the container's own tini, nsenter
 * would quietly "enter" the namespaces we are already in, and the container's lvm and iscsiadm
 * would run after all: the start fails instead, saying what is missing.
 */
export async function checkHostNamespaces(read: (path: string) => Promise<string> = (p) => readlink(p)): Promise<void> {
  let init: string;
  let self: string;
  try {
    [init, self] = await Promise.all([read('/proc/1/ns/mnt'), read('/proc/self/ns/mnt')]);
  } catch (err: unknown) {
    throw new Error(`--host-exec=nsenter: cannot read the mount namespace of PID 1 (${(err as Error).message}); the container must be privileged with hostPID: true`);
  }
  if (init === self) {
    throw new Error(`--host-exec=nsenter: PID 1 is in this container's own mount namespace (${self}), so it is not the host's init: run the pod with hostPID: true, or use --host-exec=none outside a container`);
  }
}
