import { pino } from 'pino';
import { hostExecPrefix } from '../../config/hostExec.ts';
import { createCommandRunner } from '../../exec/HostToolsRunner.ts';
import { findKubeConfig, loadKubeClient } from '../../kube/kubeClient.ts';
import { listCsiNodeIds } from '../../kube/listCsiNodeIds.ts';
import type { PreflightCommand } from '../commands/preflight.ts';
import { gatherPreflightFacts } from './facts.ts';
import type { PreflightFacts } from './facts.ts';
import { hostFilesUnder } from './hostFiles.ts';

/** The real sources: the host's files under --host-root, lvm through execa, CSINodes through the kubeconfig. */
export function gatherHostFacts(cmd: PreflightCommand, env: Readonly<Record<string, string | undefined>>): Promise<PreflightFacts> {
  // --host-exec: the host's lvm (and its /etc/lvm) through nsenter, exactly as the containerised roles run it (docs/containers.md).
  const runner = createCommandRunner({ log: pino({ level: 'silent' }), hostPrefix: hostExecPrefix(cmd.hostExec ? 'nsenter' : 'none') });
  const listRegistrations = cmd.cluster
    ? async () => {
        const source = findKubeConfig({ env, allowHomeConfig: true });
        if (source === undefined) throw new Error('no Kubernetes configuration: in a pod, its service account; elsewhere KUBECONFIG or ~/.kube/config');
        return listCsiNodeIds(await loadKubeClient(source), cmd.driverName);
      }
    : undefined;
  return gatherPreflightFacts({ files: hostFilesUnder(cmd.hostRoot), runner, ...(listRegistrations ? { listRegistrations } : {}) });
}
