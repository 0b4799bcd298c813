import { pino } from 'pino';
import { ExecaRunner } from '../../exec/index.ts';
import { findKubeConfig, loadKubeClient } from '../../kube/kubeClient.ts';
import { listCsiNodeIds } from '../../kube/listCsiNodeIds.ts';
import type { PreflightCommand } from '../commands/preflight.ts';
import { gatherPreflightFacts } from './facts.ts';
import type { PreflightFacts } from './facts.ts';
import { hostFilesUnder } from './hostFiles.ts';

/**
 * nsenter into PID 1's namespaces, as TopoLVM's lvmd runs the host's lvm (docs/field-notes.md
 * 3.1): the host's binary with the host's /etc/lvm, from a pod with hostPID.
 */
const HOST_EXEC_PREFIX = ['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--'];

/** The real sources: the host's files under --host-root, lvm through execa, CSINodes through the kubeconfig. */
export function gatherHostFacts(cmd: PreflightCommand, env: Readonly<Record<string, string | undefined>>): Promise<PreflightFacts> {
  const runner = new ExecaRunner({ log: pino({ level: 'silent' }), ...(cmd.hostExec ? { prefix: HOST_EXEC_PREFIX } : {}) });
  const listRegistrations = cmd.cluster
    ? async () => {
        const source = findKubeConfig({ env, allowHomeConfig: true });
        if (source === undefined) throw new Error('no Kubernetes configuration: in a pod, its service account; elsewhere KUBECONFIG or ~/.kube/config');
        return listCsiNodeIds(await loadKubeClient(source), cmd.driverName);
      }
    : undefined;
  return gatherPreflightFacts({ files: hostFilesUnder(cmd.hostRoot), runner, ...(listRegistrations ? { listRegistrations } : {}) });
}
