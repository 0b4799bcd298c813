/**
 * How the host-state tools (lvm, dmsetup, iscsiadm, udevadm) run: `none` runs them as they are
 * found in this process's filesystem (a bare process on the host, the test bed, all-in-one);
 * `nsenter` runs the HOST's binaries in the host's mount, UTS, IPC and network namespaces, as a
 * containerised agent or node plugin must (docs/containers.md says why).
 */
export const HOST_EXEC_MODES = ['none', 'nsenter'] as const;
export type HostExecMode = (typeof HOST_EXEC_MODES)[number];

/** Shared by the agent and the node options: both roles run host-state tools. */
export const HOST_EXEC_OPTION = {
  'host-exec': { env: 'VBS_HOST_EXEC', fallback: 'none' },
} as const;

/**
 * `nsenter --target=1` enters the namespaces of PID 1, which is the host's init only when the pod
 * has hostPID (checked at start, src/exec/hostNamespaces.ts). No --pid: the pod already shares the
 * host's PID namespace, and without --pid (or --user) nsenter execs the tool in place instead of
 * forking, so a timed-out or cancelled call kills the tool itself, not only nsenter.
 */
export const NSENTER_HOST_PREFIX: readonly string[] = Object.freeze(['nsenter', '--target=1', '--mount', '--uts', '--ipc', '--net', '--']);

/** The argv prefix for the host-state tools in `mode` (empty for none). */
export function hostExecPrefix(mode: HostExecMode): readonly string[] {
  return mode === 'nsenter' ? NSENTER_HOST_PREFIX : [];
}

/** Validates --host-exec (pure); a problem is appended to `errors`. */
export function parseHostExec(text: string | undefined, errors: string[]): HostExecMode {
  const mode = HOST_EXEC_MODES.find((m) => m === (text ?? 'none'));
  if (mode === undefined) {
    errors.push(`--host-exec ${JSON.stringify(text)}: expected one of ${HOST_EXEC_MODES.join(', ')} (nsenter in a container with hostPID: the host's lvm, dmsetup, iscsiadm and udevadm; docs/containers.md)`);
    return 'none';
  }
  return mode;
}
